"""Many colleagues at once (issue 10): identical questions in flight are answered once, the
line tells a waiting user how long is left and turns nobody away short of an unreasonable
wait, and under load a follow-up that names nothing earlier does not queue for a rewrite.
A scripted model held at its gate stands for a long generation; no real model is loaded."""

import threading

import pytest
from django.contrib.auth.models import User

from kbassist.chat import flights
from kbassist.chat.answering import answer
from kbassist.chat.models import Conversation, Message
from kbassist.chat.rewrite import leans_on_conversation
from kbassist.llm.line import GenerationLine, LineFull
from tests.chat.test_answer import finished, in_thread
from tests.conftest import wait_until
from tests.fakes import ScriptedBackend

QUESTION = "How many vacation days do I get?"
REPLY = "Full-time staff get 28 vacation days per year."


def colleagues(n):
    return [User.objects.create_user(f"colleague{i}", password="pw") for i in range(n)]


def asking(question, user, line, backend, stop=None, **kwargs):
    """``answer()`` in a thread; its events are the thread's result."""
    should_stop = stop.is_set if stop is not None else (lambda: False)
    return in_thread(lambda: list(answer(question, user=user, line=line, backend=backend, should_stop=should_stop, **kwargs)))


def following_count():
    """How many askers follow the questions in flight now."""
    return sum(f.followers for f in flights._flights.values())


@pytest.mark.django_db(transaction=True)  # answers run in threads with their own connections
def test_colleagues_asking_the_same_question_at_once_get_one_answer_from_the_model(handbook):
    first, second, third = colleagues(3)
    line, gate = GenerationLine(), threading.Event()
    model = ScriptedBackend(reply=REPLY, gate=gate)
    leader = asking(QUESTION, first, line, model)
    assert model.started.wait(10), "the first answer never reached the model"
    followers = [asking(QUESTION, user, line, model) for user in (second, third)]
    wait_until(lambda: following_count() == 2, 10, what="two followers on the flight")
    assert line.waiting == 0  # they took no place in the line
    gate.set()
    answers = [finished(*leader, "the first answer")] + [finished(*f, "a follower's answer") for f in followers]
    assert len(model.calls) == 1  # the model wrote one answer
    for user, events in zip((first, second, third), answers):
        done = events[-1]
        assert done["type"] == "done" and done["status"] == "complete" and done["kind"] == "generated"
        assert "28 vacation days" in done["answer"] and done["citations"]
        assert "".join(e["text"] for e in events if e["type"] == "token").strip() == REPLY  # streamed to each
        conversation = Conversation.objects.get(user=user)  # saved in each asker's own conversation
        assert [(m.role, m.status) for m in conversation.messages.all()] == [("user", "complete"), ("assistant", "complete")]
    assert [e[-1]["timings"].get("shared") for e in answers] == [None, True, True]
    assert flights.in_flight() == 0


@pytest.mark.django_db(transaction=True)
def test_a_follower_whose_colleague_stops_gets_an_answer_of_its_own(handbook):
    first, second = colleagues(2)
    line, gate, stop = GenerationLine(), threading.Event(), threading.Event()
    model = ScriptedBackend(reply=REPLY, gate=gate)
    leader = asking(QUESTION, first, line, model, stop=stop)
    assert model.started.wait(10)
    follower = asking(QUESTION, second, line, model)
    wait_until(lambda: following_count() == 1, 10, what="a follower on the flight")
    stop.set()  # the first asker stops: its answer is cut short, not the colleague's
    gate.set()
    assert finished(*leader, "the stopped answer")[-1]["status"] == "stopped"
    done = finished(*follower, "the follower's answer")[-1]
    assert done["status"] == "complete" and done["answer"].startswith("Full-time staff get 28")
    assert len(model.calls) == 2 and "shared" not in done["timings"]


@pytest.mark.django_db(transaction=True)
def test_a_follower_who_stops_waiting_leaves_the_colleagues_answer_alone(handbook):
    first, second = colleagues(2)
    line, gate, stop = GenerationLine(), threading.Event(), threading.Event()
    model = ScriptedBackend(reply=REPLY, gate=gate)
    leader = asking(QUESTION, first, line, model)
    assert model.started.wait(10)
    follower = asking(QUESTION, second, line, model, stop=stop)
    wait_until(lambda: following_count() == 1, 10, what="a follower on the flight")
    stop.set()
    done = finished(*follower, "the follower that stopped")[-1]
    assert done["status"] == "stopped"
    assert Message.objects.get(pk=done["message_id"]).status == "stopped"
    gate.set()
    assert finished(*leader, "the first answer")[-1]["status"] == "complete"
    assert len(model.calls) == 1


