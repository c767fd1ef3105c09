"""Ingestion through a real Celery worker process, as in production."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from kbassist.knowledge.models import Chunk, Document
from kbassist.retrieval.search import search
from kbassist.retrieval.store import collection_dir, current_version, load_version

from tests.conftest import ROOT, running_worker, wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def worker(django_db_setup, django_db_blocker):
    """One worker process (and one load of its embedder) for the module's tests; each test
    brings its own documents and waits for them."""
    with running_worker() as proc:
        yield proc


def finished(*names):
    def check():
        states = list(Document.objects.filter(original_name__in=names).values_list("status", flat=True))
        return len(states) == len(names) and all(s in ("ready", "failed") for s in states)

    return check


def test_admin_upload_is_ingested_by_the_worker_and_searchable_at_once(worker, client, admin_user, public_collection, employee, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(admin_user)
    files = [
        SimpleUploadedFile("parking.md", b"# Parking\n\n## Bikes\n\nBike racks are in the courtyard behind building B.\n"),
        SimpleUploadedFile("canteen.md", b"# Canteen\n\nThe canteen serves lunch from 11:30 to 14:00.\n"),
        SimpleUploadedFile("broken.pdf", b"%PDF-1.4 this file was cut off"),
    ]
    response = client.post(reverse("admin:knowledge_document_upload"), {"collection": public_collection.pk, "files": files})
    assert response.status_code == 302
    wait_until(finished("parking.md", "canteen.md", "broken.pdf"), what="the worker to ingest three uploads")

    broken = Document.objects.get(original_name="broken.pdf")
    assert broken.status == "failed" and "PDF" in broken.error
    for name in ("parking.md", "canteen.md"):
        document = Document.objects.get(original_name=name)
        assert document.status == "ready" and document.progress == 100 and document.chunk_count >= 1

    # Both documents, ingested at the same moment, are in the index exactly once.
    folder = collection_dir(public_collection.pk)
    ids = load_version(folder, current_version(folder)).chunk_ids.tolist()
    assert len(ids) == len(set(ids))
    assert set(ids) == set(Chunk.objects.filter(collection=public_collection).values_list("pk", flat=True))

    # This process (the "web process") sees the new index without any restart.
    assert search("where are the bike racks", employee).hits[0].chunk.document.original_name == "parking.md"

    # The admin list shows status, progress and the failure reason.
    page = client.get(reverse("admin:knowledge_document_changelist")).content.decode()
    assert 'data-status="failed"' in page and "PDF" in page and 'data-status="ready"' in page


def test_deleting_a_document_in_the_admin_removes_it_from_the_index(worker, client, admin_user, public_collection, employee, make_document):
    document = make_document(public_collection, "old.md", "# Old policy\n\nDesks must be cleared every Friday.\n")
    make_document(public_collection, "keep.md", "# Keep\n\nCoffee is free.\n")
    assert search("desks cleared Friday", employee).hits[0].chunk.document == document
    client.force_login(admin_user)
    client.post(reverse("admin:knowledge_document_delete", args=[document.pk]), {"post": "yes"})
    folder = collection_dir(public_collection.pk)
    live_ids = lambda: set(load_version(folder, current_version(folder)).chunk_ids.tolist())  # noqa: E731
    wait_until(lambda: len(live_ids()) == 1, what="the worker to drop the deleted document's chunks")
    assert live_ids() == set(Chunk.objects.values_list("pk", flat=True))
    assert all(h.chunk.document_id != document.pk for h in search("desks cleared Friday", employee).hits)


def test_import_documents_command_waits_and_reports_failures(worker, tmp_path, capsys):
    folder = tmp_path / "docs"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.md").write_text("# A\n\nAlpha policy.\n")
    (folder / "sub" / "b.txt").write_text("Beta policy.\n")
    (folder / "sub" / "c.docx").write_bytes(b"not a docx")
    (folder / "faq.csv").write_text("question,answer\nWho approves travel?,Your manager.\n")
    with pytest.raises(CommandError, match=r"1 file\(s\) failed: sub/c.docx"):
        call_command("import_documents", str(folder), "--collection", "Imported", "--timeout", "120")
    err = capsys.readouterr().err
    assert "FAILED   sub/c.docx" in err and str(tmp_path) not in err
    assert Document.objects.filter(status="ready").count() == 2
    assert Chunk.objects.filter(faq__question="Who approves travel?").exists()
    # A second run finds nothing new to do.
    call_command("import_documents", str(folder / "a.md"), "--collection", "Imported")
    assert "Summary of 1 file(s): 0 imported (0 chunks), 1 unchanged, 0 skipped, 0 failed." in capsys.readouterr().out


def test_starter_knowledge_base_ingests_cleanly(worker, employee):
    call_command("import_documents", str(ROOT / "knowledge"), "--collection", "Company handbook", "--timeout", "300")
    assert not Document.objects.exclude(status="ready").exists()
    assert Document.objects.filter(original_name="travel-and-expenses.pdf", page_count__gte=4).exists()
    hit = search("What is the deadline for submitting expenses?", employee).hits
    assert any(h.chunk.page == 5 for h in hit[:3])
