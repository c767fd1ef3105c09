"""The bridge from the database to the search indexes: chunks in, index versions out.

Chunks in the database are the source of truth; ``sync_collection`` makes a collection's
on-disk index (``retrieval.store``) hold exactly the collection's chunks, and
``rebuild_collection`` throws the index away and builds it again from them.
"""

from __future__ import annotations

import numpy as np

from kbassist.knowledge.models import Chunk
from kbassist.retrieval import store

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

    return store.sync(collection_id, wanted_ids, rows_for)


def rebuild_collection(collection_id: int) -> store.CollectionIndex:
    store.drop_collection(collection_id)
    return sync_collection(collection_id)
