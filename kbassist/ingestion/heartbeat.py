"""A document's heartbeat while a worker ingests it.

``beating(document_id)`` runs a thread that writes ``Document.heartbeat_at`` every
KB_INGEST_HEARTBEAT_SECONDS for as long as the block runs, whatever the pipeline is doing
(a long parse or embedding batch writes no progress for a while). When the worker process
dies (SIGKILL, out of memory, a lost machine) the beat stops with it, and the watchdog
(``watchdog.py``) sees the document's heartbeat go stale.
"""

from __future__ import annotations

import logging
import threading
from contextlib import contextmanager

from django.conf import settings
from django.db import DatabaseError, connection
from django.utils import timezone

from kbassist.knowledge.models import Document

log = logging.getLogger(__name__)


def beat(document_id: int) -> bool:
    """Write one heartbeat; False when the document is no longer being processed."""
    return bool(Document.objects.filter(pk=document_id, status=Document.Status.PROCESSING).update(heartbeat_at=timezone.now()))


@contextmanager
def beating(document_id: int, interval: float | None = None):
    interval = settings.KB_INGEST_HEARTBEAT_SECONDS if interval is None else interval
    stopped = threading.Event()

    def run():
        try:
            while not stopped.wait(interval):
                try:
                    beat(document_id)
                except DatabaseError as exc:  # e.g. SQLite busy while the pipeline writes chunks: beat again soon
                    log.debug("heartbeat of document %s not written: %s", document_id, exc)
        finally:
            connection.close()  # this thread's own connection

    thread = threading.Thread(target=run, name=f"kbassist-heartbeat-{document_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stopped.set()
        thread.join(timeout=30)
