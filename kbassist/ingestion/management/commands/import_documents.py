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

import getpass
import time
from dataclasses import dataclass
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from kbassist import audit
from kbassist.audit import Kind, Role
from kbassist.ingestion.importing import FileRejected, add_document, import_faq_csv, is_faq_csv
from kbassist.ingestion.parsers import SUPPORTED_EXTENSIONS
from kbassist.knowledge.auditing import access_state, collection_subject, document_subject, faq_subject
from kbassist.knowledge.models import Chunk, Collection, Document

Status = Document.Status


@dataclass
class Item:
    shown: str  # the file as the user knows it: its path inside the folder given
    path: Path | None = None
    outcome: str = ""  # imported | unchanged | skipped | failed | queued
    reason: str = ""
    document: Document | None = None


def _record(kind, summary, subjects, **details):
    """An admin change made from the command line: no signed-in user, the OS user instead."""
    user = _os_user()
    audit.record(kind, user=None, request=None, summary=f"{summary} (command line, {user})", subjects=subjects,
                 via="command line", os_user=user, **details)


def _os_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no name for this uid (e.g. in a container)
        return "unknown"


class Command(BaseCommand):
    help = "Import documents (and FAQ CSV files) into a collection and wait for ingestion."

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+")
        parser.add_argument("--collection", required=True, help="Collection name (created if missing).")
        parser.add_argument("--private", action="store_true", help="Create the collection visible to its groups only.")
        parser.add_argument("--timeout", type=float, default=3600, help="Seconds to wait for the worker.")
        parser.add_argument("--no-wait", action="store_true", help="Queue the files and return at once.")

    def handle(self, *args, **opts):
        items, hidden = self._collect(opts["paths"])
        if not items:
            raise CommandError("No files found%s." % (f" ({hidden} hidden file(s) and folder(s) are not read)" if hidden else ""))
        collection, created = Collection.objects.get_or_create(
            name=opts["collection"], defaults={"is_public": not opts["private"]}
        )
        if created:
            self.stdout.write(f"Created collection “{collection}”.")
            _record(Kind.COLLECTION_CHANGE, f"added collection “{collection}”", [collection_subject(collection)],
                    action="added", **access_state(collection))

        faq_entries = 0
        for item in items:
            if item.outcome:  # already decided (an unsupported type)
                continue
            try:
                faq_entries += self._add(collection, item)
            except OSError as exc:  # unreadable: permissions, a file that vanished
                item.outcome, item.reason = "failed", f"The file could not be read ({exc.strerror or exc.__class__.__name__})."
        queued = [item for item in items if item.outcome == "queued"]
        self.stdout.write(
            f"{len(items)} file(s): {len(queued)} queued for ingestion, {faq_entries} FAQ entr{'y' if faq_entries == 1 else 'ies'} "
            "new or updated."
        )
        if not opts["no_wait"] and (queued or faq_entries):
            self._wait(collection, queued, faq_entries, opts["timeout"])
        self._summary(items, hidden)

    # --- finding the files -----------------------------------------------------------------

    def _collect(self, paths) -> tuple[list[Item], int]:
        items: list[Item] = []
        hidden = 0
        for raw in paths:
            path = Path(raw)
            if path.is_dir():
                for found in self._walk(path):
                    if found is None:
                        hidden += 1
                        continue
                    items.append(self._item(found, found.relative_to(path).as_posix()))
            elif path.is_file():
                items.append(self._item(path, path.name))
            else:
                raise CommandError(f"{raw} does not exist.")
        return items, hidden

    def _walk(self, folder: Path):
        """Files under ``folder`` in name order; None for each hidden file or folder left out."""
        for entry in sorted(folder.iterdir(), key=lambda p: p.name):
            if entry.name.startswith("."):
                yield None
            elif entry.is_dir():
                yield from self._walk(entry)
            elif entry.is_file():
                yield entry

    def _item(self, path: Path, shown: str) -> Item:
        item = Item(shown, path)
        suffix = path.suffix.lower()
        if suffix not in SUPPORTED_EXTENSIONS:
            item.outcome = "skipped"
            item.reason = f"unsupported type {suffix or '(no extension)'}"
        return item

    # --- adding one file --------------------------------------------------------------------

    def _add(self, collection, item: Item) -> int:
        """Add one file; returns the number of FAQ entries it added or changed."""
        path = item.path
        if path.suffix.lower() == ".csv":
            data = path.read_bytes()
            if is_faq_csv(data):
                try:
                    result = import_faq_csv(collection, data)
                except ValueError as exc:
                    item.outcome, item.reason = "failed", f"FAQ list: {exc}"
                    return 0
                if result.problem:
                    item.outcome, item.reason = "failed", f"FAQ list: {result.problem}"
                else:
                    item.outcome, item.reason = "imported", f"FAQ list, {result.good_rows} entries"
                if result.entries:
                    _record(Kind.FAQ_EDIT, f"imported {len(result.entries)} FAQ entries into “{collection}”",
                            [collection_subject(collection)] + [faq_subject(f, Role.CHANGED) for f in result.entries],
                            action="imported", file_name=path.name, faq_ids=[f.pk for f in result.entries])
                return len(result.entries)
        source_path = str(path.resolve())
        before = Document.objects.filter(collection=collection, source_path=source_path).values_list("sha256", flat=True).first()
        with open(path, "rb") as fh:
            try:
                document, is_new = add_document(collection, fh, path.name, source_path=source_path)
            except FileRejected as exc:
                item.outcome, item.reason = "skipped", str(exc)
                return 0
        item.document = document
        if is_new:
            item.outcome = "queued"
            if before != document.sha256:  # not a retry of the same file after a failure
                kind, action = (Kind.DOCUMENT_UPLOAD, "added") if before is None else (Kind.DOCUMENT_REPLACE, "changed")
                _record(kind, f"{action} document “{document}”", [document_subject(document, Role.CHANGED)],
                        action=action, object_id=document.pk, file_name=document.original_name, sha256=document.sha256)
        elif document.status == Status.SKIPPED:
            item.outcome, item.reason = "skipped", document.error
        else:
            item.outcome = "unchanged"
        return 0

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
