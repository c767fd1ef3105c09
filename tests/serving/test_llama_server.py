"""llama.cpp's server with parallel slots, as ``./kb start`` runs it for KB_LLM_PARALLEL > 1:
answers at once, Stop frees a slot at once, and a server killed mid-answer costs one answer its
model (the user gets the passages) while the supervisor brings it back for the next."""

import os
import signal
import threading

import pytest

from kbassist.chat.answering import answer
from kbassist.llm import server
from kbassist.llm.base import ChatMessage
from kbassist.llm.line import GenerationLine
from tests.conftest import wait_until

pytestmark = pytest.mark.llm
LONG = [ChatMessage("user", "Count from one to one thousand, in words.")]


def busy_slots(port) -> int:
    return sum(1 for slot in server.slots(server.base_url(port)) if slot["is_processing"])


def endless(port):
    """Our backend, asked never to end a reply early (so that only max_tokens or Stop ends it)."""
    backend = server.LlamaServerBackend(port, context_size=1024, model="smollm2")
    backend.extra_body = {**backend.extra_body, "ignore_eos": True}
    return backend


def test_two_slots_generate_at_once_and_stop_frees_a_slot_at_once(llama_server):
    _, port = llama_server
    stops = [threading.Event(), threading.Event()]
    counts = [0, 0]

    def generate(i):
        for _ in endless(port).stream(LONG, max_tokens=2000, temperature=0.0, should_stop=stops[i].is_set):
            counts[i] += 1

    threads = [threading.Thread(target=generate, args=(i,)) for i in (0, 1)]
    for thread in threads:
        thread.start()
    try:
        wait_until(lambda: busy_slots(port) == 2 and all(counts), timeout=60, what="both slots generating")
        stops[0].set()  # at its next token the HTTP stream is closed, and llama-server drops that request
        other = counts[1]
        wait_until(lambda: busy_slots(port) == 1, timeout=120, what="the stopped answer's slot to be free")
        # freed within a few tokens (the ones in flight), while the other answer goes on
        # (a few dozen at most on a loaded machine: the stop is seen at the next token written)
        assert counts[1] - other <= 64 and threads[1].is_alive() and counts[0] < 2000
    finally:
        for stop in stops:
            stop.set()
        for thread in threads:
            thread.join(30)


def test_the_server_tells_the_same_probability_of_yes_as_the_model_in_this_process(llama_server, smollm2):
    """The answer check's "how likely is yes" from llama-server's logprobs (through the
    ``openai`` client) agrees with the in-process model's logits: one threshold
    (KB_CHECK_MIN_YES) serves both backends."""
    _, port = llama_server
    ask = [ChatMessage("system", "Reply with only yes or no."), ChatMessage("user", "Is Paris in France? Reply yes or no.")]
    remote = server.LlamaServerBackend(port, context_size=1024, model="smollm2").yes_probability(ask)
    assert remote is not None and remote == pytest.approx(smollm2.yes_probability(ask), abs=0.05)


@pytest.mark.django_db
def test_a_server_killed_mid_answer_gives_the_passages_and_comes_back_for_the_next(llama_server, handbook, employee,
                                                                                  settings):
    settings.KB_LLM_MAX_TOKENS = 24
    supervisor, port = llama_server
    events, killed = [], None
    for event in answer("How many vacation days do I get?", user=employee, backend=endless(port), line=GenerationLine(2)):
        events.append(event)
        if event["type"] == "token" and killed is None:
            killed = supervisor.child("llama-server").pid
            os.kill(killed, signal.SIGKILL)
    errors = [e for e in events if e["type"] == "error"]
    assert len(errors) == 1 and errors[0]["message"].startswith("The language model is unavailable right now.")
    done = events[-1]
    assert done["kind"] == "passages" and done["status"] == "error"
    assert done["answer"].startswith("The language model is unavailable right now. These passages from the knowledge "
                                     "base are the closest match:")
    assert "28 vacation days" in done["answer"] and done["citations"][0]["section"] == "Leave › Vacation"
    # the supervisor starts it again; the next question is answered by the model
    wait_until(lambda: supervisor.child("llama-server").pid not in (None, killed), timeout=30, what="a restart")
    assert any(f"(pid {killed}) killed by SIGKILL" in line for line in supervisor.lines)
    wait_until(lambda: server.healthy(server.base_url(port)), timeout=120, what="llama-server back")
    backend = server.LlamaServerBackend(port, context_size=1024, model="smollm2")
    events = list(answer("How many vacation days do I get?", user=employee, backend=backend, line=GenerationLine(2)))
    # The model streams a whole reply again. Whether SmolLM2's free reply then reads as an answer or
    # as "the sources do not say" (a refusal) is the model's choice, not the server's: not asserted.
    assert [e for e in events if e["type"] == "token"] and not [e for e in events if e["type"] == "error"]
    done = events[-1]
    assert done["kind"] in ("generated", "refused") and done["status"] == "complete" and done["answer"]
