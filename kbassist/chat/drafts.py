"""An answer is saved while it streams, so that a process killed mid-answer loses nothing.

``Draft`` creates the answer message (status "streaming") at the first token and saves its
text again at most every KB_STREAM_SAVE_SECONDS (one UPDATE of one row); ``answering._finish``
turns it into the finished answer. If the process dies first, the message stays "streaming"
with the text it had; ``interrupt_orphaned`` marks such a message "interrupted":

- one written by a process of this machine that no longer runs (checked when a web process
  starts, ``kbassist/asgi.py``, and by the worker's watchdog every KB_WATCHDOG_SECONDS);
- one not saved for KB_STREAM_STALE_SECONDS, whatever machine wrote it (by the watchdog).
"""

from __future__ import annotations

import logging
import os
import socket
import time
from datetime import timedelta
from functools import cache

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from kbassist.guardrails.words import current_matcher

from .models import Conversation, Message

log = logging.getLogger(__name__)
Status = Message.Status


def _start_time(pid: int) -> str | None:
    """When process ``pid`` started (clock ticks since boot, /proc/<pid>/stat), or None if
    there is no such process. With the pid, it names one process: pids are reused, start times not."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[19]  # field 22; the name in () may hold spaces
    except (OSError, IndexError):
        return None


@cache
def this_process() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{_start_time(os.getpid()) or 0}"


def process_gone(identity: str) -> bool:
    """True when ``identity`` (``this_process()`` of some process) names a process of this
    machine that no longer runs. A process of another machine is never known to be gone."""
    host, _, rest = identity.partition(":")
    pid, _, started = rest.partition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    return _start_time(int(pid)) != started


class Draft:
    """The answer message of one turn while its text streams."""

    def __init__(self, conversation: Conversation, kind: str = Message.Kind.GENERATED):
        self.conversation, self.kind = conversation, kind
        self.message: Message | None = None
        self._saved = 0.0

    def update(self, pieces: list[str]):
        """Save the text so far: at the first piece, then at most every KB_STREAM_SAVE_SECONDS."""
        now = time.monotonic()
        if self.message is not None and now - self._saved < settings.KB_STREAM_SAVE_SECONDS:
            return
        self._saved = now
        text = "".join(pieces)
        if current_matcher().find(text, final=True):
            return  # never store what the answer screen withholds: the last clean text stays
        if self.message is None:
            self.message = Message.objects.create(
                conversation=self.conversation, role=Message.Role.ASSISTANT, kind=self.kind, status=Status.STREAMING,
                content=text, streamed_by=this_process(), saved_at=timezone.now(),
            )
        else:
            Message.objects.filter(pk=self.message.pk, status=Status.STREAMING).update(content=text, saved_at=timezone.now())

    def interrupt(self):
        """The answer will not be finished (it failed): keep the text saved, marked interrupted."""
        if self.message is not None:
            Message.objects.filter(pk=self.message.pk, status=Status.STREAMING).update(status=Status.INTERRUPTED)


def save_answer(draft: Draft | None, **fields) -> Message:
    """The finished answer: the draft's message, completed, or a new message."""
    if draft is None or draft.message is None:
        return Message.objects.create(**fields)
    message = draft.message
    for name, value in fields.items():
        setattr(message, name, value)
    message.streamed_by, message.saved_at = "", None
    message.save()
    return message


def interrupt_orphaned(now=None) -> int:
    """Mark "interrupted" every answer left "streaming" by a process that is gone (or not
    heard of for KB_STREAM_STALE_SECONDS); returns how many. Their text stays as it was saved."""
    now = now or timezone.now()
    stale = Q(saved_at__lt=now - timedelta(seconds=settings.KB_STREAM_STALE_SECONDS)) | Q(saved_at__isnull=True)
    streaming = Message.objects.filter(status=Status.STREAMING)
    orphans = set(streaming.filter(stale).values_list("pk", flat=True))
    for pk, identity in streaming.exclude(pk__in=orphans).values_list("pk", "streamed_by"):
        if process_gone(identity):
            orphans.add(pk)
    if not orphans:
        return 0
    count = Message.objects.filter(pk__in=orphans, status=Status.STREAMING).update(status=Status.INTERRUPTED)
    log.warning("%s answer(s) left streaming by a stopped process marked interrupted", count)
    return count


def interrupt_orphaned_at_start():
    """At a web process's start: the answers its predecessors left streaming. Never stops the
    start (a database not yet migrated, or not reachable, is the next step's problem)."""
    try:
        interrupt_orphaned()
    except Exception as exc:  # noqa: BLE001 - whatever it is, serving goes first
        log.warning("answers left streaming were not checked: %s", exc)
