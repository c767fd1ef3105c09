"""Import files or folders into a collection, then wait until the worker has ingested them.

    python manage.py import_documents PATH [PATH ...] --collection NAME

Folders are read recursively. Every file found is accounted for in the closing summary:
*imported* (ready to be searched), *unchanged* (already imported from the same path),
*skipped* with the reason (a type this assistant does not read, a redirect stub or blank
page with nothing to index, a file over the size limit, the same content already in the
collection) or *failed* with the reason. One bad file never stops the others.

A ``*.csv`` whose header is ``question,answer`` is an FAQ list; rows without both are named
by their line and the good rows imported (the file then counts as failed, with that reason);
any other CSV is a table of records. A changed file replaces its old version. The command
exits non-zero, naming each failure, when any file failed; skipped files do not count.
Messages name files by their path inside the folder given, never by where the server
stores them.
"""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from kbassist.audit import Kind
from kbassist.ingestion import folders
from kbassist.ingestion.folders import Item
from kbassist.ingestion.importing import queued_together
from kbassist.knowledge.auditing import access_state, collection_subject
from kbassist.knowledge.models import Chunk, Collection, Document

Status = Document.Status


class Command(BaseCommand):
    help = "Import documents (and FAQ CSV files) into a collection and wait for ingestion."

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+")
        parser.add_argument("--collection", required=True, help="Collection name (created if missing).")
        parser.add_argument("--private", action="store_true", help="Create the collection visible to its groups only.")
        parser.add_argument("--timeout", type=float, default=3600, help="Seconds to wait for the worker.")
        parser.add_argument("--no-wait", action="store_true", help="Queue the files and return at once.")

    def handle(self, *args, **opts):
        try:
            items, hidden = folders.collect(opts["paths"])
        except FileNotFoundError as exc:
            raise CommandError(str(exc)) from None
        if not items:
            raise CommandError("No files found%s." % (f" ({hidden} hidden file(s) and folder(s) are not read)" if hidden else ""))
        collection, created = Collection.objects.get_or_create(
            name=opts["collection"], defaults={"is_public": not opts["private"]}
        )
        if created:
            self.stdout.write(f"Created collection “{collection}”.")
            folders.record(Kind.COLLECTION_CHANGE, f"added collection “{collection}”", [collection_subject(collection)],
                           action="added", **access_state(collection))

        faq_entries = 0
        with queued_together():  # all queued before the first is read: they share the index syncs
            for item in items:
                if item.outcome:  # already decided (an unsupported type)
                    continue
                faq_entries += folders.add(collection, item)
        queued = [item for item in items if item.outcome == "queued"]
        self.stdout.write(
            f"{len(items)} file(s): {len(queued)} queued for ingestion, {faq_entries} FAQ entr{'y' if faq_entries == 1 else 'ies'} "
            "new or updated."
        )
        if not opts["no_wait"] and (queued or faq_entries):
            self._wait(collection, queued, faq_entries, opts["timeout"])
        self._summary(items, hidden)

    # --- waiting for the worker -------------------------------------------------------------

    def _wait(self, collection, queued: list[Item], faq_entries: int, timeout: float):
        start = time.monotonic()
        ids = [item.document.pk for item in queued]
        total = len(ids)
        done_states = (Status.READY, Status.FAILED, Status.SKIPPED)
        with tqdm(total=total, unit="doc", desc="ingesting", disable=not total) as bar:
            finished = 0
            while True:
                rows = Document.objects.filter(pk__in=ids).values_list("pk", "status", "stage")
                states = {pk: status for pk, status, _ in rows}
                now_finished = sum(1 for pk in ids if states.get(pk) in done_states or pk not in states)
                stages = [stage for _, status, stage in rows if status == Status.PROCESSING and stage]
                if stages:
                    bar.set_postfix_str(stages[0][:40], refresh=False)
                bar.update(now_finished - finished)
                finished = now_finished
                faqs_pending = faq_entries and Chunk.objects.filter(faq__collection=collection).count() < collection.faqs.count()
                if finished == total and not faqs_pending:
                    break
                if time.monotonic() - start > timeout:
                    raise CommandError(
                        f"Timed out after {timeout:.0f}s with {total - finished} document(s) not ingested. Is a Celery worker running?"
                    )
                time.sleep(0.5)
        documents = Document.objects.in_bulk(ids)
        for item in queued:
            document = item.document = documents.get(item.document.pk)
            if document is None:
                item.outcome, item.reason = "failed", "deleted while it was being ingested"
            elif document.status == Status.READY:
                item.outcome, item.reason = "imported", f"{document.chunk_count} chunks"
            elif document.status == Status.SKIPPED:
                item.outcome, item.reason = "skipped", document.error
            else:
                item.outcome, item.reason = "failed", document.error
        self.stdout.write(f"Ingested in {time.monotonic() - start:.1f}s.")

    # --- the summary ------------------------------------------------------------------------

    def _summary(self, items: list[Item], hidden: int):
        count = {outcome: sum(1 for item in items if item.outcome == outcome)
                 for outcome in ("imported", "unchanged", "queued", "skipped", "failed")}
        chunks = sum(item.document.chunk_count for item in items if item.outcome == "imported" and item.document)
        for item in items:
            if item.outcome == "skipped":
                self.stdout.write(f"skipped  {item.shown}: {item.reason}")
        for item in items:
            if item.outcome == "failed":
                self.stderr.write(f"FAILED   {item.shown}: {item.reason}")
        parts = [f"{count['imported']} imported ({chunks} chunks)", f"{count['unchanged']} unchanged"]
        if count["queued"]:
            parts.append(f"{count['queued']} queued (not waited for)")
        parts += [f"{count['skipped']} skipped", f"{count['failed']} failed"]
        note = f"; {hidden} hidden file(s) and folder(s) not read" if hidden else ""
        self.stdout.write(f"Summary of {len(items)} file(s): {', '.join(parts)}{note}.")
        if count["failed"]:
            raise CommandError(f"{count['failed']} file(s) failed: " + ", ".join(i.shown for i in items if i.outcome == "failed"))
