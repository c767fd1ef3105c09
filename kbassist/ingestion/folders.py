"""Files and folders on the server's own disk, added to a collection: the one path behind
``manage.py import_documents`` and collections fed from a folder (``sources``).

Folders are read recursively in name order; hidden files and folders are left out (and
counted). Every file becomes an ``Item`` whose outcome is decided here (skipped with the
reason, failed with the reason, an FAQ list imported) or by the worker (a ``queued``
document). Files are named by their path inside the folder given, never by where the server
stores them.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from pathlib import Path

from kbassist import audit
from kbassist.audit import Kind, Role
from kbassist.knowledge.auditing import document_subject, faq_subject, collection_subject
from kbassist.knowledge.models import Collection, Document

from .importing import FileRejected, add_document, import_faq_csv, is_faq_csv
from .parsers import SUPPORTED_EXTENSIONS


@dataclass
class Item:
    shown: str  # the file as the user knows it: its path inside the folder given
    path: Path | None = None
    outcome: str = ""  # imported | unchanged | skipped | failed | queued
    reason: str = ""
    document: Document | None = None


def record(kind, summary, subjects, via="command line", **details):
    """A change made on the server, not through a browser: no signed-in user, the OS user
    instead, and the way it came (``via``: "command line", "folder sync")."""
    user = _os_user()
    audit.record(kind, user=None, request=None, summary=f"{summary} ({via}, {user})", subjects=subjects,
                 via=via, os_user=user, **details)


def _os_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no name for this uid (e.g. in a container)
        return "unknown"


def collect(paths) -> tuple[list[Item], int]:
    """An ``Item`` for each file under ``paths`` (files or folders), and how many hidden
    files and folders were left out. Raises FileNotFoundError naming a path that is not there."""
    items: list[Item] = []
    hidden = 0
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for found in walk(path):
                if found is None:
                    hidden += 1
                    continue
                items.append(_item(found, found.relative_to(path).as_posix()))
        elif path.is_file():
            items.append(_item(path, path.name))
        else:
            raise FileNotFoundError(f"{raw} does not exist.")
    return items, hidden


def walk(folder: Path):
    """Files under ``folder`` in name order; None for each hidden file or folder left out."""
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        if entry.name.startswith("."):
            yield None
        elif entry.is_dir():
            yield from walk(entry)
        elif entry.is_file():
            yield entry


def _item(path: Path, shown: str) -> Item:
    item = Item(shown, path)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_EXTENSIONS:
        item.outcome = "skipped"
        item.reason = f"unsupported type {suffix or '(no extension)'}"
    return item


def add(collection: Collection, item: Item, via: str = "command line") -> int:
    """Add one file (an item not yet decided); returns the number of FAQ entries it added or
    changed. A file already imported from the same path is *unchanged*; a changed one
    replaces its old version (queued again). An unreadable file is *failed*."""
    try:
        return _add(collection, item, via)
    except OSError as exc:  # unreadable: permissions, a file that vanished
        item.outcome, item.reason = "failed", f"The file could not be read ({exc.strerror or exc.__class__.__name__})."
        return 0


def _add(collection: Collection, item: Item, via: str) -> int:
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
                record(Kind.FAQ_EDIT, f"imported {len(result.entries)} FAQ entries into “{collection}”",
                       [collection_subject(collection)] + [faq_subject(f, Role.CHANGED) for f in result.entries],
                       via=via, action="imported", file_name=path.name, faq_ids=[f.pk for f in result.entries])
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
            record(kind, f"{action} document “{document}”", [document_subject(document, Role.CHANGED)], via=via,
                   action=action, object_id=document.pk, file_name=document.original_name, sha256=document.sha256)
    elif document.status == Document.Status.SKIPPED:
        item.outcome, item.reason = "skipped", document.error
    else:
        item.outcome = "unchanged"
    return 0
