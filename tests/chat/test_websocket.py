"""The chat websocket end to end: real consumer, real embedder, real GGUF model (SmolLM2)."""

import asyncio
import re

import pytest
from channels.testing import WebsocketCommunicator

from kbassist.asgi import application
from kbassist.chat.consumers import ChatConsumer
from kbassist.chat.models import Message

from tests.fakes import ScriptedBackend

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


def communicator_for(user):
    communicator = WebsocketCommunicator(ChatConsumer.as_asgi(), "/ws/chat/")
    communicator.scope["user"] = user
    return communicator


async def collect(communicator, until=("done",), timeout=120):
    events = []
    while True:
        event = await communicator.receive_json_from(timeout=timeout)
        events.append(event)
        if event["type"] in until:
            return events


@pytest.fixture
def real_model(backend, smollm2):
    return backend(smollm2)


async def test_answer_streams_token_by_token_from_the_real_model(handbook, employee, real_model):
    communicator = communicator_for(employee)
    connected, _ = await communicator.connect()
    assert connected
    await communicator.send_json_to({"type": "ask", "question": "How many vacation days do I get?"})
    events = await collect(communicator)
    kinds = [e["type"] for e in events]
    assert kinds[:2] == ["conversation", "sources"]
    tokens = [e["text"] for e in events if e["type"] == "token"]
    assert len(tokens) > 3, "the answer arrives in pieces, not at once"
    done = events[-1]
    assert done["status"] == "complete"
    if not done["verification"]["from_evidence"]:  # else verification replaced what SmolLM2 wrote
        # What was streamed is what is kept, give or take the [n] markers attribution adds.
        assert re.sub(r" ?\[\d+\]", "", done["answer"]).startswith("".join(tokens).strip()[:20])
    assert done["citations"][0]["title"] == "Leave" and done["citations"][0]["section"] == "Leave › Vacation"
    assert done["timings"]["ttft_ms"] > 0 and done["timings"]["tokens"] == len(tokens)
    message = await Message.objects.aget(pk=done["message_id"])
    assert message.model_name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    await communicator.disconnect()


async def test_stop_ends_generation_and_keeps_the_partial_answer(handbook, employee, real_model):
    communicator = communicator_for(employee)
    await communicator.connect()
    await communicator.send_json_to({"type": "ask", "question": "How many vacation days do full-time staff get per year? Please explain in detail."})
    while (await communicator.receive_json_from(timeout=60))["type"] != "token":
        pass
    await communicator.send_json_to({"type": "stop"})
    events = await collect(communicator)
    assert events[-1]["status"] == "stopped"
    assert events[-1]["timings"]["tokens"] < 96  # far fewer than the max_tokens it could have run to
    await communicator.disconnect()


async def test_follow_up_in_the_same_conversation(handbook, employee, backend):
    backend(ScriptedBackend())
    communicator = communicator_for(employee)
    await communicator.connect()
    await communicator.send_json_to({"type": "ask", "question": "How many vacation days do I get?"})
    first = await collect(communicator)
    conversation_id = first[0]["id"]
    await communicator.send_json_to({"type": "ask", "question": "and part-time?", "conversation_id": conversation_id})
    second = await collect(communicator)
    assert second[0]["id"] == conversation_id
    assert second[1]["query"] == "How many vacation days do I get? and part-time?"
    await communicator.disconnect()


async def test_other_users_conversation_is_not_found(handbook, employee, hr_user):
    from kbassist.chat.models import Conversation

    theirs = await Conversation.objects.acreate(user=hr_user)
    communicator = communicator_for(employee)
    await communicator.connect()
    await communicator.send_json_to({"type": "ask", "question": "hi", "conversation_id": theirs.pk})
    event = await communicator.receive_json_from(timeout=10)
    assert event == {"type": "error", "message": "Conversation not found."}
    await communicator.disconnect()


async def test_anonymous_users_are_refused():
    from django.contrib.auth.models import AnonymousUser

    communicator = communicator_for(AnonymousUser())
    connected, code = await communicator.connect()
    assert not connected and code == 4401


async def test_full_asgi_stack_requires_a_session(handbook):
    communicator = WebsocketCommunicator(application, "/ws/chat/", headers=[(b"origin", b"http://localhost"), (b"host", b"localhost")])
    connected, _ = await communicator.connect()
    assert not connected
    await asyncio.sleep(0)


async def test_regenerate_replaces_the_last_answer(handbook, employee, backend):
    backend(ScriptedBackend(reply="Full-time staff get 28 vacation days per year."))
    communicator = communicator_for(employee)
    await communicator.connect()
    await communicator.send_json_to({"type": "ask", "question": "How many vacation days do I get?"})
    first = await collect(communicator)
    await communicator.send_json_to({"type": "regenerate", "conversation_id": first[0]["id"]})
    second = await collect(communicator)
    assert second[-1]["kind"] == "generated" and second[-1]["message_id"] != first[-1]["message_id"]
    roles = [m.role async for m in Message.objects.filter(conversation_id=first[0]["id"]).order_by("id")]
    assert roles == ["user", "assistant"]
    assert not await Message.objects.filter(pk=first[-1]["message_id"]).aexists()
    await communicator.disconnect()
