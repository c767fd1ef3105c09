"""HTTP views: login, the chat page, and sources served only to those who may see them."""

import pytest
from django.urls import reverse

from kbassist.chat.models import Conversation, Message
from kbassist.knowledge.models import FAQ

pytestmark = pytest.mark.django_db


@pytest.fixture
def docs(public_collection, hr_collection, make_document):
    return {
        "public": make_document(public_collection, "leave.md", "# Leave\n\n28 days.\n"),
        "private": make_document(hr_collection, "salaries.md", "# Salaries\n\nBand E3.\n"),
    }


def test_chat_page_requires_login(client):
    response = client.get(reverse("chat:index"))
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_login_then_chat_page(client, employee):
    response = client.post(reverse("login"), {"username": "erin", "password": "pw-erin"})
    assert response.status_code == 302
    page = client.get(reverse("chat:index")).content.decode()
    assert 'id="question"' in page and "kbassist/chat.js" in page


def test_reopening_a_conversation_shows_its_messages_only_to_its_owner(client, employee, hr_user):
    conversation = Conversation.objects.create(user=employee, title="Vacation")
    Message.objects.create(conversation=conversation, role="user", content="How many days?")
    Message.objects.create(conversation=conversation, role="assistant", content="28 days [1].", citations=[{"n": 1, "title": "Leave"}])
    client.force_login(employee)
    page = client.get(reverse("chat:conversation", args=[conversation.pk])).content.decode()
    assert "How many days?" in page and 'data-cite=\\"1\\"' in page
    client.force_login(hr_user)
    assert client.get(reverse("chat:conversation", args=[conversation.pk])).status_code == 404


def test_source_file_is_served_to_allowed_users_only(client, docs, employee, hr_user):
    client.force_login(employee)
    assert client.get(reverse("knowledge:document_file", args=[docs["public"].pk])).status_code == 200
    assert client.get(reverse("knowledge:document_file", args=[docs["private"].pk])).status_code == 404
    client.force_login(hr_user)
    response = client.get(reverse("knowledge:document_file", args=[docs["private"].pk]))
    assert response.status_code == 200 and b"Band E3" in b"".join(response.streaming_content)
    assert response["Content-Security-Policy"] == "sandbox"


def test_chunk_passage_respects_access(client, docs, employee):
    private_chunk = docs["private"].chunks.first()
    public_chunk = docs["public"].chunks.first()
    client.force_login(employee)
    data = client.get(reverse("knowledge:chunk_detail", args=[public_chunk.pk])).json()
    assert data["text"] == "28 days." and data["title"] == "Leave"
    assert client.get(reverse("knowledge:chunk_detail", args=[private_chunk.pk])).status_code == 404


def test_admin_faq_csv_import(client, admin_user, public_collection, django_capture_on_commit_callbacks):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(admin_user)
    upload = SimpleUploadedFile("faq.csv", "question,answer\nWhen is payday?,On the 25th.\n年假多少天？,28天。\n".encode())
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("admin:knowledge_faq_import"), {"collection": public_collection.pk, "csv_file": upload})
    assert response.status_code == 302
    assert FAQ.objects.count() == 2 and all(faq.chunks.count() == 1 for faq in FAQ.objects.all())
    bad = SimpleUploadedFile("bad.csv", b"just one column\n")
    response = client.post(reverse("admin:knowledge_faq_import"), {"collection": public_collection.pk, "csv_file": bad})
    assert response.status_code == 200 and "needs a question and an answer" in response.content.decode()


def test_admin_rejects_a_duplicate_upload(client, admin_user, docs):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(admin_user)
    response = client.post(
        reverse("admin:knowledge_document_add"),
        {"collection": docs["public"].collection_id, "title": "", "file": SimpleUploadedFile("again.md", b"# Leave\n\n28 days.\n")},
    )
    assert response.status_code == 200 and "already in the collection" in response.content.decode()


def test_admin_pages_render(client, admin_user, docs):
    client.force_login(admin_user)
    for name in ["admin:knowledge_document_changelist", "admin:knowledge_document_upload", "admin:knowledge_faq_changelist",
                 "admin:knowledge_faq_import", "admin:knowledge_collection_changelist", "admin:knowledge_chunk_changelist"]:
        assert client.get(reverse(name)).status_code == 200, name
