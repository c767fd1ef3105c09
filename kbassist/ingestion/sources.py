"""Collections fed from a folder on the server (``KB_SOURCES="HR=/srv/kb/hr;IT=/srv/kb/it"``).

``sync`` brings a collection in step with its folder through the same path as ``manage.py
import_documents`` (``folders``): new files are imported, changed ones replace their old
version, unchanged ones are left alone, and the documents whose file is gone from the folder
are retired (deleted, and so dropped from the indexes). A folder that is missing or cannot
be read retires nothing: an unmounted share must not empty a collection. The worker runs
``sync_all`` every ``KB_SOURCES_SYNC_MINUTES`` (Celery beat); ``manage.py sync_sources``
runs it now.

FAQ lists (question,answer CSV files) in the folder are imported like any other; their
entries stay when the file is deleted (an FAQ entry does not remember its file).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import transaction

from kbassist.audit import Kind, Role
from kbassist.knowledge.auditing import access_state, collection_subject, document_subject
from kbassist.knowledge.models import Collection, Document

from . import folders
from .importing import queued_together

log = logging.getLogger(__name__)
VIA = "folder sync"


def configured() -> dict[str, Path]:
    """The collections fed from folders, from ``KB_SOURCES``: ``name=folder`` pairs separated
    by ``;`` (a collection name may hold spaces; a folder is an absolute path)."""
    sources: dict[str, Path] = {}
    for part in settings.KB_SOURCES.split(";"):
        if not part.strip():
            continue
        name, sep, folder = part.partition("=")
        if not sep or not name.strip() or not folder.strip():
            raise ValueError(f"KB_SOURCES: “{part.strip()}” is not collection=folder.")
        if not Path(folder.strip()).is_absolute():
            raise ValueError(f"KB_SOURCES: the folder of “{name.strip()}” must be an absolute path, not “{folder.strip()}”.")
        sources[name.strip()] = Path(folder.strip())
    return sources


@dataclass
class Sync:
    """What one sync of a collection with its folder did."""

    collection: str
    folder: Path
    items: list[folders.Item] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)  # titles of the documents whose file is gone
    hidden: int = 0
    error: str = ""  # the folder could not be read: nothing was changed

    def count(self, outcome: str) -> int:
        return sum(1 for item in self.items if item.outcome == outcome)

    @property
    def queued(self) -> list[Document]:
        return [item.document for item in self.items if item.outcome == "queued"]

    def settle(self):
        """Once the worker is done: each queued file imported, skipped or failed, as it ended."""
        documents = Document.objects.in_bulk([item.document.pk for item in self.items if item.outcome == "queued"])
        for item in self.items:
            if item.outcome != "queued":
                continue
            document = documents.get(item.document.pk)
            if document is None:
                item.outcome, item.reason = "failed", "deleted while it was being ingested"
            elif document.status == Document.Status.READY:
                item.outcome, item.reason = "imported", f"{document.chunk_count} chunks"
            elif document.status in (Document.Status.SKIPPED, Document.Status.FAILED):
                item.outcome, item.reason = document.status, document.error

    def summary(self) -> str:
        if self.error:
            return f"{self.collection}: {self.error}"
        parts = [f"{self.count(o)} {o}" for o in ("queued", "imported", "unchanged", "skipped", "failed")]
        return f"{self.collection} ← {self.folder}: {len(self.items)} file(s), {', '.join(parts)}, {len(self.retired)} retired"


def sync(name: str, folder: Path) -> Sync:
    """Bring collection ``name`` (created, visible to everyone, if missing) in step with
    ``folder``; ingestion of what was queued goes on in the worker."""
    result = Sync(name, folder)
    if not folder.is_dir():
        result.error = f"the folder {folder} is not there (or is not a folder): nothing imported or retired"
        return result
    try:
        result.items, result.hidden = folders.collect([folder])
    except OSError as exc:  # unreadable folder or subfolder: better nothing than retiring what is only unreadable
        result.error = f"the folder {folder} could not be read ({exc.strerror or exc}): nothing imported or retired"
        return result
    collection, created = Collection.objects.get_or_create(name=name)
    if created:
        folders.record(Kind.COLLECTION_CHANGE, f"added collection “{collection}”", [collection_subject(collection)],
                       via=VIA, action="added", **access_state(collection))
    with queued_together():  # the folder's new and changed files share the index syncs
        for item in result.items:
            if not item.outcome:
                folders.add(collection, item, via=VIA)
    result.retired = retire_missing(collection, folder, {str(item.path.resolve()) for item in result.items})
    return result


def retire_missing(collection: Collection, folder: Path, present: set[str]) -> list[str]:
    """Delete the documents of ``collection`` imported from under ``folder`` whose file is
    not among ``present`` (resolved paths) any more; returns their titles."""
    root = str(folder.resolve()).rstrip(os.sep) + os.sep
    retired = []
    gone = Document.objects.filter(collection=collection, source_path__startswith=root).exclude(source_path__in=present)
    for document in gone:
        with transaction.atomic():
            folders.record(Kind.DOCUMENT_DELETE, f"retired document “{document}” (its file is gone from {folder})",
                           [document_subject(document, Role.CHANGED)], via=VIA, action="deleted",
                           object_id=document.pk, file_name=document.original_name)
            document.delete()  # chunks go with it; the index drops them (ingestion.signals)
        retired.append(str(document))
    return retired


def sync_all() -> list[Sync]:
    """Sync every collection of ``KB_SOURCES``, each on its own: one bad folder never stops
    the others."""
    results = []
    for name, folder in configured().items():
        try:
            result = sync(name, folder)
        except Exception as exc:  # noqa: BLE001 - logged; the other folders go on
            log.exception("Syncing %s from %s failed", name, folder)
            result = Sync(name, folder, error=f"failed: {exc}")
        log.info("Folder sync: %s", result.summary())
        results.append(result)
    return results
