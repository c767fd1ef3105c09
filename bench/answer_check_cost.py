"""What reading each evidence sentence after its page and section costs the answer check.

    .venv/bin/python bench/answer_check_cost.py --handbook 18f|sourcegraph [--questions 24] [--rounds 3]

The answer check (``kbassist.chat.answer_check.answer_probability``) runs before the first
token of every answer whose evidence answerability lies under KB_CHECK_BELOW or whose question
was translated; since session 12 its evidence is ``Grounding.titled_check_evidence()``
("[page › section] sentence") instead of the bare sentences (``check_evidence()``). For the
first N such questions of an evaluation set (the handbook imported by ``bench/evaluate.py`` in
``data/eval/<handbook>/``; a Chinese question is searched with the translation its last
evaluation stored, as ``bench/replay_refusals.py`` does) this times the same check with both
evidences, in alternating order, through the real check backend (KB_CHECK_MODEL), and prints
and writes to the README the median time of each, the median added time, and the prompt
tokens. The baseline (bare sentences) is measured in the same run, on the same questions.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _common import ROOT, open_import, read_jsonl  # noqa: E402
from _readme import rewrite_section, stamp, table  # noqa: E402
from replay_refusals import SETS, stored_search  # noqa: E402


def checked_questions(handbook: str, limit: int):
    """(question, bare evidence, titled evidence) of the first ``limit`` questions whose
    answer ``answer()`` would check."""
    from django.conf import settings
    from django.contrib.auth.models import User

    from kbassist.chat import policy
    from kbassist.chat.answering import found_hits
    from kbassist.chat.turn import Found

    user = User.objects.get(username="eval")
    out = []
    for q in read_jsonl(ROOT / "bench" / "eval" / SETS[handbook]):
        query, how, _ = stored_search(q["question"])
        hits = found_hits(query, how, q["question"], user)
        if not policy.judge_relevance(query, hits).relevant:
            continue
        grounding = Found(query, how, hits, q["question"]).grounding
        if grounding.answerability.score >= settings.KB_CHECK_BELOW and how != "translated":
            continue
        bare, titled = grounding.check_evidence(), grounding.titled_check_evidence()
        if bare:
            out.append((q["question"], bare, titled))
        if len(out) >= limit:
            break
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--handbook", choices=list(SETS), default="18f")
    parser.add_argument("--questions", type=int, default=24)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    open_import(ROOT / "data" / "eval" / args.handbook, f"run bench/evaluate.py --handbook {args.handbook} first")
    from django.conf import settings

    from kbassist.chat.answer_check import answer_probability, check_messages
    from kbassist.llm import get_checker

    checker = get_checker()
    questions = checked_questions(args.handbook, args.questions)
    answer_probability(*questions[0][:2], checker)  # warm-up: load the model, fill the system prompt's cache
    times = {"bare": [], "titled": []}
    tokens = {"bare": [], "titled": []}
    for k, (question, bare, titled) in enumerate(questions):
        variants = [("bare", bare), ("titled", titled)]
        for name, evidence in variants:
            tokens[name].append(checker.count_tokens(check_messages(question, evidence)[1].content))
        per = {"bare": [], "titled": []}
        for r in range(args.rounds):
            for name, evidence in (variants if (k + r) % 2 == 0 else variants[::-1]):
                start = time.perf_counter()
                answer_probability(question, evidence, checker)
                per[name].append(time.perf_counter() - start)
        for name in per:
            times[name].append(statistics.median(per[name]))
        print(f"[{k + 1}/{len(questions)}] bare {times['bare'][-1] * 1000:.0f} ms ({tokens['bare'][-1]} tokens), "
              f"titled {times['titled'][-1] * 1000:.0f} ms ({tokens['titled'][-1]} tokens)", flush=True)
    added = [t - b for b, t in zip(times["bare"], times["titled"])]
    rows = [
        ["bare sentences (`check_evidence()`, before session 12)", f"{statistics.median(times['bare']):.2f}",
         f"{statistics.median(tokens['bare']):.0f}", "baseline"],
        ["sentences after page and section (`titled_check_evidence()`, default)", f"{statistics.median(times['titled']):.2f}",
         f"{statistics.median(tokens['titled']):.0f}", f"+{statistics.median(added):.2f} s (median per question)"],
    ]
    body = "\n".join([
        "#### What the titled answer check costs",
        "",
        stamp() + f" Handbook: {args.handbook}; the first {len(questions)} questions of its set whose answer "
        f"the check decides; check model `{settings.KB_CHECK_MODEL}`; median of {args.rounds} rounds per question, the two "
        "evidences taking turns. The check runs before the first token, so what it adds is added to the TTFT of those answers "
        "only (the others are not checked).",
        "",
        table(["check evidence", "median seconds per check", "median tokens of the question and evidence", "added"], rows),
    ])
    print(body)
    rewrite_section("answer-check-cost", body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
