"""The bridge from the database to the search indexes: chunks in, index versions out.

Chunks in the database are the source of truth; ``sync_collection`` makes a collection's
on-disk index (``retrieval.store``) hold exactly the collection's chunks, and
``rebuild_collection`` throws the index away and builds it again from them.

**One sync serves a burst of documents.** A document whose chunks are stored waits, still
"processing" at the stage ``AWAITING_INDEX``, for the sync that puts them in the index; every
sync marks the documents it indexed ready (so "ready" always means searchable). A document
need not sync by itself (``sync_if_due``): while other documents of its collection are still
being read, it leaves the sync to whichever of them finishes last, unless the oldest waiting
document has waited ``KB_INDEX_SYNC_SECONDS``. Importing 900 files then writes one index
version every few seconds instead of one per file (an index version of a large collection is
rewritten in full now and then). Should no document finish to do it (a worker died), the
watchdog syncs the collection of documents left waiting (``watchdog.requeue_stalled``).
"""

from __future__ import annotations

import logging
from datetime import timedelta

import numpy as np

from django.conf import settings
from django.db import transaction
from django.db.models import Min, Q
from django.utils import timezone
from tqdm import tqdm

from kbassist.knowledge.models import Chunk, Document
from kbassist.retrieval import store
from kbassist.retrieval.embedder import get_crosslingual_embedder, get_embedder
from kbassist.retrieval.tokenize import tokenize, without_asking_words

log = logging.getLogger(__name__)
SQLITE_MAX_PARAMS = 900  # ids per query when fetching chunks by id
AWAITING_INDEX = "indexing"  # the stage of a processing document whose chunks are stored, not yet indexed
Status = Document.Status


def awaiting_index(collection_id: int):
    """Documents of the collection whose chunks are stored and wait for an index sync."""
    return Document.objects.filter(collection_id=collection_id, status=Status.PROCESSING, stage=AWAITING_INDEX)


def still_being_read(collection_id: int):
    """Documents of the collection that will store chunks later: queued, or processing before
    the index stage with a worker still beating (a dead worker's document is the watchdog's)."""
    from .watchdog import stale_before

    return Document.objects.filter(collection_id=collection_id).filter(
        Q(status=Status.QUEUED)
        | Q(status=Status.PROCESSING, heartbeat_at__gte=stale_before()) & ~Q(stage=AWAITING_INDEX)
    )


def sync_if_due(collection_id: int) -> store.CollectionIndex | None:
    """Sync the collection if documents wait for it and either no other document of the
    collection is still being read (the last one of a burst syncs for all) or the oldest has
    waited ``KB_INDEX_SYNC_SECONDS``. Returns the index when it synced, None when it left it."""
    oldest = awaiting_index(collection_id).aggregate(since=Min("updated_at"))["since"]
    if oldest is None:
        return None
    waited_enough = timezone.now() - oldest >= timedelta(seconds=settings.KB_INDEX_SYNC_SECONDS)
    if not waited_enough and still_being_read(collection_id).exists():
        return None
    return sync_collection(collection_id)


def sync_collection(collection_id: int) -> store.CollectionIndex:
    """Bring the collection's index in line with its chunks in the database; the documents
    that were waiting for it (``AWAITING_INDEX``) are then ready. Should the index hold vectors
    of another embedder (``store.EmbedderMismatch``), they fail with the reason."""
    # Taken before the sync reads the chunk ids: these documents' chunks are committed, so
    # this sync indexes them (a document that starts waiting later waits for the next sync).
    waiting = list(awaiting_index(collection_id).values_list("pk", flat=True))
    try:
        index = _sync(collection_id)
    except store.EmbedderMismatch as exc:
        awaiting_index(collection_id).filter(pk__in=waiting).update(
            status=Status.FAILED, progress=0, stage="", error=str(exc), updated_at=timezone.now())
        raise
    if waiting:
        now = timezone.now()
        awaiting_index(collection_id).filter(pk__in=waiting).update(
            status=Status.READY, progress=100, stage="", ingested_at=now, updated_at=now)
    return index


def _sync(collection_id: int) -> store.CollectionIndex:

    def wanted_ids() -> np.ndarray:
        ids = Chunk.objects.filter(collection_id=collection_id).values_list("pk", flat=True)
        return np.fromiter(ids.iterator(), dtype=np.int64)

    def rows_for(ids: np.ndarray):
        for chunks in chunk_batches(ids):
            for chunk in chunks:
                yield chunk.pk, keywords(chunk), chunk.vector

    index = store.sync(collection_id, wanted_ids, rows_for, get_embedder().name, KEYWORDS_VERSION)
    try:
        sync_crosslingual(collection_id)
    except Exception:  # the documents are searchable all the same; a Chinese question by its translation only
        log.exception("collection %s: the cross-lingual index was not synced (KB_CROSSLINGUAL_EMBEDDER=%s)",
                      collection_id, settings.KB_CROSSLINGUAL_EMBEDDER)
    return index


