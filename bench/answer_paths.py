"""Time to first token by answer path, for the same question, and the refusal rates.

Through the real ``answer()`` and the default model (Qwen2.5-Coder-0.5B), on the starter
knowledge base:
  * generated: the model answers (curated matching switched off for this run),
  * cached: the same question again, served from the answer cache,
  * curated: curated matching switched back on: the FAQ's own answer.
Refusals: the share of off-topic questions refused, and of on-topic questions wrongly
refused, using the same search and relevance judgement as ``answer()``.

    .venv/bin/python bench/answer_paths.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import starter_kb_user  # noqa: E402
from _readme import rewrite_section, stamp, table  # noqa: E402

QUESTION = "How many vacation days do I get?"
OFF_TOPIC = [
    "What is the capital of France?", "Write a poem about the sea.", "How do I bake sourdough bread?",
    "Who won the 2018 World Cup?", "What's the weather tomorrow?", "Explain quantum entanglement.",
    "What is the stock price of Apple?", "How tall is Mount Everest?", "Recommend a good science fiction novel.",
    "火星的首都是什么？", "如何做红烧肉？", "谁是美国第一任总统？", "明天天气怎么样？", "推荐一部好看的电影。",
]
ON_TOPIC = [
    "How many vacation days do part-time staff get?", "Can I carry over unused vacation?", "When do I need a doctor's note?",
    "How do I reset my password?", "What is the home office allowance?", "How do I connect to the VPN?",
    "What is the guest Wi-Fi password?", "How long is the probation period?", "What is the hotel cap in Shanghai?",
    "What is the deadline for expense claims?", "What is the mileage rate?", "Who approves a trip abroad?",
    "年假有多少天？", "病假需要医生证明吗？", "怎么重置密码？", "VPN连不上怎么办？", "居家办公补贴是多少？", "账号被锁定了怎么办？",
]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-readme", action="store_true")
    args = parser.parse_args()

    user = starter_kb_user()
    from django.test import override_settings

    from kbassist.chat import policy
    from kbassist.chat.answering import answer
    from kbassist.chat.models import CachedAnswer
    from kbassist.llm import get_backend
    from kbassist.retrieval.search import search

    def run(question):
        events = list(answer(question, user=user))
        return events[-1]

    run("Warm up: what is the mileage rate?")  # loads the model and the embedder
    results = {"generated": [], "curated": [], "cached": []}
    for _ in range(args.rounds):
        CachedAnswer.objects.all().delete()  # a cached answer would come before the curated one
        done = run(QUESTION)
        assert done["kind"] == "curated", done["kind"]
        results["curated"].append(done["timings"]["ttft_ms"])
        with override_settings(KB_FAQ_MATCH_COSINE=2.0, KB_FAQ_MATCH_LEXICAL=2.0):
            get_backend().forget_prompt_cache()  # no KV-cache reuse from the previous round: a cold prompt
            for kind in ("generated", "cached"):
                done = run(QUESTION)
                assert done["kind"] == kind, done["kind"]
                results[kind].append(done["timings"]["ttft_ms"])
    generated = statistics.median(results["generated"])
    rows = [
        [kind, f"{statistics.median(v):.0f}", f"{min(v):.0f}–{max(v):.0f}", f"{generated / statistics.median(v):.0f}×" if kind != "generated" else "1×"]
        for kind, v in results.items()
    ]
    ttft_table = table(["path", "TTFT ms (median)", "range", "faster than generated"], rows, align="123")

    def refused(question):
        return not policy.judge_relevance(question, search(question, user).hits).relevant

    off = [q for q in OFF_TOPIC if refused(q)]
    wrong = [q for q in ON_TOPIC if refused(q)]
    refusal_table = table(
        ["questions", "count", "refused", "rate"],
        [["off-topic (EN + ZH)", len(OFF_TOPIC), len(off), f"{len(off) / len(OFF_TOPIC):.0%}"],
         ["on-topic (EN + ZH)", len(ON_TOPIC), len(wrong), f"{len(wrong) / len(ON_TOPIC):.0%}"]],
        align="123",
    )
    missed = [q for q in OFF_TOPIC if q not in off]
    print(ttft_table)
    print()
    print(refusal_table)
    print("off-topic answered anyway:", missed)
    print("on-topic wrongly refused:", wrong)
    if not args.no_readme:
        rewrite_section(
            "answer-paths",
            "### Answer paths: time to first token, and refusals\n\n"
            f"{stamp()} Question: “{QUESTION}”, through `answer()` on the starter knowledge base with "
            f"the default Qwen model, median of {args.rounds} rounds. *generated*: curated matching switched off; "
            "*cached*: the same question again; *curated*: the FAQ entry's own answer.\n\n"
            + ttft_table
            + "\n\nRefusals, with the default thresholds (same search and relevance judgement as `answer()`):\n\n"
            + refusal_table
            + (f"\n\nOff-topic questions answered anyway: {', '.join(missed)}." if missed else "")
            + (f"\n\nOn-topic questions wrongly refused: {', '.join(wrong)}." if wrong else ""),
        )


if __name__ == "__main__":
    main()
