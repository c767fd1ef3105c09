"""First come, first served access to the one generation slot of this process.

One llama.cpp context serves one generation at a time. Callers take a ticket; the ticket
says its place in the line until its turn comes, so the chat can tell a waiting user where
they stand. Leaving the line (a user who stops or disconnects) never blocks the others.
"""

from __future__ import annotations

import threading
from collections import deque


class GenerationLine:
    """The line of answers waiting for this process's one generation slot."""

    def __init__(self):
        self._cond = threading.Condition()
        self._waiting: deque[Ticket] = deque()
        self._running = 0

    def join(self) -> Ticket:
        ticket = Ticket(self)
        with self._cond:
            self._waiting.append(ticket)
            self._promote()
        return ticket

    def _promote(self):
        while self._waiting and not self._running:
            ticket = self._waiting.popleft()
            ticket.running = True
            self._running += 1
        self._cond.notify_all()

    def _leave(self, ticket: Ticket):
        with self._cond:
            if ticket.running:
                ticket.running = False
                self._running -= 1
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


class Ticket:
    def __init__(self, line: GenerationLine):
        self.line = line
        self.running = False
        self.left = False

    def wait(self, timeout: float | None = None) -> bool:
        """Wait up to ``timeout`` seconds for this ticket's turn; True once it has come."""
        with self.line._cond:
            return self.line._cond.wait_for(lambda: self.running, timeout)

    @property
    def position(self) -> int:
        return self.line.position(self)

    def release(self):
        self.line._leave(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.release()


generation_line = GenerationLine()
