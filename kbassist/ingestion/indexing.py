"""The bridge from the database to the search indexes: chunks in, index versions out.

Chunks in the database are the source of truth; ``sync_collection`` makes a collection's
on-disk index (``retrieval.store``) hold exactly the collection's chunks, and
``rebuild_collection`` throws the index away and builds it again from them.
"""

from __future__ import annotations

import numpy as np

from django.db import transaction
from tqdm import tqdm

from kbassist.knowledge.models import Chunk
from kbassist.retrieval import store
from kbassist.retrieval.embedder import get_embedder

SQLITE_MAX_PARAMS = 900  # ids per query when fetching chunks by id


def sync_collection(collection_id: int) -> store.CollectionIndex:
    """Bring the collection's index in line with its chunks in the database."""

    def wanted_ids() -> np.ndarray:
        ids = Chunk.objects.filter(collection_id=collection_id).values_list("pk", flat=True)
        return np.fromiter(ids.iterator(), dtype=np.int64)

    def rows_for(ids: np.ndarray):
        for start in range(0, len(ids), SQLITE_MAX_PARAMS):
            part = ids[start : start + SQLITE_MAX_PARAMS].tolist()
            for chunk in Chunk.objects.filter(pk__in=part).select_related("document", "faq").order_by("pk"):
                yield chunk.pk, chunk.indexed_text, chunk.vector

    return store.sync(collection_id, wanted_ids, rows_for, get_embedder().name)


def rebuild_collection(collection_id: int) -> store.CollectionIndex:
    store.drop_collection(collection_id)
    return sync_collection(collection_id)


def reembed_collection(collection_id: int, batch: int = 256, progress: bool = False) -> store.CollectionIndex:
    """Embed every chunk of the collection again with the current embedder (after a change of
    ``KB_EMBEDDER``), then rebuild its index from them."""
    embedder = get_embedder()
    ids = list(Chunk.objects.filter(collection_id=collection_id).order_by("pk").values_list("pk", flat=True))
    with tqdm(total=len(ids), unit="chunk", desc=f"re-embedding with {embedder.name}", disable=not progress) as bar:
        for start in range(0, len(ids), batch):
            chunks = list(Chunk.objects.filter(pk__in=ids[start : start + batch]).select_related("document", "faq"))
            for chunk, vector in zip(chunks, embedder.encode([c.indexed_text for c in chunks])):
                chunk.embedding = vector.tobytes()
            with transaction.atomic():
                Chunk.objects.bulk_update(chunks, ["embedding"])
            bar.update(len(chunks))
    return rebuild_collection(collection_id)
