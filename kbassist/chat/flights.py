"""Identical questions in flight are answered once.

After a company-wide announcement many colleagues ask the same thing at the same moment. A
first question (no conversation history) over the same collections at the same index
versions has one answer-cache key (``policy.cache_key``); while one such question is being
answered (the *leader*), another asker of it (a *follower*) takes no place of its own in the
generation line: it is shown the leader's events as they come (its place in line, sources,
evidence, the answer's words) and gets the leader's finished answer as its own, saved in its
own conversation. Once the leader is done, the answer cache serves later askers.

A follower whose leader ends without a complete answer (stopped by its asker, failed, turned
away, its socket gone) answers its question itself. Flights are per process: two web
processes may each answer the same question once (README, "Serving many users").
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import replace

from .relay import relay
from .turn import Outcome

POLL_SECONDS = 0.5  # how often a waiting follower checks whether its asker stopped


class Flight:
    """One question being answered: the events shown so far, then the outcome."""

    def __init__(self, key: str):
        self.key = key
        self.events: list[dict] = []
        self.outcome: Outcome | None = None  # a complete answer to share, once landed
        self.found = None  # the leader's retrieval (``turn.Found``), for the followers' audit trail
        self.landed = False
        self.followers = 0
        self._cond = threading.Condition()

    def record(self, events: Iterator[dict]):
        """Pass the leader's ``events`` through, keeping each for the followers; returns
        what ``events`` returns."""
        def keep(event: dict):
            with self._cond:
                self.events.append(event)
                self._cond.notify_all()

        return (yield from relay(events, keep))

    def follow(self, should_stop: Callable[[], bool]):
        """Yield the leader's events, those so far and then each as it comes, until the
        leader lands. Returns a copy of its outcome when it is a complete answer to share;
        None when the leader ended without one; ``STOPPED`` when the follower's own asker
        stopped waiting."""
        seen = 0
        while True:
            with self._cond:
                self._cond.wait_for(lambda: len(self.events) > seen or self.landed, POLL_SECONDS)
                new, landed, outcome = self.events[seen:], self.landed, self.outcome
            seen += len(new)
            yield from new
            if landed and seen == len(self.events):
                if outcome is None:
                    return None
                return replace(outcome, citations=[dict(c) for c in outcome.citations], extra=dict(outcome.extra),
                               shown=list(outcome.shown), guard=dict(outcome.guard))
            if should_stop():
                return STOPPED

    def _land(self, outcome: Outcome | None):
        with self._cond:
            self.outcome = outcome
            self.landed = True
            self._cond.notify_all()


STOPPED = object()  # ``Flight.follow``: the follower's asker stopped waiting

_flights: dict[str, Flight] = {}
_lock = threading.Lock()


def board(key: str) -> tuple[Flight, bool]:
    """The flight answering ``key`` and whether this asker leads it (True: nobody was
    answering it, so this asker answers; False: follow the one that is)."""
    with _lock:
        flight = _flights.get(key)
        if flight is not None:
            flight.followers += 1
            return flight, False
        flight = _flights[key] = Flight(key)
        return flight, True


def land(flight: Flight, outcome: Outcome | None, shareable: bool):
    """The leader is done: its followers get ``outcome`` if ``shareable``, else answer themselves.
    New askers of the key no longer join this flight (the answer cache serves them)."""
    with _lock:
        if _flights.get(flight.key) is flight:
            del _flights[flight.key]
    flight._land(outcome if shareable else None)


def in_flight() -> int:
    """Questions being answered for followers right now (for tests and metrics)."""
    with _lock:
        return len(_flights)
