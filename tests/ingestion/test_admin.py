"""The document and FAQ admin (kbassist.ingestion.admin) as a superuser uses it: uploads,
FAQ CSV import, duplicates, and every page renders. Who else may do what:
test_admin_permissions.py."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from kbassist.knowledge.models import FAQ

pytestmark = pytest.mark.django_db


@pytest.fixture
def leave(public_collection, make_document):
    return make_document(public_collection, "leave.md", "# Leave\n\n28 days.\n")


def test_admin_faq_csv_import(client, admin_user, public_collection, django_capture_on_commit_callbacks):
    client.force_login(admin_user)
    upload = SimpleUploadedFile("faq.csv", "question,answer\nWhen is payday?,On the 25th.\n年假多少天？,28天。\n".encode())
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("admin:knowledge_faq_import"), {"collection": public_collection.pk, "csv_file": upload})
    assert response.status_code == 302
    assert FAQ.objects.count() == 2 and all(faq.chunks.count() == 1 for faq in FAQ.objects.all())
    bad = SimpleUploadedFile("bad.csv", b"just one column\n")
    response = client.post(reverse("admin:knowledge_faq_import"), {"collection": public_collection.pk, "csv_file": bad})
    assert response.status_code == 200 and "No row has both a question and an answer (lines 1)" in response.content.decode()
    # Some bad rows: the good ones are imported, the bad ones named by line.
    mixed = SimpleUploadedFile("mixed.csv", b"question,answer\nWho approves travel?,Your manager.\nNo answer here\n")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("admin:knowledge_faq_import"), {"collection": public_collection.pk, "csv_file": mixed},
                               follow=True)
    page = response.content.decode()
    assert "1 FAQ entries imported" in page and "1 row without both a question and an answer, at line 3" in page
    assert FAQ.objects.filter(question="Who approves travel?").exists()


def test_admin_rejects_a_duplicate_upload(client, admin_user, leave):
    client.force_login(admin_user)
    response = client.post(
        reverse("admin:knowledge_document_add"),
        {"collection": leave.collection_id, "title": "", "file": SimpleUploadedFile("again.md", b"# Leave\n\n28 days.\n")},
    )
    assert response.status_code == 200 and "already in the collection" in response.content.decode()


def test_admin_pages_render(client, admin_user, leave):
    client.force_login(admin_user)
    for name in ["admin:knowledge_document_changelist", "admin:knowledge_document_upload", "admin:knowledge_faq_changelist",
                 "admin:knowledge_faq_import"]:
        assert client.get(reverse(name)).status_code == 200, name
    assert client.get(reverse("admin:knowledge_document_change", args=[leave.pk])).status_code == 200
