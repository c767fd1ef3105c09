"""Adding documents and FAQ lists to a collection: one code path for the admin and the CLI.

Ingestion itself runs in a worker: ``queue_ingestion`` marks a document queued and hands
it to the worker once the surrounding transaction commits.
"""

from __future__ import annotations

import csv
import io
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.utils import timezone

from kbassist.knowledge.models import FAQ, Collection, Document, sha256_of

from .decoding import decode
from .parsed import ParseError
from .tasks import ingest_document_task, ingest_faqs_task


class FileRejected(Exception):
    """The file was not added (e.g. it is already in the collection)."""


def check_size(fileobj, name: str):
    """Refuse a file over KB_MAX_UPLOAD_MB before anything of it is stored."""
    fileobj.seek(0, 2)
    size = fileobj.tell()
    fileobj.seek(0)
    limit = settings.KB_MAX_UPLOAD_MB * 1024 * 1024
    if size > limit:
        raise FileRejected(
            f"{name} is {size / 1024 / 1024:.1f} MB, over the {settings.KB_MAX_UPLOAD_MB} MB limit (KB_MAX_UPLOAD_MB)"
        )


_held = threading.local()


@contextmanager
def queued_together():
    """Hand the documents queued inside this block to the worker together, at its end.

    A folder of many files is then all in the database, queued, before the first one is read:
    each document sees the others coming and leaves the index sync to the last one of the
    burst (``indexing.sync_if_due``), also where tasks run in-process (KB_CELERY_EAGER). The
    tasks are sent even if the block fails half-way: what was queued is never left behind.
    """
    if getattr(_held, "tasks", None) is not None:  # nested: the outer block sends them
        yield
        return
    _held.tasks = []
    try:
        yield
    finally:
        tasks, _held.tasks = _held.tasks, None
        for pk in tasks:
            ingest_document_task.delay(pk)


def _send(pk: int):
    tasks = getattr(_held, "tasks", None)
    if tasks is not None:
        tasks.append(pk)
    else:
        ingest_document_task.delay(pk)


def queue_ingestion(document: Document):
    """Mark ``document`` queued and hand it to a worker once this transaction commits (or,
    inside ``queued_together``, at the end of that block)."""
    document.set_progress(Document.Status.QUEUED, 0, error="", attempts=0)  # watchdog.py counts from here
    pk = document.pk
    transaction.on_commit(lambda: _send(pk))


def queue_faq_indexing(faq_ids: list[int]):
    """(Re)index these FAQ entries in a worker once this transaction commits."""
    ids = list(faq_ids)
    transaction.on_commit(lambda: ingest_faqs_task.delay(ids))


def add_document(collection: Collection, fileobj, name: str, source_path: str = "") -> tuple[Document, bool]:
    """Store a file in ``collection`` and queue it for ingestion.

    Returns ``(document, queued)``. The same content twice in one collection is never stored
    twice: it raises ``FileRejected``, unless it comes from the same ``source_path`` again, in
    which case nothing is done (``queued`` is False). A changed file at a known
    ``source_path`` replaces the old document, whose chunks are then replaced too.
    """
    check_size(fileobj, name)
    digest = sha256_of(fileobj)
    same = Document.objects.filter(collection=collection, sha256=digest).first()
    if same is not None:
        if source_path and same.source_path == source_path and same.status != Document.Status.FAILED:
            return same, False
        if source_path and same.source_path == source_path:
            queue_ingestion(same)  # it failed before: try again (e.g. after a parser fix)
            return same, True
        raise FileRejected(f"already in “{collection}” as “{same}”")
    with transaction.atomic():
        document = None
        if source_path:
            document = Document.objects.filter(collection=collection, source_path=source_path).first()
        if document is None:
            document = Document(collection=collection, source_path=source_path)
        else:
            old = document.file
            transaction.on_commit(lambda: old.storage.delete(old.name))
        document.original_name = name
        document.file = File(fileobj, name=name)
        document.fill_file_facts()
        document.save()
        queue_ingestion(document)
    return document, True


_QUESTION_HEADERS = {"question", "questions", "q", "问题", "問題"}
_ANSWER_HEADERS = {"answer", "answers", "a", "答案", "回答"}


