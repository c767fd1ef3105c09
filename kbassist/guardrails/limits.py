"""Rate limits, counted in the shared cache by django-ratelimit.

Every process (Daphne, a REST API, the CLI) counts in the same cache (``settings.CACHES``:
Redis in production, a database table in the embedded profile), so a limit holds however
many tabs, sockets or processes a user spreads their requests over. Each check returns None
(go on) or a ``Refusal`` carrying the message for the user and the seconds until the window
ends; ``too_many_requests(refusal)`` is the HTTP 429 answer for a REST API (JSON with the message,
``code`` and ``retry_after``, and a Retry-After header); ``limit_requests`` decorates a view.

  check_question_rate(user, ip)   KB_RATE_QUESTIONS_PER_MINUTE and _PER_DAY, per user (a question asked)
  check_request_rate(user, ip)    KB_RATE_REQUESTS_PER_MINUTE, per user (any other chat request)
  check_anonymous_rate(ip)        KB_RATE_ANONYMOUS_PER_MINUTE, per IP address (not signed in)

A limit of 0 turns that limit off. When the cache cannot be reached the request goes on
(and the failure is logged): a broken cache must not take the assistant down.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from functools import wraps
from types import SimpleNamespace

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.utils.translation import gettext, gettext_noop
from django_ratelimit.core import get_usage

from .record import record_guard

log = logging.getLogger(__name__)

QUESTIONS_PER_MINUTE = gettext_noop(
    "You have asked %(limit)s questions in the last minute, the most allowed. Please wait about %(seconds)s s before asking again."
)
QUESTIONS_PER_DAY = gettext_noop(
    "You have reached today's limit of %(limit)s questions. You can ask again in about %(hours)s h."
)
REQUESTS_PER_MINUTE = gettext_noop("Too many requests in a short time. Please wait about %(seconds)s s and try again.")


@dataclass
class Refusal:
    """Why a request is refused: ``code`` for programs, ``message`` for people."""

    code: str
    message: str
    retry_after: int  # seconds
    status: int = 429

    def event(self) -> dict:
        """The websocket's error event for this refusal."""
        return {"type": "error", "code": self.code, "message": self.message, "retry_after": self.retry_after}


def too_many_requests(refusal: Refusal) -> JsonResponse:
    """The HTTP answer for ``refusal``: 429, the message, and a Retry-After header."""
    response = JsonResponse({"error": refusal.message, "code": refusal.code, "retry_after": refusal.retry_after},
                            status=refusal.status)
    response["Retry-After"] = str(refusal.retry_after)
    return response


def check_question_rate(user, ip: str | None = None) -> Refusal | None:
    """Count one question by ``user``; a ``Refusal`` once the minute's or the day's limit is passed."""
    per_minute, per_day = settings.KB_RATE_QUESTIONS_PER_MINUTE, settings.KB_RATE_QUESTIONS_PER_DAY
    usage = _count("kb.questions.minute", per_minute, 60, _user_key(user, ip))
    if usage:
        return _refuse("rate_limited", QUESTIONS_PER_MINUTE, usage, user, ip, limit=per_minute)
    usage = _count("kb.questions.day", per_day, 86400, _user_key(user, ip))
    if usage:
        return _refuse("rate_limited", QUESTIONS_PER_DAY, usage, user, ip, limit=per_day)
    return None


def check_request_rate(user, ip: str | None = None) -> Refusal | None:
    """Count one request (not a question) by ``user``; a ``Refusal`` past KB_RATE_REQUESTS_PER_MINUTE."""
    usage = _count("kb.requests.minute", settings.KB_RATE_REQUESTS_PER_MINUTE, 60, _user_key(user, ip))
    return _refuse("rate_limited", REQUESTS_PER_MINUTE, usage, user, ip) if usage else None


def check_anonymous_rate(ip: str) -> Refusal | None:
    """Count one request from ``ip`` by someone not signed in; a ``Refusal`` past KB_RATE_ANONYMOUS_PER_MINUTE."""
    usage = _count("kb.anonymous.minute", settings.KB_RATE_ANONYMOUS_PER_MINUTE, 60, "ip", ip)
    return _refuse("rate_limited", REQUESTS_PER_MINUTE, usage, None, ip) if usage else None


def _user_key(user, ip):
    if user is not None and getattr(user, "is_authenticated", False):
        return f"user:{user.pk}"
    return "ip"  # django-ratelimit's own key: the address, IPv6 masked to its /64


def _count(group: str, limit: int, period: int, key: str, ip: str | None = None) -> dict | None:
    """Count one hit in ``group``; the usage once it is over ``limit``, else None."""
    if limit <= 0:
        return None
    request = SimpleNamespace(META={"REMOTE_ADDR": ip or "0.0.0.0"}, method="POST")
    key_function = (lambda group, request: key) if key != "ip" else "ip"
    try:
        usage = get_usage(request, group=group, key=key_function, rate=(limit, period), increment=True)
    except Exception:  # the cache is down: let the request through, and say so in the log
        log.exception("rate limit %s could not be checked", group)
        return None
    if usage is None or not usage["should_limit"]:
        return None
    if usage["time_left"] < 0:  # the cache answered nothing: go on, as when it is down
        log.error("rate limit %s could not be counted (the cache returned nothing)", group)
        return None
    return usage


def _refuse(code: str, template: str, usage: dict, user, ip, limit: int | None = None) -> Refusal:
    seconds = max(1, int(usage["time_left"]))
    message = gettext(template) % {"limit": usage["limit"], "seconds": seconds, "hours": max(1, math.ceil(seconds / 3600))}
    record_guard("rate_limit", user=user, ip=ip, limit=usage["limit"], retry_after=seconds)
    return Refusal(code, message, seconds)


def client_ip(request) -> str:
    """The address a request came from (REMOTE_ADDR: behind a proxy, run Daphne with
    ``--proxy-headers`` so that it is the client's)."""
    return request.META.get("REMOTE_ADDR", "")


def refusal_response(request, refusal: Refusal) -> HttpResponse:
    """A 429 for ``request``: JSON for the JSON endpoints, the message as text for pages."""
    if "/api/" in request.path or "application/json" in request.headers.get("Accept", ""):
        return too_many_requests(refusal)
    response = HttpResponse(refusal.message, status=refusal.status, content_type="text/plain; charset=utf-8")
    response["Retry-After"] = str(refusal.retry_after)
    return response


def limit_requests(view):
    """Decorate a view for signed-in users: KB_RATE_REQUESTS_PER_MINUTE per user, then 429."""

    @wraps(view)
    def limited(request, *args, **kwargs):
        if request.user.is_authenticated and (refusal := check_request_rate(request.user, client_ip(request))):
            return refusal_response(request, refusal)
        return view(request, *args, **kwargs)

    return limited
