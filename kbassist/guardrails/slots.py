"""At most one answer waiting or streaming per user, across all their tabs and processes.

The slot is an entry in the shared cache, taken with ``cache.add`` (atomic in Redis and in
the database cache) and given back when the answer ends. An entry left behind by a process
that died expires after ``SLOT_SECONDS``; a live answer keeps its entry fresh
(``AnswerSlot.keep_alive``, called between tokens and while waiting in line).
"""

from __future__ import annotations

import logging
import time
import uuid

from django.core.cache import cache
from django.utils.translation import gettext, gettext_noop

from .record import record_guard

log = logging.getLogger(__name__)

SLOT_SECONDS = 120  # how long a slot outlives its last sign of life
REFRESH_SECONDS = 20
IN_PROGRESS = gettext_noop(
    "You already have an answer on its way (perhaps in another tab). Wait for it to finish, or stop it, then ask again."
)


class AnswerInProgress(Exception):
    """The user already has an answer waiting or streaming; the message is for them."""

    code = "answer_in_progress"

    def __init__(self):
        super().__init__(gettext(IN_PROGRESS))
        self.message = str(self)

    def event(self) -> dict:
        return {"type": "error", "code": self.code, "message": self.message}


class AnswerSlot:
    """The user's one answer slot, held from ``acquire()`` until ``release()`` (or ``with``)."""

    def __init__(self, user):
        self.key = f"guardrails:answer-slot:{user.pk}"
        self.user = user
        self.token = uuid.uuid4().hex
        self.held = False
        self._refreshed = 0.0

    def acquire(self) -> "AnswerSlot":
        try:
            taken = cache.add(self.key, self.token, SLOT_SECONDS)
        except Exception:  # the cache is down: answer anyway (the per-socket guard still holds)
            log.exception("the answer slot of %s could not be taken", self.user)
            return self
        if not taken:
            record_guard("answer_in_progress", user=self.user)
            raise AnswerInProgress()
        self.held, self._refreshed = True, time.monotonic()
        return self

    def keep_alive(self) -> None:
        """Push the slot's expiry back (at most every REFRESH_SECONDS)."""
        if self.held and time.monotonic() - self._refreshed >= REFRESH_SECONDS:
            self._refreshed = time.monotonic()
            try:
                cache.touch(self.key, SLOT_SECONDS)
            except Exception:
                log.exception("the answer slot of %s could not be refreshed", self.user)

    def release(self) -> None:
        if not self.held:
            return
        self.held = False
        try:
            if cache.get(self.key) == self.token:  # not a slot taken by another answer after ours expired
                cache.delete(self.key)
        except Exception:
            log.exception("the answer slot of %s could not be given back", self.user)

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()


def answer_slot(user) -> AnswerSlot:
    """``with answer_slot(user) as slot:``: raises ``AnswerInProgress`` if the user already
    has an answer waiting or streaming."""
    return AnswerSlot(user)
