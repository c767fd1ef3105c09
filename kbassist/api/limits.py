"""Rate limits for requests that come in through the API (keys and chat bots).

THE ONE PLACE a rate limiter is called for the API: ``access.admit`` calls
``check_rate_limit`` once for every authenticated request (REST, OpenAI-compatible and
chat-bot callbacks), after the caller is known and before any work is done.

No limiter is built here yet: the browser's limiter is being written separately, and the API
is to share it. To plug it in, call it from ``check_rate_limit`` and raise ``RateLimited``
when a request is over its limit; every door then answers 429 with a ``Retry-After`` header
in its own error format (JSON for REST and OpenAI clients, a polite reply for bots).
"""

from __future__ import annotations


class RateLimited(Exception):
    """Raised by ``check_rate_limit`` when the caller must wait ``retry_after`` seconds."""

    def __init__(self, retry_after: int = 60, message: str = "Too many requests: please slow down."):
        super().__init__(message)
        self.retry_after = int(retry_after)
        self.message = message


def check_rate_limit(request, user, *, key=None, scope: str = "api") -> None:
    """Raise ``RateLimited`` if ``user`` (through ``key``, when a key was used) is over its
    limit for ``scope`` ("ask" for questions, "api" for everything else). Allows everything
    until the shared limiter is connected."""
    return None
