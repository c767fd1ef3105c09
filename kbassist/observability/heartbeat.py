"""The Celery worker's heartbeat: is any worker running, so that queued documents get done?

Each worker process starts a thread when it is ready to take tasks (Celery's ``worker_ready``
signal) that writes the time into its ``WorkerHeartbeat`` row every
``KB_WORKER_HEARTBEAT_SECONDS``; a clean shutdown marks the row stopped. ``worker_status()``
says whether a worker was seen within ``KB_WORKER_STALE_SECONDS``: the admin shows its
message next to queued documents when not, and ``/readyz`` reports it. The database is what
web and worker processes share on every profile (SQLite file or PostgreSQL), so it holds
the heartbeat (the cache may be one process's memory).
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop, ngettext

from .models import WorkerHeartbeat

log = logging.getLogger(__name__)

NEVER = gettext_noop("No worker has run yet: queued documents wait until one starts (`./kb start` starts one).")
STOPPED = gettext_noop("No worker is running: queued documents wait until one starts (`./kb start` starts one).")


def beat(worker: str, started_at: datetime | None = None, now: datetime | None = None) -> WorkerHeartbeat:
    """Record that ``worker`` is alive now."""
    now = now or timezone.now()
    row, _ = WorkerHeartbeat.objects.update_or_create(
        worker=worker[:200], defaults={"seen_at": now, "stopped_at": None},
        create_defaults={"seen_at": now, "started_at": started_at or now},
    )
    return row


def stopped(worker: str, now: datetime | None = None):
    """Record that ``worker`` shut down cleanly."""
    WorkerHeartbeat.objects.filter(worker=worker[:200]).update(stopped_at=now or timezone.now())


@dataclass
class WorkerStatus:
    alive: bool
    workers: int  # worker processes seen within the stale limit
    last_seen: datetime | None
    age_s: float | None  # seconds since the last heartbeat of any worker

    @property
    def message(self) -> str:
        if self.alive:
            return ngettext("%(n)d worker running (last heartbeat %(age)d s ago).",
                            "%(n)d workers running (last heartbeat %(age)d s ago).", self.workers) % {
                "n": self.workers, "age": self.age_s}
        if self.last_seen is None:
            return gettext(NEVER)
        if self.age_s < settings.KB_WORKER_STALE_SECONDS:  # seen lately, but it stopped
            return gettext(STOPPED)
        minutes = max(1, int(self.age_s // 60))
        return ngettext(
            "No worker has run for %(n)d minute: queued documents wait until one starts (`./kb start` starts one).",
            "No worker has run for %(n)d minutes: queued documents wait until one starts (`./kb start` starts one).",
            minutes) % {"n": minutes}


def worker_status(now: datetime | None = None) -> WorkerStatus:
    """Whether a worker process has beaten within ``KB_WORKER_STALE_SECONDS`` and not stopped."""
    now = now or timezone.now()
    since = now - timedelta(seconds=settings.KB_WORKER_STALE_SECONDS)
    live = WorkerHeartbeat.objects.filter(seen_at__gte=since, stopped_at__isnull=True).count()
    last = WorkerHeartbeat.objects.order_by("-seen_at").values_list("seen_at", flat=True).first()
    age = (now - last).total_seconds() if last is not None else None
    return WorkerStatus(alive=live > 0, workers=live, last_seen=last, age_s=age)


class HeartbeatThread(threading.Thread):
    """Beats for ``worker`` every ``interval`` seconds until ``stop()``."""

    def __init__(self, worker: str, interval: float):
        super().__init__(name="kbassist-heartbeat", daemon=True)
        self.worker, self.interval = worker, interval
        self.started_at = timezone.now()
        self._stop_event = threading.Event()

    def run(self):
        while True:
            try:
                beat(self.worker, self.started_at)
            except Exception:  # the database may be away for a moment: try again next time
                log.exception("could not write the worker heartbeat")
            finally:
                connection.close()  # this thread's connection: a fresh one next time
            if self._stop_event.wait(self.interval):
                return

    def stop(self):
        self._stop_event.set()
        self.join(timeout=5)
        try:
            stopped(self.worker)
        finally:
            connection.close()


_thread: HeartbeatThread | None = None


def _on_worker_ready(sender=None, **kwargs):
    global _thread
    if _thread is None and settings.KB_WORKER_HEARTBEAT_SECONDS > 0:
        name = f"{getattr(sender, 'hostname', None) or 'celery'} pid {os.getpid()}"
        _thread = HeartbeatThread(name, settings.KB_WORKER_HEARTBEAT_SECONDS)
        _thread.start()


def _on_worker_shutdown(sender=None, **kwargs):
    global _thread
    if _thread is not None:
        _thread.stop()
        _thread = None


def connect_worker_signals():
    """Beat from every Celery worker process of this project (called by the app's ``ready``)."""
    from celery import signals

    signals.worker_ready.connect(_on_worker_ready, weak=False, dispatch_uid="kbassist-heartbeat-start")
    signals.worker_shutdown.connect(_on_worker_shutdown, weak=False, dispatch_uid="kbassist-heartbeat-stop")
