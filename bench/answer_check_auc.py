"""How well a chat model's yes/no answer check separates answerable from unanswerable questions.

    .venv/bin/python bench/answer_check_auc.py REPORT.json MODEL.gguf [--low 0.4] [--high 0.66]

REPORT is an evaluation report written by ``bench/evaluate.py`` with every refusal threshold
at 0 (``--set KB_GENERATE=false KB_MIN_ANSWERABILITY=0 KB_WEAK_ANSWERABILITY=0 KB_MIN_SIMILARITY=0 KB_MIN_COVERAGE=0``):
each question records its evidence answerability and the quoted evidence. For the questions
whose answerability lies in [low, high) this asks MODEL the answer check's own question
(``kbassist.chat.answer_check.answer_probability``, as ``answer()`` asks it) and reads the
probability of "yes" from the first token, then prints the AUC (how often an answerable question scores above an
unanswerable one) of that probability and of the answerability itself, and what refusing
below each probability would catch and lose. The figures are in the README ("The answer check").
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from kbassist.chat.answer_check import answer_probability  # noqa: E402  (no Django needed)


def auc(positives: list[float], negatives: list[float]) -> float:
    pairs = [(p > n) + 0.5 * (p == n) for p in positives for n in negatives]
    return sum(pairs) / len(pairs) if pairs else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("report")
    parser.add_argument("model")
    parser.add_argument("--low", type=float, default=0.4)
    parser.add_argument("--high", type=float, default=0.66)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    from kbassist.llm.llamacpp import LlamaCppBackend

    questions = [q for q in json.loads(Path(args.report).read_text())["configurations"][0]["questions"]
                 if args.low <= q["timings"].get("answerability", -1) < args.high and q.get("evidence_items")]
    backend = LlamaCppBackend(args.model, context_size=2048, threads=args.threads, seed=1)
    rows = []
    for q in questions:
        evidence = [item["text"] for item in q["evidence_items"][:3]]
        rows.append((q["answerable"], answer_probability(q["question"], evidence, backend), q["timings"]["answerability"]))
        print(f"{'answerable' if q['answerable'] else 'UNANSWERABLE':>12} p(yes)={rows[-1][1]:.3f} "
              f"answerability={rows[-1][2]:.3f} {q['question'][:70]}", flush=True)
    good = [r for r in rows if r[0]]
    bad = [r for r in rows if not r[0]]
    print(f"\n{len(good)} answerable, {len(bad)} unanswerable with answerability in [{args.low}, {args.high})")
    print(f"AUC of p(yes): {auc([r[1] for r in good], [r[1] for r in bad]):.3f}; "
          f"of answerability: {auc([r[2] for r in good], [r[2] for r in bad]):.3f}")
    for threshold in (0.3, 0.4, 0.5, 0.6, 0.7):
        print(f"refuse below p(yes) {threshold}: catches {sum(r[1] < threshold for r in bad)}/{len(bad)} unanswerable, "
              f"loses {sum(r[1] < threshold for r in good)}/{len(good)} answerable")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
