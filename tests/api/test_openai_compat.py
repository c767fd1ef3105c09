"""The OpenAI-compatible endpoint's rules, through Django's request stack (the official client
against a real server is tests/e2e/test_openai_client.py)."""

import json
import re

import pytest

from kbassist.api.compat import CHECKED, MarkedStream, conversation_for, tail_after_stream
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


def test_what_follows_a_stream_whose_markers_were_placed_differently():
    # Streamed with a marker of its own, finished with the chat's: the rest of the final text.
    assert tail_after_stream("Staff get 28 days [2] and", "Staff get 28 days and more [1].") == " more [1]."
    assert tail_after_stream("", "Staff get 28 days [1].") == "Staff get 28 days [1]."


def test_markers_go_into_the_stream_as_each_sentence_ends():
    stream = MarkedStream()
    stream.sources = ["Full-time staff get 28 vacation days per year.", "Tell your manager before 10:00 when you are sick."]
    reply = "Full-time staff get 28 vacation days per year. Tell your manager before 10:00 when sick. Thanks!"
    sent = [stream.feed(w if i == 0 else " " + w) for i, w in enumerate(reply.split(" "))]
    assert "".join(sent) == "Full-time staff get 28 vacation days per year [1]. Tell your manager before 10:00 when sick [2]. Thanks"
    assert sent[sent.index(" year") + 1] == " [1]. Tell"  # the marker arrives as the next sentence begins
    assert tail_after_stream(stream.sent, reply.replace("year.", "year [1].").replace("sick.", "sick [2].")) == "!"


def test_an_answer_that_comes_whole_is_passed_on_as_it_is():
    stream = MarkedStream()
    stream.sources = ["Full-time employees get 28 working days of paid vacation per calendar year."]
    curated = "Full-time employees get 28 working days of paid vacation per calendar year. Part-time staff pro rata. [1]"
    sent = stream.feed(curated)
    assert sent + tail_after_stream(sent, curated) == curated


@pytest.mark.django_db(transaction=True)
def test_a_streamed_answer_carries_the_same_markers_as_the_chat_s(api, employee, handbook, backend):
    reply = "Full-time staff get 28 vacation days per year. Tell your manager before 10:00 and bring a note from day 4."
    backend(ScriptedBackend(reply=reply))
    response = completions(api(employee), {"model": "kb-assist", "stream": True,
                                           "messages": [{"role": "user", "content": "Vacation days and sick leave?"}]})
    chunks = [json.loads(line[6:]) for line in b"".join(response).decode().split("\n")
              if line.startswith("data: {")]
    pieces = [c["choices"][0]["delta"].get("content") for c in chunks if c["choices"][0]["delta"].get("content")]
    final = chunks[-1]["kb_assist"]["answer"]
    assert re.fullmatch(r"Full-time staff get 28 vacation days per year \[\d\]\. "
                        r"Tell your manager before 10:00 and bring a note from day 4 \[\d\]\.", final), final
    text = "".join(pieces)
    assert text.startswith(final + "\n\nSources:\n[")  # the text is the chat's answer, markers and all
    marker = next(i for i, p in enumerate(pieces) if re.search(r"\[\d\]", p))
    assert marker < len(pieces) - 3, "the first marker streams while the answer is still being written"


@pytest.mark.django_db(transaction=True)
def test_a_refusal_has_no_sources_footer_but_lists_the_passages_it_names(api, employee, public_collection, make_document, backend):
    from tests.chat.test_answer_trust import ACCRUAL

    make_document(public_collection, "leave.md", ACCRUAL)
    backend(ScriptedBackend())
    data = completions(api(employee), {"model": "kb-assist", "messages": [{"role": "user", "content": "How many days of wedding leave do I get?"}]}).json()
    assert data["kb_assist"]["kind"] == "refused"
    assert "Sources:" not in data["choices"][0]["message"]["content"]
    assert data["sources"] and not any(s["cited"] for s in data["sources"])
