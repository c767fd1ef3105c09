"""Passing a stream of answer events on while watching it: each event is shown to a callback
before it is yielded, the stream's return value (an answer's ``Outcome``) comes back through
``yield from``, and the stream is closed when the consumer stops early."""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator


def relay(events: Iterator[dict], see: Callable[[dict], None]) -> Generator[dict, None, object]:
    try:
        while True:
            try:
                event = next(events)
            except StopIteration as end:
                return end.value
            see(event)
            yield event
    finally:
        events.close()
