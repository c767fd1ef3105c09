"""Collections fed from a folder on the server (KB_SOURCES): the worker's periodic task (and
`manage.py sync_sources`) imports new and changed files and retires those deleted from the
folder, through the same path as `import_documents`."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from kbassist.ingestion import sources
from kbassist.ingestion.tasks import sync_sources_task
from kbassist.knowledge.models import Collection, Document
from kbassist.retrieval.search import search

from tests.conftest import running_worker, wait_until

PARKING = "# Parking\n\nStaff park in garage B, level 2. The gate opens with your badge.\n"
PARKING_NEW = "# Parking\n\nFrom March, staff park in garage D, level 1. The gate opens with your badge.\n"


def ready(collection_name, name, sha=None):
    def check():
        document = Document.objects.filter(collection__name=collection_name, original_name=name).first()
        return document is not None and document.status == "ready" and (sha is None or document.sha256 != sha)
    return check


def best(question, user):
    hits = search(question, user).hits
    return hits[0].chunk if hits else None


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_worker_follows_the_folder_add_change_delete(tmp_path, monkeypatch, settings, employee):
    folder = tmp_path / "hr"
    folder.mkdir()
    (folder / "parking.md").write_text(PARKING)
    (folder / "canteen.md").write_text("# Canteen\n\nLunch is served from 11:30 to 14:00.\n")
    monkeypatch.setenv("KB_SOURCES", f"HR policies={folder}")  # the worker's setting
    settings.KB_SOURCES = f"HR policies={folder}"

    with running_worker():
        # A new folder: its files are imported into a new collection.
        sync_sources_task.delay()
        wait_until(ready("HR policies", "parking.md"), what="the worker to import parking.md")
        wait_until(ready("HR policies", "canteen.md"), what="the worker to import canteen.md")
        assert Collection.objects.get(name="HR policies").is_public
        assert "garage B" in best("Where do staff park?", employee).text

        # A changed file replaces its old version; the unchanged one is left alone.
        parking = Document.objects.get(original_name="parking.md")
        canteen = Document.objects.get(original_name="canteen.md")
        (folder / "parking.md").write_text(PARKING_NEW)
        sync_sources_task.delay()
        wait_until(ready("HR policies", "parking.md", sha=parking.sha256), what="the worker to re-import parking.md")
        assert Document.objects.get(original_name="parking.md").pk == parking.pk  # the same document, new content
        assert Document.objects.get(original_name="canteen.md").ingested_at == canteen.ingested_at
        chunk = best("Where do staff park?", employee)
        assert "garage D" in chunk.text and "garage B" not in chunk.text

        # A deleted file's document is retired and gone from search.
        os.remove(folder / "parking.md")
        sync_sources_task.delay()
        wait_until(lambda: not Document.objects.filter(original_name="parking.md").exists(), what="parking.md retired")
        wait_until(lambda: all("garage" not in h.chunk.text for h in search("Where do staff park in the garage?", employee).hits),
                   what="the index to drop the retired document", timeout=60)
        assert Document.objects.filter(original_name="canteen.md", status="ready").exists()


@pytest.mark.django_db
def test_a_missing_folder_retires_nothing(tmp_path, settings, django_capture_on_commit_callbacks):
    folder = tmp_path / "it"
    folder.mkdir()
    (folder / "vpn.md").write_text("# VPN\n\nConnect with the WireGuard profile from the IT portal.\n")
    settings.KB_SOURCES = f"IT={folder}"
    with django_capture_on_commit_callbacks(execute=True):  # ingestion, in-process here
        assert [r.summary() for r in sources.sync_all()][0].startswith("IT ← ")
    assert Document.objects.filter(collection__name="IT", status="ready").count() == 1
    (folder / "vpn.md").unlink()
    folder.rmdir()  # an unmounted share looks like this
    result = sources.sync_all()[0]
    assert "is not there" in result.error and result.retired == []
    assert Document.objects.filter(collection__name="IT").count() == 1


@pytest.mark.django_db(transaction=True)  # tasks run in-process as each change commits
def test_sync_sources_command_reports_and_only_retires_files_of_its_own_folder(tmp_path, settings):
    folder, other = tmp_path / "hr", tmp_path / "elsewhere"
    folder.mkdir(), other.mkdir()
    (folder / "a.md").write_text("# A\n\nAlpha policy text.\n")
    (folder / "notes.xyz").write_text("not a document")
    (other / "b.md").write_text("# B\n\nBeta policy text.\n")
    call_command("import_documents", str(other), "--collection", "HR", stdout=io.StringIO())  # by hand, not from the folder
    settings.KB_SOURCES = f"HR={folder}"
    out = io.StringIO()
    call_command("sync_sources", stdout=out)
    text = out.getvalue()
    assert "skipped  notes.xyz: unsupported type .xyz" in text
    assert "HR ← " in text and "1 imported" in text and "0 retired" in text
    assert set(Document.objects.filter(collection__name="HR").values_list("original_name", flat=True)) == {"a.md", "b.md"}
    (folder / "a.md").unlink()
    out = io.StringIO()
    call_command("sync_sources", "--collection", "HR", stdout=out)
    assert "retired  A" in out.getvalue() or "retired  a.md" in out.getvalue()
    assert list(Document.objects.filter(collection__name="HR").values_list("original_name", flat=True)) == ["b.md"]


def test_kb_sources_must_be_collection_equals_absolute_folder(settings):
    settings.KB_SOURCES = "HR=/srv/kb/hr; IT support = /srv/kb/it ;"
    assert sources.configured() == {"HR": Path("/srv/kb/hr"), "IT support": Path("/srv/kb/it")}
    settings.KB_SOURCES = "HR=kb/hr"
    with pytest.raises(ValueError, match="absolute path"):
        sources.configured()
    settings.KB_SOURCES = "/srv/kb/hr"
    with pytest.raises(ValueError, match="collection=folder"):
        sources.configured()
    with pytest.raises(CommandError, match="collection=folder"):
        call_command("sync_sources")
