"""A bounded generation line, and one answer at a time per user, through the real consumer
(a scripted model held at its gate stands for a long generation)."""

import asyncio
import threading

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth.models import User

from kbassist.chat.models import Message
from kbassist.llm.line import GenerationLine, LineFull, generation_line
from tests.fakes import ScriptedBackend
from tests.guardrails.helpers import ask, collect, communicator_for


def test_the_line_refuses_at_once_beyond_its_bound_with_an_estimate():
    line = GenerationLine()
    line._turns.extend([30.0, 40.0, 50.0])  # the last turns held the slot 30-50 s: median 40
    running, waiting = line.join(max_waiting=1), line.join(max_waiting=1)
    with pytest.raises(LineFull) as full:
        line.join(max_waiting=1)
    # the rest of the running turn (about 40 s) and one waiting turn (40 s)
    assert full.value.waiting == 1 and 75 <= full.value.retry_after <= 81
    waiting.release()
    assert line.join(max_waiting=1).position == 1  # room again
    running.release()


def test_the_estimate_follows_measured_turns():
    line = GenerationLine()
    for _ in range(3):
        with line.join():
            pass
    assert line.turn_seconds() < 1 and line.expected_wait() == 1  # at least a second


@pytest.fixture
def held_model(backend):
    gate = threading.Event()
    model = backend(ScriptedBackend(reply="Full-time staff get 28 vacation days per year.", gate=gate))
    yield model, gate
    gate.set()


@pytest.fixture
def fresh_line(monkeypatch):
    """The process's line, with an empty history of turn lengths, then 30 s turns."""
    monkeypatch.setattr(generation_line, "_turns", type(generation_line._turns)([30.0], maxlen=20))
    return generation_line


def make_users(n):
    return [User.objects.create_user(f"user{i}", password="pw") for i in range(n)]


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_beyond_kb_queue_max_new_questions_hear_busy_at_once(handbook, held_model, fresh_line, settings):
    settings.KB_QUEUE_MAX = 1
    settings.KB_ANSWER_CACHE = False  # three answers of their own, not one shared (tests/chat/test_many_at_once.py)
    model, gate = held_model
    a, b, c = await sync_to_async(make_users)(3)
    first, second, third = (communicator_for(u) for u in (a, b, c))
    for communicator in (first, second, third):
        await communicator.connect()
    await first.send_json_to({"type": "ask", "question": "How many vacation days do I get?"})
    assert await sync_to_async(model.started.wait, thread_sensitive=False)(10)  # a's answer holds the model
    await second.send_json_to({"type": "ask", "question": "How many vacation days do I get?"})
    queued = await collect(second, until=("queued", "done", "error"))
    assert queued[-1]["type"] == "queued" and queued[-1]["position"] == 1
    busy = await ask(third, "How many vacation days do I get?")  # one waiting already: the line is full
    done = busy[-1]
    assert done["type"] == "done" and done["kind"] == "busy" and done["status"] == "error"
    assert done["answer"].startswith("The assistant is busy right now: too many questions are waiting for the model. "
                                     "Please try again in about ")
    assert 30 <= done["retry_after"] <= 60 and f"about {done['retry_after']} s" in done["answer"]
    assert not [e for e in busy if e["type"] == "token" and "28" in e["text"]]
    stored = await Message.objects.aget(pk=done["message_id"])
    assert stored.kind == "busy" and stored.status == "error"
    gate.set()
    assert (await collect(first, until=("done",)))[-1]["status"] == "complete"
    assert (await collect(second, until=("done",)))[-1]["status"] == "complete"
    for communicator in (first, second, third):
        await communicator.disconnect()


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_one_user_with_many_sockets_has_one_answer_on_its_way(handbook, employee, held_model, fresh_line, settings):
    settings.KB_RATE_QUESTIONS_PER_MINUTE = 100  # this test is about the slot, not the rate
    model, gate = held_model
    sockets = [communicator_for(employee) for _ in range(20)]
    for communicator in sockets:
        await communicator.connect()
    await sockets[0].send_json_to({"type": "ask", "question": "How many vacation days do I get?"})
    conversation_id = (await sockets[0].receive_json_from(timeout=30))["id"]
    assert await sync_to_async(model.started.wait, thread_sensitive=False)(10)
    for communicator in sockets[1:]:
        await communicator.send_json_to({"type": "ask", "question": "How many vacation days do I get?"})
    for communicator in sockets[1:]:
        event = await communicator.receive_json_from(timeout=10)
        assert event["type"] == "error" and event["code"] == "answer_in_progress"
        assert event["message"] == ("You already have an answer on its way (perhaps in another tab). "
                                    "Wait for it to finish, or stop it, then ask again.")
    assert fresh_line.waiting == 0  # nobody queued behind the one answer
    questions = await Message.objects.filter(role="user").acount()
    assert questions == 1  # the refused ones stored nothing
    # Regenerate from another tab is refused the same way, and the answer being written survives.
    await sockets[1].send_json_to({"type": "regenerate", "conversation_id": conversation_id})
    assert (await sockets[1].receive_json_from(timeout=10))["code"] == "answer_in_progress"
    gate.set()
    assert (await collect(sockets[0], until=("done",)))[-1]["status"] == "complete"
    # Once it is done, any tab may ask again.
    assert (await ask(sockets[5], "How many vacation days do I get?"))[-1]["type"] == "done"
    for communicator in sockets:
        await communicator.disconnect()


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_a_stopped_answer_gives_the_slot_back(handbook, employee, held_model, fresh_line):
    model, gate = held_model
    one, two = communicator_for(employee), communicator_for(employee)
    await one.connect()
    await two.connect()
    await one.send_json_to({"type": "ask", "question": "How many vacation days do I get?"})
    assert await sync_to_async(model.started.wait, thread_sensitive=False)(10)
    await one.send_json_to({"type": "stop"})
    await asyncio.sleep(0.2)  # the consumer reads the stop before the held model may go on (a loaded CI machine lost this race)
    gate.set()
    assert (await collect(one, until=("done",)))[-1]["status"] == "stopped"
    await asyncio.sleep(0.1)
    assert (await ask(two, "How many vacation days do I get?"))[-1]["type"] == "done"
    await one.disconnect()
    await two.disconnect()
