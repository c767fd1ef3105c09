"""HTTP views of the chat: login, the chat page, conversations and feedback, only ever one's own."""

import json

import pytest
from django.urls import reverse

from kbassist.chat.models import Conversation, Feedback, Message

pytestmark = pytest.mark.django_db


def test_chat_page_requires_login(client):
    response = client.get(reverse("chat:index"))
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_login_then_chat_page(client, employee):
    response = client.post(reverse("login"), {"username": "erin", "password": "pw-erin"})
    assert response.status_code == 302
    page = client.get(reverse("chat:index")).content.decode()
    assert 'id="question"' in page and "kbassist/render.js" in page and "kbassist/chat.js" in page


def test_reopening_a_conversation_shows_its_messages_only_to_its_owner(client, employee, hr_user):
    conversation = Conversation.objects.create(user=employee, title="Vacation")
    Message.objects.create(conversation=conversation, role="user", content="How many days?")
    Message.objects.create(conversation=conversation, role="assistant", content="28 days [1].", citations=[{"n": 1, "title": "Leave"}])
    client.force_login(employee)
    page = client.get(reverse("chat:conversation", args=[conversation.pk])).content.decode()
    assert "How many days?" in page and 'data-cite=\\"1\\"' in page
    client.force_login(hr_user)
    assert client.get(reverse("chat:conversation", args=[conversation.pk])).status_code == 404


def _post(client, url, data):
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
