"""Sync the collections fed from server folders (``KB_SOURCES``) now, as the worker does
every ``KB_SOURCES_SYNC_MINUTES``; then wait until the worker has ingested what changed.

    python manage.py sync_sources                      # every folder of KB_SOURCES
    python manage.py sync_sources --collection HR      # one of them
    python manage.py sync_sources --collection HR --folder /srv/kb/hr   # a folder not in KB_SOURCES
"""

from __future__ import annotations

import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from kbassist.ingestion import sources
from kbassist.knowledge.models import Document

DONE = (Document.Status.READY, Document.Status.FAILED, Document.Status.SKIPPED)


class Command(BaseCommand):
    help = "Import new and changed files of the KB_SOURCES folders and retire the documents whose file is gone."

    def add_arguments(self, parser):
        parser.add_argument("--collection", help="Only this collection of KB_SOURCES (or, with --folder, any).")
        parser.add_argument("--folder", help="Sync --collection with this folder instead of its KB_SOURCES one.")
        parser.add_argument("--timeout", type=float, default=3600, help="Seconds to wait for the worker.")
        parser.add_argument("--no-wait", action="store_true", help="Queue the changes and return at once.")

    def handle(self, *args, **opts):
        try:
            configured = sources.configured()
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        if opts["folder"]:
            if not opts["collection"]:
                raise CommandError("--folder needs --collection.")
            configured = {opts["collection"]: Path(opts["folder"]).absolute()}
        elif opts["collection"]:
            if opts["collection"] not in configured:
                raise CommandError(f"“{opts['collection']}” is not in KB_SOURCES ({', '.join(configured) or 'empty'}).")
            configured = {opts["collection"]: configured[opts["collection"]]}
        if not configured:
            raise CommandError("KB_SOURCES is empty: set it to collection=folder pairs, e.g. HR=/srv/kb/hr;IT=/srv/kb/it.")
        results = [sources.sync(name, folder) for name, folder in configured.items()]
        queued = [document.pk for result in results for document in result.queued]
        if queued and not opts["no_wait"]:
            self._wait(queued, opts["timeout"])
            for result in results:
                result.settle()
        failed = False
        for result in results:
            for item in result.items:
                if item.outcome in ("skipped", "failed"):
                    (self.stderr if item.outcome == "failed" else self.stdout).write(f"{item.outcome:8} {item.shown}: {item.reason}")
            for title in result.retired:
                self.stdout.write(f"retired  {title}")
            self.stdout.write(result.summary())
            failed = failed or bool(result.error) or result.count("failed") > 0
        if failed:
            raise CommandError("Some folders or files failed (above).")

    def _wait(self, ids: list[int], timeout: float):
        start = time.monotonic()
        while Document.objects.filter(pk__in=ids).exclude(status__in=DONE).exists():
            if time.monotonic() - start > timeout:
                raise CommandError(f"Timed out after {timeout:.0f}s waiting for the worker. Is a Celery worker running?")
            time.sleep(0.5)
        self.stdout.write(f"Ingested in {time.monotonic() - start:.1f}s.")
