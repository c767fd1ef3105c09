"""Rate limits for requests that come in through the API (keys and chat bots): the same
limits and counters as the browser's (``kbassist.guardrails.limits``), so a user's questions
count once whichever door they use.

``access.admit`` calls ``check_rate_limit`` once for every authenticated request (REST,
OpenAI-compatible and chat-bot callbacks), after the caller is known and before any work is
done; ``RateLimited`` becomes a 429 with ``Retry-After`` in each door's own format.
"""

from __future__ import annotations

from kbassist.guardrails.limits import check_question_rate, check_request_rate, client_ip


class RateLimited(Exception):
    """Raised by ``check_rate_limit`` when the caller must wait ``retry_after`` seconds."""

    def __init__(self, retry_after: int = 60, message: str = "Too many requests: please slow down."):
        super().__init__(message)
        self.retry_after = int(retry_after)
        self.message = message


def check_rate_limit(request, user, *, key=None, scope: str = "api") -> None:
    """Raise ``RateLimited`` if ``user`` is over its limit for ``scope`` ("ask" for questions,
    counted with the browser's questions; "api" for everything else)."""
    ip = client_ip(request) if request is not None else None
    refusal = check_question_rate(user, ip) if scope == "ask" else check_request_rate(user, ip)
    if refusal is not None:
        raise RateLimited(refusal.retry_after, refusal.message)
