"""Choose the refusal thresholds from an evaluation report, never by guessing.

    .venv/bin/python bench/calibrate_refusals.py data/eval/reports/18f-....json [more.json]

Run ``bench/evaluate.py`` first with every refusal threshold at 0 and no generation
(``--set KB_GENERATE=false KB_MIN_ANSWERABILITY=0 KB_WEAK_ANSWERABILITY=0 KB_MIN_SIMILARITY=0 KB_MIN_COVERAGE=0``):
each question then records its topical relevance (best cosine, or lexical coverage for an
untranslated Chinese question) and its evidence answerability. This script replays the
refusal rule over a grid of thresholds and prints, for each, the share of unanswerable
questions refused (recall), the share of refusals that were right (precision), and the share
of answerable questions wrongly refused; then the setting that refuses the most
unanswerable questions while wrongly refusing at most ``--max-false`` of the answerable ones.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def load(paths: list[str]) -> list[dict]:
    rows = []
    for path in paths:
        report = json.loads(Path(path).read_text())
        for q in report["configurations"][0]["questions"]:
            relevance = q.get("timings", {}).get("relevance")
            if relevance is None or "answerability" not in q["timings"]:
                continue  # curated or errored: no refusal decision was taken
            rows.append({"answerable": q["answerable"], "by": relevance["by"], "dense": relevance["dense"],
                         "coverage": relevance["coverage"], "answerability": q["timings"]["answerability"],
                         "evidence_fact": bool(q["checks"].get("facts")), "id": q["id"]})
    return rows


def refused(row: dict, similarity: float, coverage: float, answerability: float) -> bool:
    on_topic = row["coverage"] >= coverage if row["by"] == "coverage" else row["dense"] >= similarity
    return not on_topic or row["answerability"] < answerability


def score(rows, similarity, coverage, answerability) -> dict:
    unanswerable = [r for r in rows if not r["answerable"]]
    answerable = [r for r in rows if r["answerable"]]
    refusals = [r for r in rows if refused(r, similarity, coverage, answerability)]
    right = sum(not r["answerable"] for r in refusals)
    kept = [r for r in answerable if not refused(r, similarity, coverage, answerability)]
    return {
        "recall": right / len(unanswerable) if unanswerable else 0.0,
        "precision": right / len(refusals) if refusals else 1.0,
        "false": (len(refusals) - right) / len(answerable) if answerable else 0.0,
        "facts_kept": sum(r["evidence_fact"] for r in kept) / len(answerable) if answerable else 0.0,
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("reports", nargs="+")
    parser.add_argument("--max-false", type=float, default=0.10, help="largest share of answerable questions refused")
    args = parser.parse_args()
    rows = load(args.reports)
    print(f"{len(rows)} questions ({sum(not r['answerable'] for r in rows)} unanswerable)")
    best = None
    print("| similarity | answerability | refusal recall | precision | answerable refused | answerable with fact in evidence |")
    print("|---:|---:|---:|---:|---:|---:|")
    for similarity in (0.2, 0.3, 0.35, 0.4, 0.45):
        for answerability in (0.0, 0.3, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75):
            s = score(rows, similarity, 0.3, answerability)
            if answerability in (0.0, 0.4, 0.5, 0.6, 0.7) and similarity in (0.3, 0.4):
                print(f"| {similarity} | {answerability} | {s['recall']:.2f} | {s['precision']:.2f} | {s['false']:.2f} | {s['facts_kept']:.2f} |")
            if s["false"] <= args.max_false and (best is None or (s["recall"], -s["false"]) > (best[2]["recall"], -best[2]["false"])):
                best = (similarity, answerability, s)
    if best:
        print(f"\nchosen (answerable refused <= {args.max_false:.0%}): similarity {best[0]}, answerability {best[1]}: {best[2]}")


if __name__ == "__main__":
    main()
