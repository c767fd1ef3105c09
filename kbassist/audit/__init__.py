"""The audit trail: who did, asked or saw what, when, from which address.

Other code records events through one function, ``audit.record(kind, user=..., request=...,
subjects=[...], **details)``. This package sits at the bottom of the import layers: it knows
users and requests, never the models of the knowledge base or the chat, so every layer may
call it. What an event concerns is given as ``Subject`` values (ids and names, no foreign
keys), built by the layer that owns the objects (``kbassist.knowledge.auditing``).
"""

from .subjects import Role, Subject

__all__ = ["Kind", "Role", "Subject", "api_key_used", "record"]


class Kind:
    """The kinds of event recorded today. ``record`` accepts any short string, so a new
    kind needs no migration; the admin lists the kinds present in the table."""

    LOGIN = "login"
    LOGOUT = "logout"
    LOGIN_FAILED = "login_failed"
    QUESTION = "question"
    DOCUMENT_VIEW = "document_view"
    PASSAGE_VIEW = "passage_view"
    ACCESS_DENIED = "access_denied"
    API_KEY = "api_key"
    DOCUMENT_UPLOAD = "document_upload"
    DOCUMENT_REPLACE = "document_replace"
    DOCUMENT_CHANGE = "document_change"
    DOCUMENT_DELETE = "document_delete"
    COLLECTION_CHANGE = "collection_change"
    GROUP_MEMBERSHIP = "group_membership"
    FAQ_EDIT = "faq_edit"
    FAQ_PROMOTED = "faq_promoted"
    AUDIT_PURGE = "audit_purge"
    AUDIT_EXPORT = "audit_export"
    GUARD = "guard"
    LOCKOUT = "login_locked_out"

    LABELS = {
        LOGIN: "login",
        LOGOUT: "logout",
        LOGIN_FAILED: "failed login",
        QUESTION: "question answered",
        DOCUMENT_VIEW: "source file opened",
        PASSAGE_VIEW: "passage opened",
        ACCESS_DENIED: "access refused",
        API_KEY: "API key used",
        DOCUMENT_UPLOAD: "document uploaded",
        DOCUMENT_REPLACE: "document replaced",
        DOCUMENT_CHANGE: "document edited",
        DOCUMENT_DELETE: "document deleted",
        COLLECTION_CHANGE: "collection changed (access included)",
        GROUP_MEMBERSHIP: "group membership changed",
        FAQ_EDIT: "FAQ edited",
        FAQ_PROMOTED: "answer turned into an FAQ",
        AUDIT_PURGE: "old audit events removed (retention)",
        AUDIT_EXPORT: "audit trail exported",
        GUARD: "guard rail refused or withheld",
        LOCKOUT: "sign-in locked after failures",
    }


def record(kind: str, *, user=None, request=None, address: str | None = None, summary: str = "", subjects=(), **details):
    """Append one event and return it. ``user`` defaults to the request's user, ``request``
    to the request being served (see ``AuditMiddleware``), ``address`` to its client address;
    ``details`` must be JSON-serialisable. It takes part in the caller's transaction."""
    from .recording import record as _record

    return _record(kind, user=user, request=request, address=address, summary=summary, subjects=subjects, **details)


def api_key_used(key_name: str, *, user=None, request=None, address: str | None = None, **details):
    """The hook for API-key use: call it once per authenticated API request, with the key's
    name or prefix (never the secret) and what it was used for (e.g. ``endpoint=...``)."""
    return record(Kind.API_KEY, user=user, request=request, address=address, summary=key_name, key=key_name, **details)
