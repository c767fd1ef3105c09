"""Would the cross-lingual embedder (USE Multilingual) decide Chinese curated-FAQ matches better
than the lexical rule (``policy.find_curated``: bigram Dice >= KB_FAQ_MATCH_LEXICAL and no
character the FAQ question lacks but grammar)? Over the starter FAQ list (knowledge/faq.csv),
Chinese questions of three kinds: paraphrases of a Chinese FAQ question, questions whose answer
is an English FAQ's (no Chinese one asks it), and near misses that must match nothing (another
kind of leave, another system: the curated answer would be wrong).

    .venv/bin/python bench/faq_crosslingual.py

No database, no chat model: the FAQ entries are read from the CSV and handed to
``find_curated`` as if a search had found all of them (in the chat it sees the FAQ hits of the
search only). The product's other route, a Chinese question's English translation against the
English FAQs by the English cosine, is not measured here.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _common import ROOT, setup_django  # noqa: E402
from _readme import rewrite_section, stamp, table  # noqa: E402

# (question, the FAQ question it asks, or None when no FAQ answers it)
CASES = [
    # paraphrases of a Chinese FAQ question
    ("我一年能休几天年假？", "我每年有多少天年假？"),
    ("每年的带薪年假是多少天？", "我每年有多少天年假？"),
    ("年假没用完能留到下一年吗？", "没休完的年假可以结转到明年吗？"),
    ("剩下的年假能转到明年用吗？", "没休完的年假可以结转到明年吗？"),
    ("病假要交医生证明吗？", "请病假需要医生证明吗？"),
    ("请病假时要提供医生证明吗？", "请病假需要医生证明吗？"),
    ("密码忘了怎么重置？", "忘记密码怎么办？"),
    ("我忘记密码了怎么办？", "忘记密码怎么办？"),
    ("输错几次密码账号会被锁？", "登录失败几次会锁定账号？"),
    ("登录失败多少次会锁定账号？", "登录失败几次会锁定账号？"),
    ("怎么连公司的 VPN？", "如何连接公司 VPN？"),
    ("如何连接到公司 VPN？", "如何连接公司 VPN？"),
    ("报销要在多少天内提交？", "报销需要在多长时间内提交？"),
    ("费用报销的截止时间是什么时候？", "报销需要在多长时间内提交？"),
    ("在家办公的补贴有多少？", "居家办公补贴是多少？"),
    ("居家办公补贴有多少钱？", "居家办公补贴是多少？"),
    ("工资单几号发？", "工资单什么时候发？"),
    ("每月的工资单什么时候发布？", "工资单什么时候发？"),
    # answered by an English FAQ only
    ("我有多少天产假？", "How much parental leave do I get?"),
    ("访客 Wi-Fi 的密码是什么？", "What is the guest Wi-Fi password?"),
    ("HR 的联系方式是什么？", "Who do I contact in HR?"),
    ("试用期多长？", "How long is the probation period?"),
    ("核心工作时间是几点到几点？", "What are the core hours?"),
    ("在国外最多可以工作多久？", "How long can I work from abroad?"),
    ("丧假有几天？", "How many days of bereavement leave do I get?"),
    ("密码有什么要求？", "What are the password rules?"),
    # near misses: no FAQ answers them
    ("我每年有多少天病假？", None),
    ("我每年有多少天丧假？", None),
    ("我每年有多少天婚假？", None),
    ("没休完的病假可以结转到明年吗？", None),
    ("请年假需要医生证明吗？", None),
    ("忘记 Bitwarden 主密码怎么办？", None),
    ("登录 GitHub 失败几次会锁定账号？", None),
    ("如何连接访客 Wi-Fi？", None),
    ("报销需要经理审批吗？", None),
    ("居家办公需要经理批准吗？", None),
    ("出差补贴是多少？", None),
    ("试用期可以请年假吗？", None),
]
BARS = (0.7, 0.75, 0.8, 0.85, 0.9)


def main() -> int:
    setup_django()
    from kbassist.chat import policy
    from kbassist.retrieval.embedder import get_crosslingual_embedder

    with open(ROOT / "knowledge" / "faq.csv", encoding="utf-8") as fh:
        faqs = list(csv.DictReader(fh))
    questions = [f["question"] for f in faqs]
    missing = {want for _, want in CASES if want and want not in questions}
    if missing:
        raise SystemExit(f"not in knowledge/faq.csv: {sorted(missing)}")
    embedder = get_crosslingual_embedder()
    if embedder is None:
        raise SystemExit("the cross-lingual embedder (KB_CROSSLINGUAL_EMBEDDER) is not available")
    faq_vectors = embedder.encode(questions)
    question_vectors = embedder.encode([q for q, _ in CASES])
    # every FAQ as a search hit (find_curated compares the question with the FAQ hits it is given)
    hits = [SimpleNamespace(chunk=SimpleNamespace(faq_id=n, faq=SimpleNamespace(**f))) for n, f in enumerate(faqs, start=1)]

    def rule(question: str) -> str | None:
        match = policy.find_curated(question, hits)
        return match.hit.chunk.faq.question if match else None

    def rule_before(question: str) -> str | None:
        """The rule before session 22: only Chinese characters counted as asked beyond the FAQ."""
        asks_more = policy.asks_more
        policy.asks_more = lambda *args: {c for c in asks_more(*args) if not c.isascii()}
        try:
            return rule(question)
        finally:
            policy.asks_more = asks_more

    cases = []  # (question, wanted FAQ question, the rule's, the rule's before, USE's nearest, its cosine, what that asks beyond it)
    for (question, want), vector in zip(CASES, question_vectors):
        cosines = faq_vectors @ vector
        best = int(cosines.argmax())
        nearest = faqs[best]
        cases.append((question, want, rule(question), rule_before(question), nearest["question"], float(cosines[best]),
                      policy.asks_more(question, nearest["question"], nearest["answer"])))

    def score(decide) -> list:
        def right(zh: bool) -> str:
            group = [c for c in cases if c[1] and c[1].isascii() != zh]
            return f"{sum(decide(c) == c[1] for c in group)}/{len(group)}"
        near = [c for c in cases if c[1] is None]
        misrouted = sum(decide(c) not in (None, c[1]) for c in cases if c[1])
        return [right(True), right(False), f"{sum(decide(c) is not None for c in near)}/{len(near)}", misrouted]

    rows = [["lexical rule (`find_curated`)", *score(lambda c: c[2])],
            ["lexical rule before session 22 (Chinese characters only)", *score(lambda c: c[3])]]
    for bar in BARS:
        rows.append([f"USE cosine ≥ {bar}", *score(lambda c, bar=bar: c[4] if c[5] >= bar else None)])
        rows.append([f"lexical rule, else USE cosine ≥ {bar} with nothing asked beyond the FAQ",
                     *score(lambda c, bar=bar: c[2] or (c[4] if c[5] >= bar and not c[6] else None))])
    headers = ["decision", "Chinese FAQ matched", "English FAQ matched", "near misses matched (wrong)", "misrouted to another FAQ"]
    worst = sorted((c for c in cases if c[1] is None), key=lambda c: -c[5])[:5]
    body = "\n".join([
        f"Chinese questions against the starter FAQ list: {sum(1 for c in CASES if c[1] and not c[1].isascii())} "
        f"paraphrases of a Chinese FAQ question, {sum(1 for c in CASES if c[1] and c[1].isascii())} answered by an English FAQ only, "
        f"{sum(1 for c in CASES if c[1] is None)} near misses no FAQ answers. \"Nothing asked beyond the FAQ\": "
        "no Chinese character its question lacks, no Latin word its question and answer lack (`policy.asks_more`); "
        "a Chinese question has characters an English FAQ lacks, so those rows cannot reach the English FAQs.",
        "",
        table(headers, rows),
        "",
        "Near misses the cross-lingual embedder scores highest: "
        + "; ".join(f"{c[0]} → {c[4]} ({c[5]:.2f})" for c in worst) + ".",
        "",
        stamp(),
    ])
    print(body)
    rewrite_section("faq-crosslingual", body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
