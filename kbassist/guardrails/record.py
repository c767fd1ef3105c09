"""The one place a guard that fired is recorded: a log line on the ``kbassist.guardrails``
logger (with personal data masked when KB_REDACT_PII is on) and an audit event of kind
``guard`` (rate limits, busy line, answer in progress, bad frames, the sensitive-word filter,
documents over the cap).
"""

from __future__ import annotations

import logging

from kbassist import audit

from .pii import for_storage

log = logging.getLogger("kbassist.guardrails")


def record_guard(guard: str, *, user=None, ip: str | None = None, **details) -> None:
    """Record that ``guard`` refused or withheld something for ``user`` (or ``ip``)."""
    who = getattr(user, "username", None) or (f"ip {ip}" if ip else "anonymous")
    facts = " ".join(f"{key}={value!r}" for key, value in details.items())
    log.warning("guard %s fired for %s%s", guard, who, f": {facts}" if facts else "")
    try:
        audit.record(audit.Kind.GUARD, user=user, address=ip, summary=for_storage(f"{guard}: {facts}" if facts else guard),
                     guard=guard, **{key: _plain(value) for key, value in details.items()})
    except Exception:  # a guard must hold even when its record cannot be written
        log.exception("could not record guard %s in the audit trail", guard)


def _plain(value):
    """``value`` as JSON can store it."""
    if isinstance(value, (str, int, float, bool)) or value is None:
        return for_storage(value) if isinstance(value, str) else value
    if isinstance(value, (list, tuple, set)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return str(value)
