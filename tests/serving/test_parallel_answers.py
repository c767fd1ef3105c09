"""KB_LLM_PARALLEL answers stream at once through the real consumer; the line holds the rest,
with their positions, and a stopped answer gives its slot to the next at once (a model that
holds its answer until released stands for long generations)."""

import threading

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth.models import User

from kbassist.llm.line import generation_line
from tests.conftest import wait_until
from tests.fakes import ScriptedBackend
from tests.guardrails.helpers import collect, communicator_for

QUESTION = "How many vacation days do I get?"


class HeldBackend(ScriptedBackend):
    """A long generation: the first word, then nothing until ``release`` is set, unless the
    answer is stopped meanwhile (checked as a model server's stream is, between tokens)."""

    def __init__(self, reply):
        super().__init__(reply=reply)
        self.release = threading.Event()

    def stream(self, messages, *, max_tokens, temperature, should_stop=lambda: False):
        self.calls.append(messages)
        words = self.reply.split(" ")
        yield words[0]
        while not self.release.wait(0.05):
            if should_stop():
                return
        for word in words[1:]:
            yield " " + word


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_two_slots_two_answers_stream_at_once_and_stop_lets_the_third_in(handbook, backend, settings):
    settings.KB_LLM_PARALLEL = 2
    settings.KB_ANSWER_CACHE = False  # three answers of their own, not one shared (tests/chat/test_many_at_once.py)
    model = backend(HeldBackend(reply="Full-time staff get 28 vacation days per year."))
    users = [await sync_to_async(User.objects.create_user)(f"user{i}", password="pw") for i in range(3)]
    first, second, third = sockets = [communicator_for(u) for u in users]
    try:
        for socket in sockets:
            await socket.connect()
        await first.send_json_to({"type": "ask", "question": QUESTION})
        await second.send_json_to({"type": "ask", "question": QUESTION})
        await sync_to_async(wait_until, thread_sensitive=False)(lambda: len(model.calls) == 2, 30, what="two answers on the model")
        assert generation_line.running == 2
        await third.send_json_to({"type": "ask", "question": QUESTION})
        assert (await collect(third, until=("queued",)))[-1]["position"] == 1
        await first.send_json_to({"type": "stop"})  # frees its slot: the third answer starts at once
        await sync_to_async(wait_until, thread_sensitive=False)(lambda: len(model.calls) == 3, 30, what="the third answer on the model")
        model.release.set()
        assert (await collect(first, until=("done",)))[-1]["status"] == "stopped"
        for socket in (second, third):
            assert (await collect(socket, until=("done",)))[-1]["status"] == "complete"
        assert generation_line.running == 0 and generation_line.waiting == 0
    finally:
        model.release.set()
        for socket in sockets:
            await socket.disconnect()


@pytest.mark.django_db
def test_a_model_that_fails_mid_answer_gives_the_passages_with_a_clear_message(handbook, employee):
    """A model server that dies after the first words: the unchecked beginning is replaced by
    the passages (the real server killed mid-answer: test_llama_server.py)."""
    from kbassist.chat.answering import answer
    from kbassist.llm.line import GenerationLine

    events = list(answer(QUESTION, user=employee, backend=ScriptedBackend(fail_after=3), line=GenerationLine(2)))
    assert [e["text"] for e in events if e["type"] == "token"][:3] == ["Full-time", " staff", " get"]
    error = next(e for e in events if e["type"] == "error")
    assert error["message"] == ("The language model is unavailable right now. These passages from the knowledge base are "
                                "the closest match: (the model crashed)")
    done = events[-1]
    assert done["kind"] == "passages" and done["status"] == "error" and "28 vacation days" in done["answer"]