@pytest.mark.django_db(transaction=True)
def test_colleagues_who_see_other_collections_are_not_given_each_others_answer(handbook, hr_user, employee, make_document, hr_collection):
    """Same words, different access: the cache key covers the collections each may see."""
    make_document(hr_collection, "hr-leave.md", "# HR leave\n\nHR staff get 30 vacation days per year.\n")
    line, gate = GenerationLine(), threading.Event()
    model = ScriptedBackend(reply=REPLY, gate=gate)
    hr = asking(QUESTION, hr_user, line, model)
    assert model.started.wait(10)
    other = asking(QUESTION, employee, line, model)
    wait_until(lambda: line.waiting == 1, 10, what="the employee's answer waiting in line")
    assert following_count() == 0
    gate.set()
    finished(*hr, "the HR answer")
    assert "shared" not in finished(*other, "the employee's answer")[-1]["timings"]
    assert len(model.calls) == 2


def test_a_waiting_ticket_is_told_how_long_is_left_and_the_estimate_shrinks_as_the_line_moves():
    line = GenerationLine()
    line._turns.extend([30.0] * 3)  # turns have held the slot 30 s
    running = line.join()
    second, third = line.join(), line.join()
    assert 25 <= second.expected_wait() <= 30 and 55 <= third.expected_wait() <= 60
    running.release()
    assert second.expected_wait() == 0 and 25 <= third.expected_wait() <= 30
    second.release()
    third.release()


def test_the_line_turns_away_only_when_the_expected_wait_is_beyond_the_bound():
    line = GenerationLine()
    line._turns.extend([30.0])
    tickets = [line.join(max_waiting=100, max_wait=100) for _ in range(4)]  # waits of about 30, 60, 90 s
    with pytest.raises(LineFull) as full:
        line.join(max_waiting=100, max_wait=100)  # about 120 s
    assert full.value.waiting == 3 and 100 < full.value.retry_after <= 120
    for ticket in tickets:
        ticket.release()


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_a_waiting_user_sees_place_and_wait_through_the_websocket(handbook, backend, settings):
    from asgiref.sync import sync_to_async

    from kbassist.llm.line import generation_line
    from tests.guardrails.helpers import collect, communicator_for

    settings.KB_ANSWER_CACHE = False  # two different answers, not one shared
    gate = threading.Event()
    model = backend(ScriptedBackend(reply=REPLY, gate=gate))
    first, second = await sync_to_async(colleagues)(2)
    one, two = communicator_for(first), communicator_for(second)
    await one.connect()
    await two.connect()
    try:
        await one.send_json_to({"type": "ask", "question": QUESTION})
        assert await sync_to_async(model.started.wait, thread_sensitive=False)(10), "the first answer never reached the model"
        await two.send_json_to({"type": "ask", "question": QUESTION})
        queued = (await collect(two, until=("queued", "done", "error")))[-1]
        assert queued["position"] == 1 and 1 <= queued["wait_s"] <= generation_line.turn_seconds() + 1
        gate.set()
        assert (await collect(two, until=("done",)))[-1]["status"] == "complete"
    finally:
        gate.set()
        await one.disconnect()
        await two.disconnect()


@pytest.mark.parametrize("question, leans", [
    ("How do I book a meeting room?", False),
    ("年假有多少天？", False),
    ("What about contractors?", True),
    ("And for interns?", True),
    ("Is it paid?", True),
    ("Why?", True),
    ("那病假呢？", True),
])
def test_a_question_that_points_back_leans_on_the_conversation(question, leans):
    assert leans_on_conversation(question) is leans


@pytest.mark.django_db(transaction=True)
def test_under_load_a_follow_up_that_names_nothing_earlier_does_not_queue_for_a_rewrite(handbook, employee, settings):
    settings.KB_REWRITE_MAX_WAIT = 10
    line = GenerationLine()
    model = ScriptedBackend(reply=REPLY)
    first = list(answer("Tell me about sick leave.", user=employee, line=line, backend=model))
    conversation = Conversation.objects.get(pk=first[0]["id"])
    list(answer(QUESTION, user=User.objects.create_user("early", password="pw"), line=line, backend=model))  # now in the cache
    line._turns.extend([30.0] * 5)  # turns hold the model about 30 s
    busy = line.join()  # someone else's answer holds the model: a new one would wait about 30 s
    try:
        events = list(answer(QUESTION, user=employee, conversation=conversation, line=line, backend=model))
        done = events[-1]
        assert done["kind"] == "cached" and done["status"] == "complete" and "28 vacation days" in done["answer"]
        assert not [e for e in events if e["type"] == "queued"]  # no place in the line: no rewrite, no generation
        assert Message.objects.get(pk=done["message_id"]).timings["history"].startswith("set aside")
        # A follow-up that points back still waits for the model (here it gives up at once).
        stop = threading.Event()
        waiting = in_thread(lambda: list(answer("What about part-time staff?", user=employee, conversation=conversation,
                                                 line=line, backend=model, should_stop=stop.is_set)))
        wait_until(lambda: line.waiting == 1, 10, what="the follow-up in line for its rewrite")
        stop.set()
        finished(*waiting, "the follow-up that leans on the conversation")
    finally:
        busy.release()
