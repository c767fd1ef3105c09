"""Apply the audit retention now: ``manage.py purge_audit [--days N] [--dry-run]``.

The Celery beat schedule runs the same purge every ``KB_AUDIT_PURGE_INTERVAL`` seconds.
"""

from django.conf import settings
from django.core.management.base import BaseCommand

from kbassist.audit.retention import purge_expired


class Command(BaseCommand):
    help = "Remove audit events older than KB_AUDIT_RETENTION_DAYS (or --days)."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, help=f"Keep this many days (default KB_AUDIT_RETENTION_DAYS, now {settings.KB_AUDIT_RETENTION_DAYS}).")
        parser.add_argument("--dry-run", action="store_true", help="Only say how many events would be removed.")

    def handle(self, *args, **opts):
        days = settings.KB_AUDIT_RETENTION_DAYS if opts["days"] is None else opts["days"]
        if days <= 0:
            self.stdout.write("Retention is off (0 days): every audit event is kept.")
            return
        n = purge_expired(days, dry_run=opts["dry_run"])
        verb = "would be removed" if opts["dry_run"] else "removed"
        self.stdout.write(f"{n} audit event(s) older than {days} days {verb}.")
