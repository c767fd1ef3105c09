"""``record()``: the one function that writes an audit event."""

from __future__ import annotations

import contextvars
import ipaddress
from collections.abc import Iterable

from django.db import transaction

from .models import AuditEvent, AuditSubject
from .subjects import Subject

# The request being served, set by AuditMiddleware, so that events recorded deep inside
# (signals, admin hooks) know who and from where without passing the request down.
_current_request: contextvars.ContextVar = contextvars.ContextVar("kbassist_audit_request", default=None)


def current_request():
    return _current_request.get()


def client_address(request) -> str | None:
    """The client's address: REMOTE_ADDR, which Daphne fills from the socket (or, behind a
    proxy started with ``--proxy-headers``, from X-Forwarded-For)."""
    if request is None:
        return None
    return valid_address(request.META.get("REMOTE_ADDR"))


def valid_address(value) -> str | None:
    try:
        return str(ipaddress.ip_address(str(value).strip())) if value else None
    except ValueError:
        return None


def record(kind: str, *, user=None, request=None, address=None, summary="", subjects: Iterable[Subject] = (), **details) -> AuditEvent:
    request = request if request is not None else current_request()
    if user is None and request is not None:
        user = getattr(request, "user", None)
    if user is not None and not getattr(user, "is_authenticated", False):
        user = None  # AnonymousUser: nobody signed in
    address = valid_address(address) or client_address(request)
    with transaction.atomic():
        event = AuditEvent.objects.create(
            kind=kind,
            user=user,
            username=user.get_username() if user is not None else str(details.get("username", ""))[:150],
            address=address,
            summary=str(summary)[:300],
            details=details,
        )
        AuditSubject.objects.bulk_create(
            AuditSubject(
                event=event,
                role=s.role,
                collection_id=s.collection_id,
                collection_name=(s.collection_name or "")[:200],
                document_id=s.document_id,
                document_name=(s.document_name or "")[:300],
                faq_id=s.faq_id,
                chunk_id=s.chunk_id,
            )
            for s in subjects
        )
    return event