def chunk_batches(ids: np.ndarray):
    """The chunks of ``ids``, a database query's worth at a time (with their document and FAQ)."""
    for start in range(0, len(ids), SQLITE_MAX_PARAMS):
        part = ids[start : start + SQLITE_MAX_PARAMS].tolist()
        yield list(Chunk.objects.filter(pk__in=part).select_related("document", "faq").order_by("pk"))


def sync_crosslingual(collection_id: int) -> store.CollectionIndex | None:
    """Make the collection's cross-lingual index (``KB_CROSSLINGUAL_EMBEDDER``) hold the same
    chunks as its main index's live version, embedding the new ones; None when there is no
    such embedder. The main index is read under the cross-lingual index's lock, so two syncs
    finishing in either order leave it with the later version's chunks. It is derived from
    the chunks' text alone, so vectors of another model are dropped and the index built again
    (USE Multilingual embeds a 3,000-passage handbook in ~25 s)."""
    embedder = get_crosslingual_embedder()
    if embedder is None:
        return None

    def wanted_ids() -> np.ndarray:
        return np.asarray(store.index_cache.get(collection_id, wait=True).chunk_ids, dtype=np.int64)

    def rows_for(ids: np.ndarray):
        for chunks in chunk_batches(ids):
            for chunk, vector in zip(chunks, embedder.encode([c.indexed_text for c in chunks])):
                yield chunk.pk, [], vector  # no BM25 tokens: the main index has them

    if store.index_cache.get(collection_id, wait=True, space=store.CROSSLINGUAL).embedder not in ("", embedder.name):
        store.drop_collection(collection_id, space=store.CROSSLINGUAL)  # another model's vectors: built again
    return store.sync(collection_id, wanted_ids, rows_for, embedder.name, space=store.CROSSLINGUAL)


def bring_up_to_date(collection_id: int) -> store.CollectionIndex:
    """After an upgrade (``rebuild_index --stale``): rebuild an index whose BM25 tokens were
    made otherwise; only (re)build the cross-lingual index where that alone is missing or
    out of step, leaving the main index and its version alone."""
    if store.stale(collection_id, KEYWORDS_VERSION):
        return rebuild_collection(collection_id)
    sync_crosslingual(collection_id)
    return store.index_cache.get(collection_id, wait=True)


def crosslingual_stale(collection_id: int) -> bool:
    """Whether the collection's cross-lingual index is missing, or holds other chunks or
    another model's vectors than its main index and ``KB_CROSSLINGUAL_EMBEDDER`` say."""
    embedder = get_crosslingual_embedder()
    if embedder is None or not store.current_version(store.collection_dir(collection_id)):
        return False
    main = store.index_cache.get(collection_id, wait=True)
    if not len(main):  # nothing to embed: an empty index has no version to write
        return False
    second = store.index_cache.get(collection_id, wait=True, space=store.CROSSLINGUAL)
    return second.embedder != embedder.name or not np.array_equal(np.sort(second.chunk_ids), np.sort(main.chunk_ids))


# How ``keywords`` makes a chunk's BM25 tokens, numbered: raise it whenever they change, and
# ``./kb start`` rebuilds the indexes made before (``manage.py rebuild_index --stale``; their
# vectors are kept). 1: an FAQ entry's tokens as any text's; 2: without the asking words.
# (A document's own keywords need no new number: it has some only once ingested again, and
# that re-indexes its passages.)
KEYWORDS_VERSION = 2


def stale_collections(collection_ids) -> list[int]:
    """The collections whose index was made with other BM25 tokens than ``keywords`` makes now,
    or whose cross-lingual index is missing or out of step (after an upgrade)."""
    return [cid for cid in collection_ids if store.stale(cid, KEYWORDS_VERSION) or crosslingual_stale(cid)]


def keywords(chunk: Chunk) -> list[str]:
    """What BM25 indexes for a chunk: the tokens of its indexed text, for an FAQ entry without
    the words that only say how a question asks (how, many, can, do, I, get …). An FAQ
    question is written the way employees ask, so it shares those words with every question,
    while a document hardly ever holds them; in a small knowledge base they are rare words that
    weigh a lot, and "How many days a week can I work from home?" found the FAQ entries "How
    many … days … do I get?" before the work-models table that answers it (starter knowledge
    base). The entry is still found by what it is about. A document's passage also gets the
    document's ``keywords`` (the front matter's words its text never uses): for BM25 only,
    not the embedding. Measured on the 18F set's 317 answerable questions (session 18,
    bench/rerank.py, fused order): right page shown 286 either way, fact chunk first 212 →
    211; with the keywords in the embedded text as well (every front matter keyword),
    286 → 285 and 212 → 204, so they are not embedded."""
    tokens = tokenize(chunk.indexed_text)
    if chunk.faq_id:
        return without_asking_words(tokens)
    # and the words its document says it is about but never uses ("letter" for "Welcome to TTS")
    return tokens + tokenize(chunk.document.keywords) if chunk.document_id and chunk.document.keywords else tokens


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
