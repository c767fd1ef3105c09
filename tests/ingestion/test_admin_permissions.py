"""Who may change documents and FAQs through the admin (kbassist.ingestion.admin).

Being staff only opens the admin. Each change needs the model permission (add a document,
change an FAQ, ...) *and* the per-collection right: membership of one of the collection's
editor groups. Superusers may do everything (tests/knowledge/test_models.py); turning an
answer into an FAQ is checked with the message admin (tests/chat/test_admin.py).
"""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from kbassist.knowledge.models import FAQ, Document

pytestmark = pytest.mark.django_db

PHISHING = "Log in at http://evil.example to claim your days."


@pytest.fixture
def vacation_faq(public_collection):
    return FAQ.objects.create(collection=public_collection, question="How many vacation days do I get?", answer="28 days.")


def upload(client, collection, name="notes.md"):
    files = SimpleUploadedFile(name, b"# Notes\n\nSomething new.\n")
    return client.post(reverse("admin:knowledge_document_upload"), {"collection": collection.pk, "files": files})


def faq_csv(client, collection):
    data = SimpleUploadedFile("faq.csv", f"question,answer\nHow many vacation days do I get?,{PHISHING}\n".encode())
    return client.post(reverse("admin:knowledge_faq_import"), {"collection": collection.pk, "csv_file": data})


def test_staff_without_permissions_can_neither_upload_nor_import_faqs(client, hr_collection, public_collection, vacation_faq, make_staff):
    client.force_login(make_staff("sam"))
    assert client.get(reverse("admin:knowledge_document_upload")).status_code == 403
    assert upload(client, hr_collection).status_code == 403
    assert client.get(reverse("admin:knowledge_faq_import")).status_code == 403
    assert faq_csv(client, public_collection).status_code == 403
    assert Document.objects.count() == 0
    vacation_faq.refresh_from_db()
    assert vacation_faq.answer == "28 days."


def test_upload_is_offered_only_into_collections_the_user_may_edit(client, hr_collection, public_collection, make_staff):
    client.force_login(make_staff("hana", "add_document", "view_document", editor_of=[hr_collection]))
    page = client.get(reverse("admin:knowledge_document_upload")).content.decode()
    assert "HR confidential" in page and "Handbook" not in page
    response = upload(client, public_collection)  # not an editor of it
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    assert Document.objects.count() == 0
    assert upload(client, hr_collection).status_code == 302
    assert list(Document.objects.values_list("collection__name", flat=True)) == ["HR confidential"]


def test_faq_import_needs_add_and_change_permissions_and_the_collection(client, public_collection, hr_collection, vacation_faq, make_staff):
    client.force_login(make_staff("fay", "add_faq", editor_of=[public_collection]))  # may add, not rewrite
    assert faq_csv(client, public_collection).status_code == 403
    client.force_login(make_staff("finn", "add_faq", "change_faq", editor_of=[hr_collection]))
    response = faq_csv(client, public_collection)
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    vacation_faq.refresh_from_db()
    assert vacation_faq.answer == "28 days."


def test_faq_editing_is_limited_to_the_editors_collections(client, public_collection, hr_collection, vacation_faq, make_staff):
    client.force_login(make_staff("ed", "view_faq", "change_faq", "delete_faq", editor_of=[hr_collection]))
    changelist = client.get(reverse("admin:knowledge_faq_changelist")).content.decode()
    assert "How many vacation days" not in changelist
    url = reverse("admin:knowledge_faq_change", args=[vacation_faq.pk])
    client.post(url, {"collection": public_collection.pk, "question": vacation_faq.question, "answer": PHISHING, "origin": "manual"})
    assert client.post(reverse("admin:knowledge_faq_delete", args=[vacation_faq.pk]), {"post": "yes"}).status_code != 200
    vacation_faq.refresh_from_db()
    assert vacation_faq.answer == "28 days."
    client.force_login(make_staff("eve", "view_faq", "change_faq", editor_of=[public_collection]))
    client.post(url, {"collection": public_collection.pk, "question": vacation_faq.question, "answer": "30 days.", "origin": "manual"})
    vacation_faq.refresh_from_db()
    assert vacation_faq.answer == "30 days."


def test_document_change_pages_are_limited_to_the_editors_collections(client, hr_collection, public_collection, make_document, make_staff):
    private = make_document(hr_collection, "salaries.md", "# Salaries\n\nBand E3.\n")
    client.force_login(make_staff("dan", "view_document", "change_document", "delete_document", editor_of=[public_collection]))
    assert "salaries" not in client.get(reverse("admin:knowledge_document_changelist")).content.decode()
    client.post(reverse("admin:knowledge_document_delete", args=[private.pk]), {"post": "yes"})
    assert Document.objects.filter(pk=private.pk).exists()