@dataclass
class FaqImport:
    """What importing an FAQ CSV did: the entries it added or changed, and the lines of the
    rows it could not use (a row needs a question and an answer)."""

    entries: list[FAQ] = field(default_factory=list)
    good_rows: int = 0
    bad_lines: list[int] = field(default_factory=list)

    @property
    def problem(self) -> str:
        """A sentence naming the bad rows by line, or "" when every row was good."""
        if not self.bad_lines:
            return ""
        lines = ", ".join(map(str, self.bad_lines[:20])) + (" …" if len(self.bad_lines) > 20 else "")
        rows = "row" if len(self.bad_lines) == 1 else "rows"
        return (
            f"{len(self.bad_lines)} {rows} without both a question and an answer, at line{'s' if len(self.bad_lines) > 1 else ''} "
            f"{lines}; the other {self.good_rows} row{'s were' if self.good_rows != 1 else ' was'} imported."
        )


@dataclass
class Outcome:
    """What became of one uploaded file: queued | imported | skipped | failed, and why."""

    name: str
    outcome: str
    reason: str = ""
    document: Document | None = None  # the document stored (queued)
    faqs: list[FAQ] = field(default_factory=list)  # the FAQ entries imported from an FAQ list


MAX_ZIP_MEMBERS = 5000


def add_files(collection: Collection, uploads, prefix: str = "") -> list[Outcome]:
    """Add uploaded files (``(name, fileobj)`` pairs) to ``collection``, as the admin's upload
    does: a ``.zip`` stands for the files in it; an FAQ CSV is imported at once; every other
    file of a supported type is stored and queued. Every file gets an ``Outcome``; one bad
    file never stops the others."""
    with queued_together():  # the files of one upload share the index syncs
        return _add_files(collection, uploads, prefix)


def _add_files(collection: Collection, uploads, prefix: str) -> list[Outcome]:
    from .parsers import SUPPORTED_EXTENSIONS

    outcomes = []
    for name, fileobj in uploads:
        shown = prefix + name
        if name.lower().endswith(".zip") and not prefix:
            outcomes.extend(add_files(collection, _zip_members(name, fileobj, outcomes), prefix=f"{name}: "))
            continue
        relative = _relative_path(name)
        name = relative.rsplit("/", 1)[-1]
        suffix = ("." + name.rsplit(".", 1)[-1].lower()) if "." in name else ""
        if suffix not in SUPPORTED_EXTENSIONS:
            outcomes.append(Outcome(shown, "skipped", f"unsupported type {suffix or '(no extension)'}"))
            continue
        try:
            if suffix == ".csv":
                check_size(fileobj, name)
                data = fileobj.read()
                if is_faq_csv(data):
                    try:
                        result = import_faq_csv(collection, data)
                    except ValueError as exc:
                        outcomes.append(Outcome(shown, "failed", f"FAQ list: {exc}"))
                        continue
                    if result.problem:
                        outcomes.append(Outcome(shown, "failed", f"FAQ list: {result.problem}", faqs=result.entries))
                    else:
                        outcomes.append(Outcome(shown, "imported", f"FAQ list, {result.good_rows} entries", faqs=result.entries))
                    continue
                fileobj.seek(0)
            # A file of a folder (or zip) keeps its path inside it: uploading the folder again
            # replaces the files that changed and leaves the others alone.
            source_path = (prefix.removesuffix(": ") + "/" if prefix else "") + relative if "/" in relative else ""
            document, queued = add_document(collection, fileobj, name, source_path=source_path)
            if queued:
                outcomes.append(Outcome(shown, "queued", document=document))
            else:
                outcomes.append(Outcome(shown, "skipped", "unchanged since it was uploaded from the same path"))
        except FileRejected as exc:
            outcomes.append(Outcome(shown, "skipped", str(exc)))
    return outcomes


def _relative_path(name: str) -> str:
    """A file's path inside an uploaded folder or zip, as a label: forward slashes, no leading
    slash, no empty, "." or ".." parts (it is never used to open a file)."""
    parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".", "..")]
    return "/".join(parts) or "unnamed"


