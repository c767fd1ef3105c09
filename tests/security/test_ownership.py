"""No object of another user is reachable by id: conversations, messages, feedback, through
every chat URL that takes an id, the websocket (tests/security/test_websocket_access.py) and
``answer()`` itself."""

import json

import pytest
from django.urls import reverse

from kbassist.chat.answering import answer, regenerate
from kbassist.chat.models import Conversation, Feedback, Message
from kbassist.chat.urls import urlpatterns as chat_urls

pytestmark = pytest.mark.django_db

# Every chat URL that takes an object id, and the model the id is of.
ID_URLS = {"conversation": Conversation, "rename": Conversation, "delete": Conversation, "feedback": Message}


@pytest.fixture
def theirs(hr_user, employee):
    conversation = Conversation.objects.create(user=hr_user, title="HR secrets")
    Message.objects.create(conversation=conversation, role="user", content="What is my salary?")
    reply = Message.objects.create(conversation=conversation, role="assistant", content="Band E3 pays 91,000 EUR.")
    feedback = Feedback.objects.create(message=reply, user=hr_user, helpful=True, comment="thanks")
    return conversation, reply, feedback


def test_every_chat_url_with_an_id_is_covered():
    with_ids = {p.name for p in chat_urls if p.pattern.converters}
    assert with_ids == set(ID_URLS), "a new chat URL takes an id: add it to ID_URLS"


def test_no_chat_url_reaches_another_users_objects(client, employee, theirs):
    conversation, reply, feedback = theirs
    ids = {Conversation: [conversation.pk], Message: list(conversation.messages.values_list("pk", flat=True))}
    client.force_login(employee)
    for name, model in ID_URLS.items():
        for pk in ids[model]:
            url = reverse(f"chat:{name}", args=[pk])
            get = client.get(url)
            post = client.post(url, json.dumps({"title": "mine now", "helpful": False, "comment": "x"}), content_type="application/json")
            assert get.status_code in (404, 405) and post.status_code == 404, (url, get.status_code, post.status_code)
            assert b"91,000" not in get.content + post.content and b"HR secrets" not in get.content + post.content
    conversation.refresh_from_db()
    feedback.refresh_from_db()
    assert conversation.title == "HR secrets" and conversation.messages.count() == 2
    assert (feedback.user_id, feedback.helpful, feedback.comment) == (conversation.user_id, True, "thanks")
    assert b"HR secrets" not in client.get(reverse("chat:index")).content  # nor listed in the sidebar


def test_answer_and_regenerate_refuse_another_users_conversation(employee, theirs):
    conversation, _, _ = theirs
    with pytest.raises(PermissionError):
        list(answer("and my bonus?", user=employee, conversation=conversation))
    with pytest.raises(PermissionError):
        list(regenerate(conversation, user=employee))
    assert conversation.messages.count() == 2
