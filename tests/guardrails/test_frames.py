"""Malformed websocket frames get an error event; the socket stays open, nothing is logged
as a traceback, and the next good frame is answered (real consumer, ChatConsumer)."""

import logging

import pytest

from tests.fakes import ScriptedBackend
from tests.guardrails.helpers import ask, communicator_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

BAD_FRAMES = [
    ("not json at all", "bad_frame", "The message is not valid JSON."),
    ('{"type": "ask", "question": "hi"', "bad_frame", "The message is not valid JSON."),
    ("[1, 2, 3]", "bad_frame", "The message must be a JSON object."),
    ('"ask"', "bad_frame", "The message must be a JSON object."),
    ("null", "bad_frame", "The message must be a JSON object."),
    ('{"question": "hi"}', "bad_frame", 'The message needs a "type": "ask", "regenerate" or "stop".'),
    ('{"type": 7}', "bad_frame", 'The message needs a "type": "ask", "regenerate" or "stop".'),
    ('{"type": "dance"}', "bad_frame", "Unknown message type 'dance'"),
    ('{"type": "ask", "question": null}', "bad_frame", '"question" must be text.'),
    ('{"type": "ask"}', "bad_frame", '"question" must be text.'),
    ('{"type": "ask", "question": ["a"]}', "bad_frame", '"question" must be text.'),
    ('{"type": "ask", "question": "hi", "conversation_id": "abc"}', "bad_frame", '"conversation_id" must be a whole number or null.'),
    ('{"type": "ask", "question": "hi", "conversation_id": 1.5}', "bad_frame", '"conversation_id" must be a whole number or null.'),
    ('{"type": "ask", "question": "hi", "conversation_id": true}', "bad_frame", '"conversation_id" must be a whole number or null.'),
    ('{"type": "ask", "question": "hi", "conversation_id": {"id": 1}}', "bad_frame", '"conversation_id" must be a whole number or null.'),
    ('{"type": "ask", "question": "hi", "conversation_id": 99999999999999999999999}', "bad_frame", '"conversation_id" must be a whole number or null.'),
    ('{"type": "ask", "question": "hi", "conversation_id": -3}', "bad_frame", '"conversation_id" must be a whole number or null.'),
    ('{"type": "regenerate", "conversation_id": "x"}', "bad_frame", '"conversation_id" must be a whole number or null.'),
    ("[" * 100_000 + "]" * 100_000, "too_large", "The message is too large"),
]


async def test_every_malformed_frame_gets_an_error_event_and_the_socket_stays_open(handbook, employee, backend, caplog):
    backend(ScriptedBackend(reply="Full-time staff get 28 vacation days per year."))
    communicator = communicator_for(employee)
    assert (await communicator.connect())[0]
    caplog.set_level(logging.INFO)
    for frame, code, message in BAD_FRAMES:
        await communicator.send_to(text_data=frame)
        event = await communicator.receive_json_from(timeout=10)
        assert event["type"] == "error" and event["code"] == code, (frame[:60], event)
        assert event["message"].startswith(message), (frame[:60], event)
    await communicator.send_to(bytes_data=b'{"type": "ask", "question": "hi"}')
    event = await communicator.receive_json_from(timeout=10)
    assert event == {"type": "error", "code": "bad_frame", "message": "Messages must be JSON text."}
    # The same socket still answers a good question.
    events = await ask(communicator, "How many vacation days do I get?")
    assert events[-1]["type"] == "done" and events[-1]["status"] == "complete"
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info], "no traceback for a client's frame"
    await communicator.disconnect()


async def test_a_question_over_the_limit_is_refused_not_cut(handbook, employee, backend, settings):
    settings.KB_MAX_QUESTION_CHARS = 50
    backend(ScriptedBackend())
    communicator = communicator_for(employee)
    await communicator.connect()
    events = await ask(communicator, "How many vacation days do I get? " * 3)
    assert events == [{"type": "error", "code": "too_long",
                       "message": "Your question is too long (98 characters; the limit is 50). Please shorten it."}]
    events = await ask(communicator, "我每年有多少天年假？" * 6)
    assert events[0]["code"] == "too_long" and events[0]["message"].startswith("您的问题太长（60 个字符；上限为 50）")
    from kbassist.chat.models import Message

    assert not await Message.objects.aexists()  # nothing stored, nothing silently shortened
    await communicator.disconnect()


async def test_an_oversize_frame_is_refused_with_its_size(employee, settings):
    settings.KB_WS_MAX_FRAME_BYTES = 1000
    communicator = communicator_for(employee)
    await communicator.connect()
    await communicator.send_json_to({"type": "ask", "question": "x" * 2000})
    event = await communicator.receive_json_from(timeout=10)
    assert event["code"] == "too_large" and "the limit is 1000" in event["message"]
    await communicator.send_json_to({"type": "stop"})  # still open, still listening
    assert await communicator.receive_nothing(timeout=0.2)
    await communicator.disconnect()
