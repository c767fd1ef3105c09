"""Ingestion as plain functions: parse -> chunk -> embed -> store chunks -> sync the index.

The index sync is shared by a burst of documents (``indexing.sync_if_due``): a document
whose chunks are stored stays "processing" at the stage "indexing" until the sync that
indexes them marks it ready, so "ready" means searchable.

The Celery tasks in ``tasks.py`` only call these, so the pipeline can be run and tested
without a worker. A document that cannot be ingested ends as ``failed`` with a readable
reason; the exception never escapes to take the worker (or the other documents) down. A
document with nothing to index (a redirect stub, blank pages) ends as ``skipped``, with the
reason. While it works, the document's ``stage`` says what it is doing (parsing, OCR of a
page, embedding, indexing).
"""

from __future__ import annotations

import logging
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from kbassist.guardrails.documents import too_large
from kbassist.knowledge.models import FAQ, Chunk, Document
from kbassist.observability.metrics import IngestTimer
from kbassist.retrieval.embedder import get_embedder
from kbassist.retrieval.store import EmbedderMismatch
from kbassist.retrieval.tokenize import tokenize

from .chunking import chunk_blocks
from .heartbeat import beating
from .indexing import AWAITING_INDEX, sync_collection, sync_if_due
from .parsers import NothingToIndex, ParseError, parse, without_paths
from .watchdog import stale_before

log = logging.getLogger(__name__)
Status = Document.Status


def ingest_document(document_id: int) -> Document | None:
    try:
        document = Document.objects.select_related("collection").get(pk=document_id)
    except Document.DoesNotExist:
        log.info("document %s was deleted before it could be ingested", document_id)
        return None
    if not claim(document):
        log.info("document %s is not waiting to be ingested (%s): nothing to do", document_id, document.status)
        return None
    with beating(document.pk):
        _ingest_or_fail(document)
    return document


def claim(document: Document) -> bool:
    """Take ``document`` for this worker: only a queued one, or one whose worker stopped
    beating (``watchdog``). A second delivery of the same task (a broker redelivering what a
    killed worker had taken, beside the watchdog's) finds it taken or done, and does nothing."""
    now = timezone.now()
    waiting = Q(status=Status.QUEUED) | Q(status=Status.PROCESSING, heartbeat_at__lt=stale_before(now), attempts__lt=settings.KB_INGEST_MAX_ATTEMPTS)
    taken = Document.objects.filter(waiting, pk=document.pk).update(
        status=Status.PROCESSING, progress=1, error="", stage="parsing", attempts=F("attempts") + 1,
        heartbeat_at=now, updated_at=now,
    )
    document.refresh_from_db()
    return bool(taken)


def _ingest_or_fail(document: Document):
    document_id = document.pk
    timer = IngestTimer()
    try:
        _ingest(document, timer)
    except NothingToIndex as exc:
        if Chunk.objects.filter(document=document).delete()[0]:  # a new version of the file may say nothing
            sync_collection(document.collection_id)
        document.set_progress(Status.SKIPPED, 100, error=str(exc), stage="", chunk_count=0)
    except (ParseError, EmbedderMismatch) as exc:
        document.set_progress(Status.FAILED, 0, error=str(exc), stage="")
    except Exception as exc:  # the worker must carry on whatever one file does
        log.exception("ingesting document %s failed", document_id)
        message = f"Unexpected error: {exc.__class__.__name__}: {exc}"
        if document.file.name:  # never where the server stores the file
            message = without_paths(message.replace(document.file.name, document.original_name),
                                    Path(document.file.path), document.original_name)
        document.set_progress(Status.FAILED, 0, error=message, stage="")
    timer.stage("index")
    synced = True
    try:
        # Whatever became of this document, it may be the last of a burst: it then syncs the
        # index for the documents waiting for it (its own chunks included, if it stored any).
        synced = sync_if_due(document.collection_id) is not None
    except EmbedderMismatch:
        pass  # the documents waiting failed with the reason (indexing.sync_collection)
    except Exception:  # they stay waiting: the next document, or the watchdog, syncs again
        log.exception("syncing the index of collection %s failed", document.collection_id)
    if not synced:
        timer.drop()  # no sync ran here (another document's will index this one): nothing to time
    try:
        document.refresh_from_db(fields=["status", "progress", "stage", "error", "ingested_at"])
    except Document.DoesNotExist:
        pass  # deleted meanwhile
    timer.finished(document.status)


