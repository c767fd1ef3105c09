"""First come, first served access to the generation slots of this process.

One llama.cpp context serves one generation at a time; llama.cpp's server with N parallel
slots (KB_LLM_PARALLEL) serves N at once. Callers take a ticket; the ticket says its place in
the line until a slot is free, so the chat can tell a waiting user where they stand. Leaving
the line (a user who stops or disconnects) never blocks the others.

The line is bounded: ``join(max_waiting=N)`` refuses at once, with ``LineFull``, when N
tickets are already waiting, and says how long the wait would be, estimated from how long
the last turns held the slot (``expected_wait``); ``join(max_wait=S)`` refuses when that
estimate is beyond S seconds. A waiting ticket's own estimate (``Ticket.expected_wait``)
shrinks as the line moves, so a waiting user can be told how long is left.
"""

from __future__ import annotations

import math
import statistics
import threading
import time
from collections import deque

from django.conf import settings

DEFAULT_TURN_SECONDS = 20.0  # the estimate of one turn before any has been measured
RECENT_TURNS = 20  # how many recent turns the estimate is taken from


class LineFull(Exception):
    """Too many answers are waiting already; ``retry_after`` is the expected wait in seconds."""

    def __init__(self, waiting: int, retry_after: int):
        super().__init__(f"{waiting} answers are waiting for the model; about {retry_after} s until there is room")
        self.waiting = waiting
        self.retry_after = retry_after


class GenerationLine:
    """The line of answers waiting for this process's generation slots: ``slots`` of them
    (default: KB_LLM_PARALLEL, read each time a slot is handed out)."""

    def __init__(self, slots: int | None = None):
        self._cond = threading.Condition()
        self._slots = slots
        self._waiting: deque[Ticket] = deque()
        self._running: list[Ticket] = []
        self._turns: deque[float] = deque(maxlen=RECENT_TURNS)  # seconds each recent turn held a slot

    @property
    def slots(self) -> int:
        return max(1, self._slots if self._slots is not None else settings.KB_LLM_PARALLEL)

    def join(self, max_waiting: int | None = None, max_wait: float | None = None) -> Ticket:
        """A ticket in the line; ``LineFull`` if ``max_waiting`` tickets are waiting already,
        or if the expected wait is beyond ``max_wait`` seconds (None or 0: no such bound)."""
        ticket = Ticket(self)
        with self._cond:
            if len(self._running) >= self.slots:
                expected = self._expected_wait()
                if (max_waiting is not None and len(self._waiting) >= max_waiting) or (max_wait and expected > max_wait):
                    raise LineFull(len(self._waiting), expected)
            self._waiting.append(ticket)
            self._promote()
        return ticket

    def _promote(self):
        slots = self.slots
        while self._waiting and len(self._running) < slots:
            ticket = self._waiting.popleft()
            ticket.running = True
            ticket.started = time.monotonic()
            self._running.append(ticket)
        self._cond.notify_all()

    def _leave(self, ticket: Ticket):
        with self._cond:
            if ticket.running:
                ticket.running = False
                self._running.remove(ticket)
                self._turns.append(time.monotonic() - ticket.started)
            elif ticket in self._waiting:
                self._waiting.remove(ticket)
            ticket.left = True
            self._promote()

    def position(self, ticket: Ticket) -> int:
        """0 while running; otherwise 1 for the next in line, 2 for the one after, ..."""
        with self._cond:
            if ticket.running or ticket.left:
                return 0
            return self._waiting.index(ticket) + 1

    @property
    def waiting(self) -> int:
        with self._cond:
            return len(self._waiting)

    @property
    def running(self) -> int:
        with self._cond:
            return len(self._running)

    def turn_seconds(self) -> float:
        """How long a turn holds a slot: the median of the recent turns."""
        with self._cond:
            return statistics.median(self._turns) if self._turns else DEFAULT_TURN_SECONDS

    def expected_wait(self) -> int:
        """Seconds until a new ticket would get its turn: the rest of the running turn that
        ends first, then one turn for each round of ``slots`` tickets waiting ahead of it."""
        with self._cond:
            return self._expected_wait()

    def _expected_wait(self, ahead: int | None = None) -> int:
        """Seconds until a ticket with ``ahead`` tickets waiting before it (default: all of
        them, a newcomer) gets its turn."""
        turn = statistics.median(self._turns) if self._turns else DEFAULT_TURN_SECONDS
        slots = self.slots
        if len(self._running) < slots:
            return 1
        ahead = len(self._waiting) if ahead is None else ahead
        now = time.monotonic()
        rest = min(max(turn - (now - t.started), turn * 0.1) for t in self._running)
        return max(1, math.ceil(rest + (ahead // slots) * turn))

    def wait_of(self, ticket: Ticket) -> int:
        """Seconds until ``ticket`` is expected to get its turn (0 once it has)."""
        with self._cond:
            if ticket.running or ticket.left:
                return 0
            return self._expected_wait(self._waiting.index(ticket))


class Ticket:
    def __init__(self, line: GenerationLine):
        self.line = line
        self.running = False
        self.left = False
        self.started = 0.0

    def wait(self, timeout: float | None = None) -> bool:
        """Wait up to ``timeout`` seconds for this ticket's turn; True once it has come."""
        with self.line._cond:
            return self.line._cond.wait_for(lambda: self.running, timeout)

    @property
    def position(self) -> int:
        return self.line.position(self)

    def expected_wait(self) -> int:
        """Seconds until this ticket's turn, as the line stands now (0 once it has come)."""
        return self.line.wait_of(self)

    def release(self):
        self.line._leave(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.release()


generation_line = GenerationLine()
