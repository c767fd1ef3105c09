"""The OpenAI-compatible endpoint's rules, through Django's request stack (the official client
against a real server is tests/e2e/test_openai_client.py)."""

import json

import pytest

from kbassist.api.compat import CHECKED, conversation_for, tail_after_stream
from kbassist.chat.models import Conversation, Message

from tests.fakes import ScriptedBackend

pytestmark = pytest.mark.django_db


def completions(api_client, body):
    return api_client.client.post("/v1/chat/completions", json.dumps(body), content_type="application/json",
                                  headers=api_client.headers)


def test_malformed_requests_get_openai_shaped_errors(api, client, employee, public_collection):
    caller = api(employee)
    assert client.post("/v1/chat/completions", "{}", content_type="application/json").status_code == 401
    for body, status in [
        ({"messages": [{"role": "user", "content": "hi"}]}, 400),  # no model
        ({"model": "kb-assist", "messages": []}, 400),
        ({"model": "kb-assist", "messages": [{"role": "assistant", "content": "hi"}]}, 400),  # no question last
        ({"model": "kb-assist/nope", "messages": [{"role": "user", "content": "hi"}]}, 404),
    ]:
        response = completions(caller, body)
        assert response.status_code == status, body
        assert set(response.json()["error"]) == {"message", "type", "code", "param"}
    assert caller.client.get("/v1/chat/completions", headers=caller.headers).status_code == 405
    assert caller.client.get("/v1/models/kb-assist/handbook", headers=caller.headers).json()["id"] == "kb-assist/handbook"


@pytest.mark.django_db(transaction=True)
def test_content_parts_and_the_answer_with_markers_footer_and_sources(api, employee, handbook, backend):
    backend(ScriptedBackend())
    response = completions(api(employee), {
        "model": "kb-assist",
        "messages": [{"role": "user", "content": [{"type": "text", "text": "How many vacation days do I get?"}]}],
    })
    data = response.json()
    text = data["choices"][0]["message"]["content"]
    assert text.startswith("Full-time staff get 28 days [1].\n\nSources:\n[1] Leave, Leave › Vacation: http://testserver/documents/")
    assert data["object"] == "chat.completion" and data["sources"][0]["cited"] is True
    assert data["kb_assist"]["kind"] == "generated"


def test_a_conversation_is_continued_when_the_client_sends_it_back(employee, hr_user):
    conversation = Conversation.objects.create(user=employee, title="Vacation")
    Message.objects.create(conversation=conversation, role="user", content="How many vacation days?")
    Message.objects.create(conversation=conversation, role="assistant", content="28 days [1].", kind="generated")
    earlier = [("user", "How many vacation days?"), ("assistant", "28 days [1].\n\nSources:\n[1] Leave")]
    assert conversation_for(employee, earlier) == conversation
    # Someone else's identical conversation is never reused: they get one of their own.
    theirs = conversation_for(hr_user, earlier)
    assert theirs != conversation and theirs.user == hr_user
    assert [(m.role, m.content) for m in theirs.messages.all()] == [("user", "How many vacation days?"), ("assistant", "28 days [1].")]
    assert conversation_for(employee, []) is None


def test_what_follows_a_stream_so_that_it_ends_as_the_checked_answer():
    assert tail_after_stream("Staff get 28 days", "Staff get 28 days [1].") == " [1]."
    assert tail_after_stream("Staff get 28 days. Ask HR.", "Staff get 28 days [1]. Ask HR.") == ""
    corrected = tail_after_stream("Staff get 30 days.", "Staff get 28 days [1].")
    assert corrected == "\n\n" + CHECKED + "\nStaff get 28 days [1]."
