"""HTTP views: login, the chat page, and sources served only to those who may see them."""

import json

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


def _post(client, url, data):
    import json

    return client.post(url, json.dumps(data), content_type="application/json")


def test_rename_and_delete_only_own_conversations(client, employee, hr_user):
    mine = Conversation.objects.create(user=employee, title="old")
    theirs = Conversation.objects.create(user=hr_user, title="theirs")
    client.force_login(employee)
    assert _post(client, reverse("chat:rename", args=[mine.pk]), {"title": "Vacation questions"}).json()["title"] == "Vacation questions"
    assert _post(client, reverse("chat:rename", args=[mine.pk]), {"title": "  "}).status_code == 400
    assert _post(client, reverse("chat:rename", args=[theirs.pk]), {"title": "x"}).status_code == 404
    assert _post(client, reverse("chat:delete", args=[theirs.pk]), {}).status_code == 404
    assert _post(client, reverse("chat:delete", args=[mine.pk]), {}).status_code == 200
    assert not Conversation.objects.filter(pk=mine.pk).exists() and Conversation.objects.filter(pk=theirs.pk).exists()
    assert client.get(reverse("chat:rename", args=[theirs.pk])).status_code == 405


def test_sidebar_lists_only_my_conversations_newest_first(client, employee, hr_user):
    Conversation.objects.create(user=employee, title="first")
    Conversation.objects.create(user=employee, title="second")
    Conversation.objects.create(user=hr_user, title="not mine")
    client.force_login(employee)
    page = client.get(reverse("chat:index")).content.decode()
    assert page.index("second") < page.index("first") and "not mine" not in page


def test_feedback_on_my_answers(client, employee, hr_user):
    from kbassist.chat.models import Feedback

    conversation = Conversation.objects.create(user=employee)
    question = Message.objects.create(conversation=conversation, role="user", content="q")
    reply = Message.objects.create(conversation=conversation, role="assistant", content="a")
    client.force_login(employee)
    assert _post(client, reverse("chat:feedback", args=[reply.pk]), {"helpful": False, "comment": "wrong page"}).status_code == 200
    assert _post(client, reverse("chat:feedback", args=[reply.pk]), {"helpful": "maybe"}).status_code == 400
    assert _post(client, reverse("chat:feedback", args=[question.pk]), {"helpful": True}).status_code == 404
    feedback = Feedback.objects.get(message=reply)
    assert feedback.helpful is False and feedback.comment == "wrong page"
    client.force_login(hr_user)
    assert _post(client, reverse("chat:feedback", args=[reply.pk]), {"helpful": True}).status_code == 404


def test_interface_in_chinese_from_the_browser_or_the_switch(client, employee):
    client.force_login(employee)
    page = client.get(reverse("chat:index"), HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9").content.decode()
    assert "新对话" in page and "向公司知识库提问" in page
    catalog = client.get(reverse("chat:jsi18n"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert json.dumps("标准答案")[1:-1] in catalog  # the JS strings too (escaped in the catalog)
    client.post(reverse("set_language"), {"language": "en", "next": "/"}, HTTP_ACCEPT_LANGUAGE="zh-CN")
    assert "New chat" in client.get(reverse("chat:index"), HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()


def test_curators_see_refused_and_disliked_answers_and_make_faqs(client, admin_user, employee, public_collection, django_capture_on_commit_callbacks):
    from kbassist.chat.models import Feedback

    conversation = Conversation.objects.create(user=employee)
    Message.objects.create(conversation=conversation, role="user", content="Is parking free?")
    good = Message.objects.create(conversation=conversation, role="assistant", content="Yes, on Fridays [1].",
                                  citations=[{"n": 1, "collection": "Handbook", "cited": True}])
    Message.objects.create(conversation=conversation, role="user", content="Capital of Mars?")
    refused = Message.objects.create(conversation=conversation, role="assistant", content="Not covered.", kind="refused")
    Feedback.objects.create(message=good, user=employee, helpful=False, comment="too short")
    client.force_login(admin_user)
    changelist = reverse("admin:chat_message_changelist")
    page = client.get(changelist + "?kind__exact=refused").content.decode()
    assert "Capital of Mars?" in page and "Is parking free?" not in page
    page = client.get(changelist + "?feedback=down").content.decode()
    assert "Is parking free?" in page and "too short" in page
    with django_capture_on_commit_callbacks(execute=True):
        client.post(changelist, {"action": "make_faq", "_selected_action": [good.pk, refused.pk]})
    faq = FAQ.objects.get()
    assert (faq.question, faq.answer, faq.origin, faq.collection) == ("Is parking free?", "Yes, on Fridays.", "curated", public_collection)
    assert faq.chunks.count() == 1  # indexed, so it is answered as a curated answer from now on