def _zip_members(name: str, fileobj, outcomes: list[Outcome]):
    """The files in an uploaded zip, as ``(path inside it, file)``; hidden files and folders
    (and macOS's ``__MACOSX``) are left out. A member over the size limit is never unpacked
    beyond it."""
    import tempfile
    import zipfile

    limit = settings.KB_MAX_UPLOAD_MB * 1024 * 1024
    try:
        archive = zipfile.ZipFile(fileobj)
        members = [m for m in archive.infolist() if not m.is_dir()]
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        outcomes.append(Outcome(name, "failed", f"The zip file could not be opened ({exc})."))
        return
    if len(members) > MAX_ZIP_MEMBERS:
        outcomes.append(Outcome(name, "failed", f"The zip file holds {len(members)} files, more than {MAX_ZIP_MEMBERS}."))
        return
    for member in members:
        parts = member.filename.split("/")
        if any(part.startswith(".") or part == "__MACOSX" for part in parts):
            continue
        shown = f"{name}: {member.filename}"  # in messages only
        if member.file_size > limit:
            outcomes.append(Outcome(shown, "skipped", f"{member.file_size / 1024 / 1024:.1f} MB, over the "
                                                      f"{settings.KB_MAX_UPLOAD_MB} MB limit (KB_MAX_UPLOAD_MB)"))
            continue
        spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)
        try:
            with archive.open(member) as source:
                while block := source.read(1 << 20):
                    spool.write(block)
                    if spool.tell() > limit:  # the header understated the size
                        raise zipfile.BadZipFile("a member is larger than its header says")
        except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError) as exc:
            outcomes.append(Outcome(shown, "failed", f"It could not be unpacked ({exc})."))
            continue
        spool.seek(0)
        yield member.filename, spool


def _faq_text(data: bytes) -> str:
    if len(data) > settings.KB_MAX_UPLOAD_MB * 1024 * 1024:
        raise ValueError(f"The CSV file is over the {settings.KB_MAX_UPLOAD_MB} MB limit (KB_MAX_UPLOAD_MB).")
    try:
        return decode(data)
    except ParseError as exc:
        raise ValueError(str(exc)) from None


def is_faq_csv(data: bytes) -> bool:
    """Whether a CSV file is an FAQ list: its header names a question and an answer column
    (question,answer; 问题,答案). Any other CSV is a table of records (``formats.records``)."""
    try:
        text = _faq_text(data[:65536])
    except ValueError:
        return False
    for row in csv.reader(io.StringIO(text)):
        if any(cell.strip() for cell in row):
            cells = [c.strip().lower() for c in row[:2]]
            return len(cells) == 2 and cells[0] in _QUESTION_HEADERS and cells[1] in _ANSWER_HEADERS
    return False


def import_faq_csv(collection: Collection, data: bytes) -> FaqImport:
    """Import question,answer rows (a header row is optional). A question already in the
    collection gets the new answer. A row without a question or an answer is not imported and
    is named by its line in the file (``FaqImport.bad_lines``); the good rows are imported all
    the same. Raises ValueError when the file as a whole cannot be used (too large, not text,
    no good row at all)."""
    text = _faq_text(data)
    reader = csv.reader(io.StringIO(text))
    pairs, bad_lines = [], []
    first = True
    line = 1  # the line the next record starts on
    try:
        for row in reader:
            start, line = line, reader.line_num + 1
            if not any(cell.strip() for cell in row):
                continue
            if first and [c.strip().lower() for c in row[:2]] in (["question", "answer"], ["问题", "答案"]):
                first = False
                continue
            first = False
            if len(row) < 2 or not row[0].strip() or not row[1].strip():
                bad_lines.append(start)
            else:
                pairs.append((row[0].strip(), row[1].strip()))
    except csv.Error as exc:
        raise ValueError(f"The CSV file could not be read past line {reader.line_num} ({exc}).") from None
    result = FaqImport(good_rows=len(pairs), bad_lines=bad_lines)
    if not pairs:
        if bad_lines:
            raise ValueError(f"No row has both a question and an answer (lines {', '.join(map(str, bad_lines[:20]))}).")
        raise ValueError("The CSV file has no question,answer rows.")

    with transaction.atomic():
        existing = {faq.question: faq for faq in FAQ.objects.filter(collection=collection)}
        changed, new = [], []
        for question, answer in pairs:
            faq = existing.get(question)
            if faq is None:
                faq = FAQ(collection=collection, question=question, answer=answer, origin=FAQ.Origin.IMPORT)
                existing[question] = faq
                new.append(faq)
            elif faq.answer != answer:
                faq.answer = answer
                faq.updated_at = timezone.now()  # bulk_update leaves auto_now alone; citations show this date
                changed.append(faq)
        # Bulk writes send no post_save signals: queue one task for the whole list instead.
        FAQ.objects.bulk_create(new)
        FAQ.objects.bulk_update(changed, ["answer", "updated_at"])
        ids = [faq.pk for faq in new + changed]
        if ids:
            queue_faq_indexing(ids)
    result.entries = new + changed
    return result
