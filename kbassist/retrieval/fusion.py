"""Reciprocal rank fusion: score(d) = sum over retrievers of weight / (k + rank of d)."""

from __future__ import annotations

from collections.abc import Hashable, Sequence


def reciprocal_rank_fusion(
    rankings: dict[str, Sequence[Hashable]], k: int = 60, weights: dict[str, float] | None = None
) -> list[tuple[Hashable, float]]:
    """Fuse ranked lists (best first, one per retriever) into one list of (item, score).

    Ties are broken by the best single rank the item reached, then by first appearance, so the
    result is deterministic.
    """
    scores: dict[Hashable, float] = {}
    best_rank: dict[Hashable, int] = {}
    for name, ranking in rankings.items():
        weight = 1.0 if weights is None else weights.get(name, 1.0)
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + weight / (k + rank)
            best_rank[item] = min(best_rank.get(item, rank), rank)
    order = {item: i for i, item in enumerate(scores)}
    return sorted(scores.items(), key=lambda kv: (-kv[1], best_rank[kv[0]], order[kv[0]]))
