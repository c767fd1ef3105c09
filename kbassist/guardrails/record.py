"""The one place a guard that fired is recorded.

Today the record is a log line on the ``kbassist.guardrails`` logger (with personal data
masked when KB_REDACT_PII is on). The audit trail hooks in here: ``record_guard`` is its call
site for every guard (rate limits, busy line, answer in progress, bad frames, the
sensitive-word filter, documents over the cap).
"""

from __future__ import annotations

import logging

log = logging.getLogger("kbassist.guardrails")


def record_guard(guard: str, *, user=None, ip: str | None = None, **details) -> None:
    """Record that ``guard`` refused or withheld something for ``user`` (or ``ip``)."""
    who = getattr(user, "username", None) or (f"ip {ip}" if ip else "anonymous")
    facts = " ".join(f"{key}={value!r}" for key, value in details.items())
    log.warning("guard %s fired for %s%s", guard, who, f": {facts}" if facts else "")
    # AUDIT TRAIL: record an AuditEvent for (guard, user, ip, details) here.