def new_words(parsed) -> str:
    """The keywords of ``parsed`` (its front matter's) that neither its title nor its text
    uses, comma-separated: a word the page already uses adds nothing to find it by."""
    if not parsed.keywords:
        return ""
    used = set(tokenize(" ".join([parsed.title, *(block.text for block in parsed.blocks)])))
    return ", ".join(word for word in parsed.keywords.split(", ") if not set(tokenize(word)) <= used)


def _ingest(document: Document, timer: IngestTimer):
    path = Path(document.file.path)
    timer.stage("parse")
    parsed = parse(path, document.original_name or path.name, progress=lambda stage: document.set_progress(stage=stage[:100]))
    if reason := too_large(pages=parsed.page_count, chars=sum(len(block.text) for block in parsed.blocks)):
        raise ParseError(reason)  # KB_MAX_DOCUMENT_PAGES / KB_MAX_DOCUMENT_CHARS
    document.set_progress(progress=10, page_count=parsed.page_count, stage="chunking")
    if not document.title:
        document.set_progress(title=(parsed.title or _title_from_name(document.original_name))[:300])
    if (words := new_words(parsed)) != document.keywords:
        document.set_progress(keywords=words[:500])

    timer.stage("chunk")
    drafts = chunk_blocks(parsed.blocks, settings.KB_CHUNK_SIZE, settings.KB_CHUNK_OVERLAP)
    document.set_progress(progress=20)

    chunks = [
        Chunk(collection_id=document.collection_id, document=document, position=d.position, text=d.text,
              heading=d.heading[:500], page=d.page)
        for d in drafts
    ]
    timer.stage("embed")
    embedder = get_embedder()
    texts = [chunk.indexed_text for chunk in chunks]
    batch = max(1, settings.KB_EMBED_BATCH_SIZE) * 4
    for start in range(0, len(texts), batch):
        document.set_progress(stage=f"embedding, chunk {start + 1} of {len(texts)}")
        vectors = embedder.encode(texts[start : start + batch])
        for chunk, vector in zip(chunks[start : start + batch], vectors):
            chunk.embedding = vector.tobytes()
        document.set_progress(progress=20 + int(70 * min(len(texts), start + batch) / max(1, len(texts))))

    timer.stage("store")
    with transaction.atomic():
        if not Document.objects.filter(pk=document.pk).exists():
            return  # deleted while we worked: store nothing
        Chunk.objects.filter(document=document).delete()
        Chunk.objects.bulk_create(chunks, batch_size=500)
    # Stored: the document waits for an index sync, which marks it ready (``_ingest_or_fail``).
    document.set_progress(progress=95, chunk_count=len(drafts), stage=AWAITING_INDEX)


def _title_from_name(name: str) -> str:
    return Path(name).stem.replace("_", " ").replace("-", " ").strip()


def ingest_faqs(faq_ids: list[int]):
    """(Re)build the chunk of each FAQ entry (one chunk each) and sync their collections."""
    faqs = list(FAQ.objects.filter(pk__in=faq_ids))
    if not faqs:
        return
    chunks = [Chunk(collection_id=faq.collection_id, faq=faq, text=faq.chunk_text) for faq in faqs]
    for chunk, vector in zip(chunks, get_embedder().encode([chunk.indexed_text for chunk in chunks])):
        chunk.embedding = vector.tobytes()
    with transaction.atomic():
        Chunk.objects.filter(faq__in=faqs).delete()
        Chunk.objects.bulk_create(chunks)
    for collection_id in sorted({faq.collection_id for faq in faqs}):
        sync_collection(collection_id)
