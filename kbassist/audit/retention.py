"""``KB_AUDIT_RETENTION_DAYS``: events older than that are removed, by a periodic Celery
task (``tasks.purge_expired_task``, in the beat schedule) or ``manage.py purge_audit``."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from . import Kind, record
from .models import AuditEvent


def purge_expired(days: int | None = None, *, now=None, dry_run: bool = False) -> int:
    """Remove the events older than ``days`` (default ``KB_AUDIT_RETENTION_DAYS``; 0 or less
    keeps everything) and record that it was done. Returns how many were (or would be) removed."""
    days = settings.KB_AUDIT_RETENTION_DAYS if days is None else days
    if days <= 0:
        return 0
    cutoff = (now or timezone.now()) - timedelta(days=days)
    if dry_run:
        return AuditEvent.objects.filter(created_at__lt=cutoff).count()
    removed = AuditEvent.objects.purge_before(cutoff)
    if removed:
        record(Kind.AUDIT_PURGE, user=None, request=None, summary=f"{removed} events before {cutoff:%Y-%m-%d %H:%M} removed",
               removed=removed, before=cutoff.isoformat(), retention_days=days)
    return removed
