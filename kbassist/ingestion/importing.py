"""Adding documents and FAQ lists to a collection: one code path for the admin and the CLI.

Ingestion itself runs in a worker: ``queue_ingestion`` marks a document queued and hands
it to the worker once the surrounding transaction commits.
"""

from __future__ import annotations

import csv
import io

from django.conf import settings
from django.core.files import File
from django.db import transaction

from kbassist.knowledge.models import FAQ, Collection, Document, sha256_of

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


def queue_ingestion(document: Document):
    """Mark ``document`` queued and hand it to a worker once this transaction commits."""
    document.set_progress(Document.Status.QUEUED, 0, error="")
    pk = document.pk
    transaction.on_commit(lambda: ingest_document_task.delay(pk))


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


def import_faq_csv(collection: Collection, data: bytes) -> list[FAQ]:
    """Import question,answer rows. A question already in the collection gets the new answer."""
    if len(data) > settings.KB_MAX_UPLOAD_MB * 1024 * 1024:
        raise ValueError(f"The CSV file is over the {settings.KB_MAX_UPLOAD_MB} MB limit (KB_MAX_UPLOAD_MB).")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValueError("The CSV file must be UTF-8 encoded.") from None
    rows = [row for row in csv.reader(io.StringIO(text)) if any(cell.strip() for cell in row)]
    if rows and [c.strip().lower() for c in rows[0][:2]] == ["question", "answer"]:
        rows = rows[1:]
    pairs = []
    for number, row in enumerate(rows, start=1):
        if len(row) < 2 or not row[0].strip() or not row[1].strip():
            raise ValueError(f"Row {number} needs a question and an answer: {row!r}")
        pairs.append((row[0].strip(), row[1].strip()))
    if not pairs:
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
                changed.append(faq)
        # Bulk writes send no post_save signals: queue one task for the whole list instead.
        FAQ.objects.bulk_create(new)
        FAQ.objects.bulk_update(changed, ["answer"])
        ids = [faq.pk for faq in new + changed]
        if ids:
            queue_faq_indexing(ids)
    return new + changed
