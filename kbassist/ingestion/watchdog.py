"""The watchdog: no document stays "processing" after its worker died.

A document being ingested has a heartbeat (``heartbeat.py``). ``requeue_stalled`` (run every
KB_WATCHDOG_SECONDS by the worker's beat) finds
"processing" documents whose heartbeat is older than KB_INGEST_STALE_SECONDS: each is queued
again and its task sent again, or, once KB_INGEST_MAX_ATTEMPTS ingestions have started and
died, marked failed with a reason an admin can read. Brokers that redeliver an unacknowledged
task (Redis, with ``acks_late``) may deliver it as well; ``pipeline.claim`` lets one of the
two through, and ingestion replaces a document's chunks as a whole, so a second run is harmless.
A stalled document that was only waiting for an index sync (its chunks stored, see
``indexing``) is not read again: its collection's index is synced, which makes it ready.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_noop

from kbassist.knowledge.models import Document

log = logging.getLogger(__name__)
Status = Document.Status

GAVE_UP = gettext_noop(
    "The worker stopped %(attempts)s times while reading this document (last at: %(stage)s), so it was given up "
    "(KB_INGEST_MAX_ATTEMPTS). Check the worker's log and memory, then upload the file again."
)

AGAIN = gettext_noop("queued again: the worker stopped (attempt %(attempts)s of %(max)s)")


@dataclass
class Report:
    requeued: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    indexed: list[int] = field(default_factory=list)  # left waiting for an index sync: synced


def stale_before(now=None):
    return (now or timezone.now()) - timedelta(seconds=settings.KB_INGEST_STALE_SECONDS)


def stalled(now=None):
    """Documents marked "processing" whose worker has not been heard of for too long."""
    limit = stale_before(now)
    return Document.objects.filter(status=Status.PROCESSING).filter(
        Q(heartbeat_at__lt=limit) | Q(heartbeat_at__isnull=True, updated_at__lt=limit)
    )


def requeue_stalled(now=None, send=None) -> Report:
    """Queue each stalled document again (``send(pk)`` hands it to a worker), or fail it
    after KB_INGEST_MAX_ATTEMPTS. Each document is taken with a conditional update, so two
    watchdogs at once never queue one document twice."""
    from .tasks import ingest_document_task

    from .indexing import AWAITING_INDEX, sync_collection

    send = send or ingest_document_task.delay
    report = Report()
    waiting = stalled(now).filter(stage=AWAITING_INDEX)
    for collection_id in sorted(set(waiting.values_list("collection_id", flat=True))):
        ids = list(waiting.filter(collection_id=collection_id).values_list("pk", flat=True))
        try:
            sync_collection(collection_id)
        except Exception:  # e.g. another embedder's index: those documents failed with the reason
            log.exception("syncing the index of collection %s for its waiting documents failed", collection_id)
        log.warning("documents %s were left waiting for the index of collection %s: synced", ids, collection_id)
        report.indexed.extend(ids)
    for document in stalled(now).only("pk", "heartbeat_at", "attempts", "stage"):
        same = Document.objects.filter(pk=document.pk, status=Status.PROCESSING, heartbeat_at=document.heartbeat_at)
        if document.attempts >= settings.KB_INGEST_MAX_ATTEMPTS:
            reason = GAVE_UP % {"attempts": document.attempts, "stage": document.stage or "starting"}
            if same.update(status=Status.FAILED, progress=0, stage="", error=reason, updated_at=timezone.now()):
                log.warning("document %s failed: its worker died %s times", document.pk, document.attempts)
                report.failed.append(document.pk)
            continue
        with transaction.atomic():
            stage = AGAIN % {"attempts": document.attempts, "max": settings.KB_INGEST_MAX_ATTEMPTS}
            if not same.update(status=Status.QUEUED, progress=0, stage=stage[:100], updated_at=timezone.now()):
                continue  # taken meanwhile (a worker's beat, or another watchdog)
            pk = document.pk
            transaction.on_commit(lambda: send(pk))
        log.warning("document %s: its worker stopped (attempt %s); queued again", document.pk, document.attempts)
        report.requeued.append(document.pk)
    return report
