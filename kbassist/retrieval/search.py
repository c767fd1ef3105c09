"""Hybrid search over the collections a user may see.

Access control lives here, not in the UI: ``search`` only ever opens the indexes of the
collections returned by ``Collection.objects.visible_to(user)``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from django.conf import settings

from kbassist.knowledge.models import Chunk, Collection
from kbassist.observability import metrics

from .embedder import get_crosslingual_embedder, get_embedder
from .fusion import reciprocal_rank_fusion
from .store import CROSSLINGUAL, index_cache
from .tokenize import query_tokens

log = logging.getLogger(__name__)


@dataclass
class Hit:
    chunk: Chunk
    score: float  # fused RRF score
    bm25_rank: int | None = None
    bm25_score: float | None = None
    dense_rank: int | None = None
    dense_score: float | None = None
    # found by the cross-lingual index (``crosslingual_search``): its cosine, on that model's scale
    crosslingual_score: float | None = None

    def as_dict(self) -> dict:
        return {
            **self.chunk.citation(),
            "score": round(self.score, 6),
            "bm25_rank": self.bm25_rank,
            "bm25_score": None if self.bm25_score is None else round(self.bm25_score, 4),
            "dense_rank": self.dense_rank,
            "dense_score": None if self.dense_score is None else round(self.dense_score, 4),
            "crosslingual_score": None if self.crosslingual_score is None else round(self.crosslingual_score, 4),
        }


@dataclass
class SearchResult:
    query: str
    hits: list[Hit]
    timings_ms: dict[str, float] = field(default_factory=dict)


def search(query: str, user, top_k: int | None = None, collection_ids=None) -> SearchResult:
    """Top ``top_k`` chunks for ``query`` among the collections ``user`` may see.

    ``collection_ids`` narrows the search further; it can never widen it.
    """
    return explain_search(query, user, top_k, collection_ids).result


@dataclass
class SearchExplanation:
    """What ``search()`` did, for the curators' hit testing: the result, every candidate
    each retriever returned (``(score, chunk_id)`` best first, ``depth`` of them), and which
    collections were searched or skipped, and why."""

    result: SearchResult
    bm25: list[tuple[float, int]] = field(default_factory=list)
    dense: list[tuple[float, int]] = field(default_factory=list)
    searched: list[Collection] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # collection name -> why
    depth: int = 0
    top_k: int = 0


def explain_search(query: str, user, top_k: int | None = None, collection_ids=None) -> SearchExplanation:
    """``search()`` with its workings (``search()`` is this function's ``.result``)."""
    top_k = top_k or settings.KB_TOP_K
    depth = max(settings.KB_CANDIDATES, top_k)
    visible = _visible(user, collection_ids)
    timings: dict[str, float] = {}
    explained = SearchExplanation(SearchResult(query, [], timings), depth=depth, top_k=top_k)

    t0 = time.perf_counter()
    indexes = []
    for collection in visible:
        index = index_cache.get(collection.pk)
        if len(index):
            indexes.append(index)
            explained.searched.append(collection)
            if index.embedder and index.embedder != get_embedder().name:
                explained.skipped[collection.name] = f"keywords only: its vectors are {index.embedder}'s"
        else:
            explained.skipped[collection.name] = "empty index"
    if not indexes:
        timings["total"] = _ms(t0)
        return explained

    # Superseded documents are never cited: their chunks are left out before the cut to top_k.
    superseded = _superseded(explained.searched)
    fused, bm25_hits, dense_hits = hybrid_rank(
        query,
        indexes,
        top_k + len(superseded),
        depth=depth,
        rrf_k=settings.KB_RRF_K,
        weights={"bm25": settings.KB_BM25_WEIGHT, "dense": settings.KB_DENSE_WEIGHT},
        timings=timings,
    )
    if superseded:
        fused = [(cid, score) for cid, score in fused if cid not in superseded][:top_k]
        bm25_hits = [(score, cid) for score, cid in bm25_hits if cid not in superseded]
        dense_hits = [(score, cid) for score, cid in dense_hits if cid not in superseded]
        explained.skipped.update({"superseded documents": f"{len(superseded)} passages left out"})
    explained.bm25, explained.dense = bm25_hits, dense_hits

    bm25_info = {cid: (rank, score) for rank, (score, cid) in enumerate(bm25_hits, start=1)}
    dense_info = {cid: (rank, score) for rank, (score, cid) in enumerate(dense_hits, start=1)}
    chunks = Chunk.objects.select_related("document", "faq", "collection").in_bulk([cid for cid, _ in fused])
    for cid, score in fused:
        if cid not in chunks:  # deleted after the index version was written
            continue
        b = bm25_info.get(cid, (None, None))
        d = dense_info.get(cid, (None, None))
        explained.result.hits.append(Hit(chunks[cid], score, b[0], b[1], d[0], d[1]))
    timings["total"] = _ms(t0)
    metrics.retrieval_timed(timings)
    return explained


def crosslingual_search(question: str, user, top_k: int | None = None, collection_ids=None) -> list[Hit]:
    """The passages nearest ``question`` in the collections' cross-lingual indexes (a
    multilingual model's vectors, ``KB_CROSSLINGUAL_EMBEDDER``), best first: how a question in
    another language than the documents' finds them as asked, whatever its translation says.
    Dense only (words do not match across languages); [] without such an index."""
    embedder = get_crosslingual_embedder()
    if embedder is None:
        return []
    top_k = top_k or settings.KB_TOP_K
    collections = list(_visible(user, collection_ids))
    indexes = [ix for c in collections if len(ix := index_cache.get(c.pk, space=CROSSLINGUAL)) and ix.embedder == embedder.name]
    if not indexes:
        return []
    superseded = _superseded(collections)
    vector, depth = embedder.encode_query(question), top_k + len(superseded)
    best = _best_over(indexes, lambda ix: ix.dense.top_k(vector, depth), depth)
    ranked = [(score, cid) for score, cid in best if cid not in superseded][:top_k]
    chunks = Chunk.objects.select_related("document", "faq", "collection").in_bulk([cid for _, cid in ranked])
    return [Hit(chunks[cid], 0.0, crosslingual_score=score) for score, cid in ranked if cid in chunks]  # no RRF score


def _visible(user, collection_ids=None):
    """The collections ``user`` may search; ``collection_ids`` narrows them, never widens."""
    visible = Collection.objects.visible_to(user)
    return visible if collection_ids is None else visible.filter(pk__in=list(collection_ids))


def _superseded(collections) -> set[int]:
    return set(Chunk.objects.filter(collection__in=collections, document__superseded_by__isnull=False).values_list("pk", flat=True))


def hybrid_rank(
    query: str,
    indexes,
    top_k: int,
    depth: int,
    rrf_k: int = 60,
    weights: dict[str, float] | None = None,
    timings: dict[str, float] | None = None,
    query_vector=None,
):
    """The retrieval core of ``search()``, without the database: hybrid ranking of chunk ids.

    ``indexes`` are ``CollectionIndex`` objects (already filtered for access). Each retriever
    returns its best ``depth`` chunks over all of them; the two lists are fused with
    reciprocal rank fusion. Returns ``(fused, bm25_hits, dense_hits)``: the top ``top_k``
    ``(chunk_id, score)`` pairs, and each retriever's ``(score, chunk_id)`` list, best first.
    The benchmarks under ``bench/`` call this very function.
    """
    timings = {} if timings is None else timings
    t = time.perf_counter()
    tokens = query_tokens(query)
    bm25_hits = _best_over(indexes, lambda ix: ix.bm25.top_k(tokens, depth), depth)
    timings["bm25"] = _ms(t)

    t = time.perf_counter()
    if query_vector is None:
        embedder = get_embedder()
        query_vector = embedder.encode_query(query)
        # an index built with another embedder is searched by keywords only until re-embedded
        indexes = [ix for ix in indexes if _same_space(ix, embedder.name)]
    timings["embed"] = _ms(t)
    t = time.perf_counter()
    dense_hits = _best_over(indexes, lambda ix: ix.dense.top_k(query_vector, depth), depth)
    timings["dense"] = _ms(t)

    t = time.perf_counter()
    fused = reciprocal_rank_fusion(
        {"bm25": [cid for _, cid in bm25_hits], "dense": [cid for _, cid in dense_hits]},
        k=rrf_k,
        weights=weights,
    )[:top_k]
    timings["fusion"] = _ms(t)
    return fused, bm25_hits, dense_hits


def _best_over(indexes, top_k, depth: int) -> list[tuple[float, int]]:
    """The ``depth`` best ``(score, chunk_id)`` pairs over all ``indexes``, best first;
    ``top_k(index)`` returns one index's best ``(rows, scores)``."""
    hits: list[tuple[float, int]] = []
    for ix in indexes:
        rows, scores = top_k(ix)
        hits.extend(zip(scores.tolist(), ix.chunk_ids[rows].tolist()))
    hits.sort(key=lambda h: -h[0])
    return hits[:depth]


def _same_space(index, embedder_name: str) -> bool:
    if not index.embedder or index.embedder == embedder_name:
        return True
    log.warning("index v%s holds %s vectors, not %s: run `manage.py rebuild_index --reembed`",
                index.version, index.embedder, embedder_name)
    return False


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 2)

