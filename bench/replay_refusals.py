"""Replay the refusal decision of every question of an evaluation set with the current code,
without generating: fast enough to compare rules and thresholds before a full evaluation.

    .venv/bin/python bench/replay_refusals.py --handbook 18f [--out signals.json]
        [--check-from 0.2] [--check-to 1.01] [--report REPORT.json] [--language zh]

Uses the handbook imported by ``bench/evaluate.py`` (``data/eval/<handbook>/``) and, for a
Chinese question, the search query its last evaluation stored (the model's translation), so
no translation is generated again. For each question it records the topical relevance, the
evidence answerability, where the question has a word no chunk of the knowledge base uses
(``Grounding.missing_words``) whether the model says it mentions it in other words, and, where
the answerability lies in [check-from, check-to), how likely the answer check's "yes" is
(``KB_CHECK_MODEL``, the same prompt and evidence as ``answer()``; cached in
``data/eval/<handbook>/answer-checks.json`` by question and evidence). Then it prints
precision and recall of refusals for a grid of KB_MIN_ANSWERABILITY, KB_CHECK_BELOW and
KB_CHECK_MIN_YES, the rule ``answer()`` applies:

    refused = not on topic, or answerability < KB_MIN_ANSWERABILITY,
              or the question has a word no chunk of the knowledge base uses and the model
                 says the evidence does not mention it in other words either,
              or it asks for a value and the page of the sentence that would give it never
                 names a rare name the question and the sources use (``named_elsewhere``),
              or ((answerability < KB_CHECK_BELOW or the question was translated or its setup
                   uses what no chunk uses)
                 and (it asks for a count, amount or duration that the check's evidence never
                      states (``Grounding.states_no_value_asked``; no model asked)
                   or the evidence does not say no to a yes/no question (``Grounding.says_no``)
                      and the check's "yes" is less likely than
                      KB_CHECK_MIN_YES, or than KB_CHECK_MIN_YES_WEAK below KB_WEAK_ANSWERABILITY,
                      or, for a question asking for a value, less likely than
                      KB_CHECK_CONFIRM_BELOW and the model's copy of the answer holds no value the evidence states))

A Chinese question no evaluation has asked yet is translated by the chat model as ``answer()``
would (cached in the same file). Questions are grouped by their ``added`` field (e.g. the
held-out questions of a later session) and a table is printed for each group and for all.

``--report`` adds the key-fact result of each question from an evaluation report, so the
table can say how many answerable questions with the fact in their evidence stay answered.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _common import ROOT, open_import, read_jsonl  # noqa: E402

SETS = {"18f": "handbook-18f.jsonl", "sourcegraph": "handbook-sourcegraph.jsonl"}
GRID_MIN = (0.3, 0.4)  # below KB_WEAK_ANSWERABILITY only a "yes" KB_CHECK_MIN_YES_WEAK likely answers
GRID_BELOW = (0.66, 0.75, 1.01)
GRID_YES = (0.5, 0.6, 0.65, 0.7)


def stored_search(question: str) -> tuple[str, str, bool]:
    """``(query, how, asked)``: what the last evaluation that asked ``question`` searched for
    (for a Chinese question, the model's English translation; "translated"), else the question
    itself ("as asked"); ``asked`` says whether an evaluation has answered it at all."""
    from kbassist.chat.models import Message

    asked = Message.objects.filter(role="user", content=question).order_by("-id").first()
    reply = asked and Message.objects.filter(conversation=asked.conversation, role="assistant", id__gt=asked.id).order_by("id").first()
    if reply and reply.search_query and reply.search_query != question:
        return reply.search_query, "translated", True
    return question, "as asked", reply is not None


def replay(handbook: str, check_from: float, check_to: float, sources_out: str | None = None, language: str | None = None,
           skip_added: tuple[str, ...] = ()) -> list[dict]:
    data = open_import(ROOT / "data" / "eval" / handbook, f"run bench/evaluate.py --handbook {handbook} first")
    from django.conf import settings
    from django.contrib.auth.models import User

    from kbassist.chat import policy
    from kbassist.chat.answer_check import answer_probability, copied_answer, evidence_mentions
    from kbassist.chat.answering import VALUE_KINDS, found_hits
    from kbassist.chat.turn import Found
    from kbassist.chat.rewrite import to_english
    from kbassist.llm import get_backend, get_checker
    from kbassist.text import is_chinese

    user = User.objects.get(username="eval")
    cache_file = data / "answer-checks.json"
    cache = json.loads(cache_file.read_text()) if cache_file.exists() else {}
    rows, dumped = [], []
    for q in read_jsonl(ROOT / "bench" / "eval" / SETS[handbook]):
        if (language and q.get("language", "en") != language) or q.get("added") in skip_added:
            continue
        query, how, asked = stored_search(q["question"])
        if not asked and is_chinese(q["question"]) and settings.KB_TRANSLATE_QUERIES:
            # a question no evaluation has asked yet: translate it as answer() would (cached)
            key = "translation:" + hashlib.sha256(json.dumps([settings.KB_LLM_MODEL, q["question"]]).encode()).hexdigest()
            if key not in cache:
                cache[key] = to_english(q["question"], get_backend())
                cache_file.write_text(json.dumps(cache))
            if cache[key]:
                query, how = cache[key], "translated"
        hits = found_hits(query, how, q["question"], user)
        found = Found(query, how, hits, q["question"])
        relevance = policy.judge_relevance(query, hits)
        row = {"id": q["id"], "answerable": q["answerable"], "category": q.get("category"), "added": q.get("added", "original"), "question": q["question"],
               "query": query, "translated": how == "translated", "relevant": relevance.relevant, "dense": round(relevance.dense, 4),
               "coverage": round(relevance.coverage, 4), "answerability": None, "p_yes": None}
        if relevance.relevant:
            grounding = found.grounding
            row["answerability"] = grounding.answerability.score
            row["wanted"] = grounding.answerability.wanted
            evidence = grounding.check_evidence()
            row["check_evidence"] = evidence
            row["missing"] = missing = grounding.missing_words
            row["circumstances"] = grounding.circumstances
            row["says_no"] = grounding.says_no
            row["named_elsewhere"] = grounding.named_elsewhere
            row["no_value"] = grounding.states_no_value_asked
            if evidence and missing:
                key = "mention:" + hashlib.sha256(json.dumps([settings.KB_CHECK_MODEL, missing[0], evidence]).encode()).hexdigest()
                if key not in cache:
                    cache[key] = evidence_mentions(missing[0], evidence, get_checker())
                    cache_file.write_text(json.dumps(cache))
                row["mentioned"] = cache[key]
            if evidence and check_from <= row["answerability"] < check_to:
                titled = grounding.titled_check_evidence()  # as answer() asks it
                key = "p:" + hashlib.sha256(json.dumps([settings.KB_CHECK_MODEL, q["question"], titled]).encode()).hexdigest()
                if key not in cache:
                    cache[key] = answer_probability(q["question"], titled, get_checker())
                    cache_file.write_text(json.dumps(cache))
                row["p_yes"] = cache[key]
                if row["p_yes"] is not None and row["p_yes"] < settings.KB_CHECK_CONFIRM_BELOW and row["wanted"] in VALUE_KINDS:
                    key = "copy:" + hashlib.sha256(json.dumps([settings.KB_CHECK_MODEL, q["question"], evidence]).encode()).hexdigest()
                    if key not in cache:
                        cache[key] = copied_answer(q["question"], evidence, get_checker())
                        cache_file.write_text(json.dumps(cache))
                    row["copied"] = cache[key]
        rows.append(row)
        if sources_out:
            dumped.append({"id": q["id"], "query": query, "how": how, "relevant": relevance.relevant, "sources": found.sources})
            Path(sources_out).write_text(json.dumps(dumped, ensure_ascii=False, default=str))
        print(f"{row['id']:>14} {'answerable' if row['answerable'] else 'UNANSWERABLE':>12} "
              f"answerability={row['answerability']} p_yes={row['p_yes']} "
              f"missing={row.get('missing')} mentioned={row.get('mentioned')}", flush=True)
    return rows


def refused(row: dict, minimum: float, below: float, min_yes: float, weak: float, min_yes_weak: float, confirm: float = 0.0) -> bool:
    """``answer()``'s rule: not on topic; answerability below ``minimum``; the evidence does not
    mention a word no chunk uses; the value comes from a page that never names the question's
    rare name (``Grounding.named_elsewhere``); or, below ``below``, the check's "yes" less likely than
    ``min_yes`` (``min_yes_weak`` below ``weak``; weak evidence unchecked is refused too)."""
    if not row["relevant"]:
        return True
    score, p_yes = row["answerability"], row["p_yes"]
    if score < minimum or row.get("mentioned") is False or row.get("named_elsewhere"):
        return True
    if score >= below and not row.get("translated") and not row.get("circumstances"):  # always checked: a translated question, circumstances no chunk uses
        return False
    if row.get("no_value"):  # a count, amount or duration asked, and the check's evidence states none
        return True
    if row.get("says_no"):  # the evidence says no to a yes/no question: answered without a check
        return False
    if p_yes is None:
        return score < weak
    if p_yes < (min_yes_weak if score < weak else min_yes):
        return True
    # a hesitant "yes" to a value question is confirmed by a copy of the answer holding a value
    from kbassist.chat.answer_check import copies_a_value

    return row.get("copied") is not None and p_yes < confirm and not copies_a_value(row["copied"], row["check_evidence"], row.get("wanted"))


def table(rows: list[dict], facts: dict[str, bool]) -> str:
    from django.conf import settings  # set up by replay()

    weak = settings.KB_WEAK_ANSWERABILITY, settings.KB_CHECK_MIN_YES_WEAK, settings.KB_CHECK_CONFIRM_BELOW
    unanswerable = [r for r in rows if not r["answerable"]]
    answerable = [r for r in rows if r["answerable"]]
    lines = ["| KB_MIN_ANSWERABILITY | KB_CHECK_BELOW | KB_CHECK_MIN_YES | unanswerable refused | refusals that were right | answerable wrongly refused | answerable with the fact, answered |",
             "|---:|---:|---:|---:|---:|---:|---:|"]
    for minimum in GRID_MIN:
        for below in GRID_BELOW:
            for min_yes in GRID_YES:
                refusals = [r for r in rows if refused(r, minimum, below, min_yes, *weak)]
                right = sum(not r["answerable"] for r in refusals)
                wrong = len(refusals) - right
                kept = sum(facts.get(r["id"], False) for r in answerable if not refused(r, minimum, below, min_yes, *weak))
                lines.append(f"| {minimum} | {below} | {min_yes} | {right}/{len(unanswerable)} | {right}/{len(refusals)} "
                             f"| {wrong}/{len(answerable)} | {kept}/{len(answerable) if facts else '?'} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--handbook", choices=list(SETS), required=True)
    parser.add_argument("--check-from", type=float, default=0.2)
    parser.add_argument("--check-to", type=float, default=1.01)
    parser.add_argument("--out", help="write the per-question signals here (JSON)")
    parser.add_argument("--sources-out", help="also write each question's retrieved sources here (JSON), to try rules offline")
    parser.add_argument("--report", help="an evaluation report of the same set, for its key-fact results")
    parser.add_argument("--language", choices=["en", "zh"], help="only the questions asked in this language")
    parser.add_argument("--skip-added", nargs="+", default=[], metavar="SESSION",
                        help="leave out the questions added in these sessions (a held-out set not yet measured)")
    args = parser.parse_args()
    rows = replay(args.handbook, args.check_from, args.check_to, args.sources_out, args.language, tuple(args.skip_added))
    if args.out:
        Path(args.out).write_text(json.dumps(rows, ensure_ascii=False, indent=1) + "\n")
    facts = {}
    if args.report:
        for q in json.loads(Path(args.report).read_text())["configurations"][0]["questions"]:
            facts[q["id"]] = bool(q["checks"].get("facts"))
    groups = sorted({r.get("added", "original") for r in rows})
    for group in groups if len(groups) > 1 else []:
        print(f"\nquestions added: {group}")
        print(table([r for r in rows if r.get("added", "original") == group], facts))
    print("\nall questions")
    print(table(rows, facts))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
