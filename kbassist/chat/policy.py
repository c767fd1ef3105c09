"""Decisions taken before the model is called: a cached answer, a curated FAQ, or a refusal.

All thresholds are settings, calibrated on the starter knowledge base (see the README,
"Answer policy"). all-MiniLM-L6-v2 is an English model: its similarities mean little for
Chinese text, so for Chinese questions these decisions rest on lexical evidence (character
bigrams) instead of cosine similarity.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass

from django.conf import settings

from kbassist.retrieval.embedder import get_embedder
from kbassist.retrieval.store import CROSSLINGUAL, collection_versions, idf_weights
from kbassist.retrieval.tokenize import tokenize
from kbassist.text import HAN, is_chinese


# --- answer cache ---------------------------------------------------------------------------------
def normalise(question: str) -> str:
    """Case, width, punctuation and spacing do not make a different question."""
    text = unicodedata.normalize("NFKC", question).lower()
    text = re.sub(r"[^\w\s]", " ", text)
    return " ".join(text.split())


def cache_key(question: str, collection_ids: list[int]) -> str:
    """Same question, same visible collections at the same index versions -> same key (for a
    Chinese question, also of the cross-lingual indexes it searches: one built after an
    upgrade gives it a fresh answer)."""
    versions = ",".join(f"{cid}:{v}" for cid, v in sorted(collection_versions(collection_ids).items()))
    if is_chinese(question):
        versions += ";" + ",".join(f"{cid}:{v}" for cid, v in sorted(collection_versions(collection_ids, CROSSLINGUAL).items()))
    return hashlib.sha256(f"{normalise(question)}\n{versions}".encode()).hexdigest()


# --- curated answers --------------------------------------------------------------------------------
@dataclass
class FAQMatch:
    hit: object  # the retrieval Hit of the FAQ's chunk
    similarity: float
    measure: str  # "cosine" or "bigram-dice"


def token_set(text: str) -> set[str]:
    """The retrieval tokens of ``text``: stemmed English words and Chinese bigrams."""
    return set(tokenize(text))


def dice(a: set, b: set) -> float:
    return 2 * len(a & b) / (len(a) + len(b)) if a and b else 0.0


# Characters that make a Chinese question's grammar, not its topic: a question may differ from
# an FAQ's in these ("忘记密码了怎么办" for "忘记密码怎么办") and still ask the same thing.
_FUNCTION_CHARACTERS = frozenset("的了吗呢吧啊呀么我你您他她它们这那个几一些能会可以要得地在是有被把给和与或就都也还又才怎什哪谁多少请问该应")


def asks_more(question: str, faq_question: str, faq_answer: str = "") -> set[str]:
    """The Chinese characters of ``question`` that ``faq_question`` lacks, grammar aside
    (``_FUNCTION_CHARACTERS``), and its Latin words that neither the FAQ's question nor its
    answer uses: what it asks beyond the FAQ ("丧" in "我每年有多少天丧假？" against
    "我每年有多少天年假？"; "github" in "登录 GitHub 失败几次会锁定账号？" against
    "登录失败几次会锁定账号？", whose answer is about the company account; not "peoplehub" in
    "PeopleHub 工资单什么时候发？", which the payslip FAQ's answer names)."""
    characters = set(re.findall(f"[{HAN}]", question)) - set(faq_question) - _FUNCTION_CHARACTERS
    return characters | (_latin_words(question) - _latin_words(faq_question) - _latin_words(faq_answer))


def _latin_words(text: str) -> set[str]:
    return {t for t in token_set(normalise(text)) if t.isascii() and t[:1].isalpha() and len(t) > 1}


def find_curated(question: str, hits: list) -> FAQMatch | None:
    """The FAQ entry among ``hits`` that asks the same thing as ``question``, if any.

    English: cosine similarity of the two questions >= KB_FAQ_MATCH_COSINE, or nearly the same
    words (Dice >= KB_FAQ_MATCH_LEXICAL) with a cosine within KB_FAQ_SHARED_WORDS_MARGIN of it. Shared
    words alone are not enough: "How many days of annual leave do new employees get?" shares
    0.71 of its words with "How many days of bereavement leave do I get?" (cosine 0.49) and got
    its curated answer; "sick" for "annual" leave: cosine 0.76. A paraphrase such as "part-time
    workers get any vacation" for "part-time staff get vacation days" is at 0.89. Chinese
    (which the default embedder cannot read): Dice, and no character the FAQ question lacks
    but grammar (``asks_more``): "我每年有多少天丧假？" shares 7 of its 8 bigrams with
    "我每年有多少天年假？", and bereavement leave is not annual leave. Bigrams weighted by idf
    were tried: in a small knowledge base "每年" is as rare as "年假".
    """
    faq_hits = [h for h in hits if h.chunk.faq_id]
    if not faq_hits:
        return None
    question_tokens = token_set(question)
    lexical = [dice(question_tokens, token_set(h.chunk.faq.question)) for h in faq_hits]
    best = max(range(len(faq_hits)), key=lexical.__getitem__)
    if is_chinese(question):
        unasked = asks_more(question, faq_hits[best].chunk.faq.question, faq_hits[best].chunk.faq.answer)
        return FAQMatch(faq_hits[best], lexical[best], "bigram-dice") if lexical[best] >= settings.KB_FAQ_MATCH_LEXICAL and not unasked else None
    vectors = get_embedder().encode([question] + [h.chunk.faq.question for h in faq_hits])
    similarities = vectors[1:] @ vectors[0]
    if lexical[best] >= settings.KB_FAQ_MATCH_LEXICAL and similarities[best] >= settings.KB_FAQ_MATCH_COSINE - settings.KB_FAQ_SHARED_WORDS_MARGIN:
        return FAQMatch(faq_hits[best], lexical[best], "bigram-dice")
    best = int(similarities.argmax())
    if similarities[best] >= settings.KB_FAQ_MATCH_COSINE:
        return FAQMatch(faq_hits[best], float(similarities[best]), "cosine")
    return None


# --- refusal ----------------------------------------------------------------------------------------
@dataclass
class Relevance:
    relevant: bool
    dense: float  # best cosine similarity among the hits
    coverage: float  # idf-weighted share of the question's tokens found in one top chunk
    measure: str


def lexical_coverage(question: str, hits: list, top: int = 3) -> float:
    """How much of the question (weighted by idf) one of the top chunks contains.

    A question token the collection has never seen counts with the highest idf: an
    off-topic question is mostly made of such tokens.
    """
    tokens = set(tokenize(question))
    if not tokens or not hits:
        return 0.0
    best = 0.0
    for hit in hits[:top]:
        weights = idf_weights(hit.chunk.collection_id, tokens)
        total = sum(max(w, 1e-6) for w in weights.values())
        found = token_set(f"{hit.chunk.heading}\n{hit.chunk.text}")
        best = max(best, sum(max(weights[t], 1e-6) for t in tokens & found) / total)
    return best


def judge_relevance(question: str, hits: list) -> Relevance:
    dense = max((h.dense_score or 0.0 for h in hits), default=0.0)
    coverage = lexical_coverage(question, hits)
    if is_chinese(question):
        return Relevance(coverage >= settings.KB_MIN_COVERAGE, dense, coverage, "coverage")
    return Relevance(dense >= settings.KB_MIN_SIMILARITY, dense, coverage, "cosine")


def explain_curated(question: str, hits: list) -> list[dict]:
    """For the curators' hit testing: each FAQ among ``hits`` with the measures
    ``find_curated`` uses (token Dice overlap; the cosine of the two questions, not used for
    Chinese; for Chinese, the characters the question asks beyond the FAQ question), best
    first. ``find_curated`` alone decides; this only shows."""
    faq_hits = [h for h in hits if h.chunk.faq_id]
    if not faq_hits:
        return []
    question_tokens = token_set(question)
    cosines = [None] * len(faq_hits)
    if not is_chinese(question):
        vectors = get_embedder().encode([question] + [h.chunk.faq.question for h in faq_hits])
        cosines = [float(c) for c in vectors[1:] @ vectors[0]]
    rows = [
        {"hit": h, "faq_question": h.chunk.faq.question, "dice": dice(question_tokens, token_set(h.chunk.faq.question)), "cosine": c,
         "asks_more": " ".join(sorted(asks_more(question, h.chunk.faq.question, h.chunk.faq.answer))) if is_chinese(question) else ""}
        for h, c in zip(faq_hits, cosines)
    ]
    return sorted(rows, key=lambda r: -max(r["dice"], r["cosine"] or 0.0))
