"""A second look at the fused candidates before the top ones become the sources.

``search()`` ranks chunks by reciprocal rank fusion of BM25 and dense retrieval; the chunk
that holds the fact asked for is sometimes ranked just below the sources shown (a procedure
question whose answer is a Slack channel, a condition question whose row is one chunk
further down). A pass here re-orders the best ``KB_RERANK_DEPTH`` fused candidates:

  off        the fused order, as before
  evidence   each candidate's best evidence unit (``evidence.EvidenceIndex``: the sentence,
             list item or table row scored against the question, lexically, with the value
             asked for and the question's condition weighed) blended with its fused rank

Why these and not others, with the figures, is in the README (Evaluation: reranking).
"""

from __future__ import annotations

from collections.abc import Sequence

from django.conf import settings

from kbassist.retrieval.search import Hit

from .evidence import EvidenceIndex

MODES = ("off", "evidence")


def candidate_depth(top_k: int) -> int:
    """How many fused candidates to fetch so that a pass can re-order them into ``top_k``."""
    if settings.KB_RERANK == "off":
        return top_k
    return max(top_k, settings.KB_RERANK_DEPTH)


def rerank(question: str, hits: Sequence[Hit], top_k: int, mode: str | None = None) -> list[Hit]:
    """The ``top_k`` best of ``hits`` (fused order, best first) after the pass ``mode``
    (``KB_RERANK`` when None)."""
    mode = settings.KB_RERANK if mode is None else mode
    if mode == "off" or len(hits) <= 1:
        return list(hits)[:top_k]
    if mode == "evidence":
        return by_evidence(question, hits, settings.KB_RERANK_WEIGHT)[:top_k]
    raise ValueError(f"KB_RERANK must be one of {', '.join(MODES)}, not {mode!r}")


def evidence_scores(question: str, hits: Sequence[Hit]) -> list[float]:
    """For each hit, the score of its best evidence unit for ``question`` (0 when none),
    the units scored together so that a word's rarity is measured over all candidates."""
    index = EvidenceIndex(
        {"n": n, "text": hit.chunk.text, "section": hit.chunk.heading, "title": hit.chunk.source_title}
        for n, hit in enumerate(hits, start=1)
    )
    best = [0.0] * len(hits)
    for unit in index.rank(question):
        best[unit.source_n - 1] = max(best[unit.source_n - 1], unit.score)
    return best


def by_evidence(question: str, hits: Sequence[Hit], weight: float) -> list[Hit]:
    """``hits`` ordered by ``(1 - weight) * 1/rank + weight * evidence / best evidence``:
    the fused rank still counts (a passage on the topic without the exact words keeps its
    place), and a passage further down whose unit answers the question climbs."""
    scores = evidence_scores(question, hits)
    top = max(scores) or 1.0
    blended = [(1 - weight) / rank + weight * score / top for rank, score in enumerate(scores, start=1)]
    order = sorted(range(len(hits)), key=lambda k: (-blended[k], k))
    return [hits[k] for k in order]
