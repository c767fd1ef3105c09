"""Import files or folders into a collection, then wait until the worker has ingested them.

    python manage.py import_documents PATH [PATH ...] --collection NAME

Folders are read recursively (supported types only); ``*.csv`` files are FAQ lists
(question,answer). Unchanged files already imported from the same path are skipped; a
changed file replaces its old version. Exits non-zero, naming each failure, if any failed.
"""

import getpass
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from kbassist import audit
from kbassist.audit import Kind, Role
from kbassist.ingestion.parsers import SUPPORTED_EXTENSIONS
from kbassist.ingestion.importing import FileRejected, add_document, import_faq_csv
from kbassist.knowledge.auditing import access_state, collection_subject, document_subject, faq_subject
from kbassist.knowledge.models import Chunk, Collection, Document


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
        files = self._collect(opts["paths"])
        if not files:
            raise CommandError("No supported files found (supported: %s, and .csv for FAQs)." % " ".join(SUPPORTED_EXTENSIONS))
        collection, created = Collection.objects.get_or_create(
            name=opts["collection"], defaults={"is_public": not opts["private"]}
        )
        if created:
            self.stdout.write(f"Created collection “{collection}”.")
            _record(Kind.COLLECTION_CHANGE, f"added collection “{collection}”", [collection_subject(collection)],
                    action="added", **access_state(collection))

        queued: list[Document] = []
        unchanged = 0
        faq_count = 0
        for path in files:
            if path.suffix.lower() == ".csv":
                try:
                    faqs = import_faq_csv(collection, path.read_bytes())
                except ValueError as exc:
                    raise CommandError(f"{path}: {exc}") from exc
                faq_count += len(faqs)
                if faqs:
                    _record(Kind.FAQ_EDIT, f"imported {len(faqs)} FAQ entries into “{collection}”",
                            [collection_subject(collection)] + [faq_subject(f, Role.CHANGED) for f in faqs],
                            action="imported", file_name=path.name, faq_ids=[f.pk for f in faqs])
                continue
            source_path = str(path.resolve())
            before = Document.objects.filter(collection=collection, source_path=source_path).values_list("sha256", flat=True).first()
            with open(path, "rb") as fh:
                try:
                    document, is_new = add_document(collection, fh, path.name, source_path=source_path)
                except FileRejected as exc:
                    self.stdout.write(f"skipped {path}: {exc}")
                    continue
            if is_new:
                queued.append(document)
                if before != document.sha256:  # not a retry of the same file after a failure
                    kind, action = (Kind.DOCUMENT_UPLOAD, "added") if before is None else (Kind.DOCUMENT_REPLACE, "changed")
                    _record(kind, f"{action} document “{document}”", [document_subject(document, Role.CHANGED)],
                            action=action, object_id=document.pk, file_name=document.original_name, sha256=document.sha256)
            else:
                unchanged += 1
        self.stdout.write(
            f"{len(queued)} document(s) queued, {unchanged} unchanged, {faq_count} FAQ entr{'y' if faq_count == 1 else 'ies'} new or updated."
        )
        if opts["no_wait"] or not (queued or faq_count):
            return
        self._wait(collection, queued, faq_count, opts["timeout"])

    def _collect(self, paths) -> list[Path]:
        files = []
        for raw in paths:
            path = Path(raw)
            if path.is_dir():
                files.extend(
                    p for p in sorted(path.rglob("*"))
                    if p.is_file() and not p.name.startswith(".")
                    and p.suffix.lower() in (*SUPPORTED_EXTENSIONS, ".csv")
                )
            elif path.is_file():
                files.append(path)
            else:
                raise CommandError(f"{path} does not exist.")
        return files

    def _wait(self, collection, queued, faq_count, timeout):
        start = time.monotonic()
        ids = [d.pk for d in queued]
        total = len(ids)
        done_states = (Document.Status.READY, Document.Status.FAILED)
        with tqdm(total=total, unit="doc", desc="ingesting", disable=not total) as bar:
            finished = 0
            while True:
                states = dict(Document.objects.filter(pk__in=ids).values_list("pk", "status"))
                now_finished = sum(1 for pk in ids if states.get(pk) in done_states or pk not in states)
                bar.update(now_finished - finished)
                finished = now_finished
                faqs_pending = faq_count and Chunk.objects.filter(faq__collection=collection).count() < collection.faqs.count()
                if finished == total and not faqs_pending:
                    break
                if time.monotonic() - start > timeout:
                    raise CommandError(
                        f"Timed out after {timeout:.0f}s with {total - finished} document(s) not ingested. Is a Celery worker running?"
                    )
                time.sleep(0.5)
        failed = list(Document.objects.filter(pk__in=ids, status=Document.Status.FAILED))
        ready = Document.objects.filter(pk__in=ids, status=Document.Status.READY)
        chunks = sum(d.chunk_count for d in ready)
        elapsed = time.monotonic() - start
        self.stdout.write(f"{ready.count()} ready ({chunks} chunks), {len(failed)} failed, in {elapsed:.1f}s.")
        if failed:
            for document in failed:
                self.stderr.write(f"FAILED {document.source_path or document}: {document.error}")
            raise CommandError(f"{len(failed)} document(s) failed to ingest.")
