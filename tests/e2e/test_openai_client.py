"""The OpenAI-compatible endpoint with the official ``openai`` client as a real client, against
a real Daphne process on a loopback port (test database, real embedder): models, completions
streamed and not, citations as [n] markers, a "Sources" footer and an extra ``sources``
field, conversations continued, and a key that may not see a collection. The REST API's
Server-Sent Events are read over the same real server.

What these tests check is the HTTP stack, so the model is a scripted OpenAI-compatible server
(``tests/e2e/model_server.py``, through the app's real ``openai`` backend): fast, and its words
known. One test asks the real SmolLM2 model through the same client."""

from __future__ import annotations

import json
import time
import urllib.request

import openai
import pytest

from kbassist.api.models import APIKey
from kbassist.chat.models import Conversation, Message

from tests.conftest import running_app, wait_until
from tests.e2e.model_server import scripted_model

pytestmark = pytest.mark.django_db(transaction=True)
SALARIES = "# Salaries\n\nSalary bands are reviewed every March by the HR committee.\n"


REPLY = ("Full-time staff get 28 vacation days per year. Part-time staff get vacation pro rata to their contracted hours. "
         "Tell your manager before 10:00 and bring a doctor's note from day 4.")


@pytest.fixture(scope="module")
def server(django_db_setup, django_db_blocker):
    """One server for the module (each test still gets its own users and documents): the
    embedder loads once, not once per test."""
    with scripted_model(REPLY, delay=0.1) as model_url, running_app(
        "/api/v1/openapi.json", "daphne-openai.log", KB_LLM_BACKEND="openai", KB_OPENAI_BASE_URL=model_url,
        KB_TRANSLATE_QUERIES="false", KB_QUERY_REWRITE="false",
    ) as url:
        yield url


@pytest.fixture
def real_model_server(transactional_db):
    from kbassist.llm.bundled import smollm2_path

    with running_app("/api/v1/openapi.json", "daphne-openai.log", KB_LLM_MODEL_PATH=str(smollm2_path()),
                     KB_LLM_CONTEXT="2048", KB_LLM_MAX_TOKENS="96") as url:
        yield url


@pytest.fixture
def kb(handbook, hr_collection, make_document):
    make_document(hr_collection, "salaries.md", SALARIES)


def client_for(server, user, name="openai test") -> openai.OpenAI:
    secret = APIKey.objects.create_key(user, name)[1]
    return openai.OpenAI(base_url=server + "/v1", api_key=secret, max_retries=0, timeout=180)


def test_models_list_only_what_the_key_may_see(server, kb, employee, hr_user):
    assert sorted(m.id for m in client_for(server, employee).models.list()) == ["kb-assist", "kb-assist/handbook"]
    hr_models = sorted(m.id for m in client_for(server, hr_user).models.list())
    assert hr_models == ["kb-assist", "kb-assist/handbook", "kb-assist/hr-confidential"]
    bad = openai.OpenAI(base_url=server + "/v1", api_key="kb_not-a-key", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        bad.models.list()


def test_a_completion_cites_its_sources_and_a_follow_up_continues_the_conversation(server, kb, employee):
    client = client_for(server, employee)
    question = {"role": "user", "content": "How many vacation days do I get?"}
    response = client.chat.completions.create(model="kb-assist", messages=[question])
    text = response.choices[0].message.content
    assert response.choices[0].finish_reason == "stop"
    body, footer = text.split("\n\nSources:\n")
    assert "[1] Leave, Leave › Vacation: " + server + "/documents/" in footer
    sources = response.model_extra["sources"]
    assert sources[0]["title"] == "Leave" and "28 vacation days" in sources[0]["text"]
    assert sources[0]["link"].startswith(server + "/documents/")
    extra = response.model_extra["kb_assist"]
    assert extra["kind"] == "generated" and extra["answer"] == body
    # The client sends the whole conversation back: the question joins the same conversation.
    follow_up = client.chat.completions.create(
        model="kb-assist",
        messages=[{"role": "system", "content": "Be brief."}, question, {"role": "assistant", "content": text},
                  {"role": "user", "content": "And how much sick leave?"}],
    )
    assert follow_up.model_extra["kb_assist"]["conversation_id"] == extra["conversation_id"]
    assert Conversation.objects.filter(user=employee).count() == 1
    assert Conversation.objects.get().messages.count() == 4


def test_a_streamed_completion_arrives_in_pieces_and_ends_with_the_sources(server, kb, employee):
    client = client_for(server, employee)
    started = time.perf_counter()
    stream = client.chat.completions.create(
        model="kb-assist/handbook", stream=True,
        messages=[{"role": "user", "content": "How many vacation days do full-time staff get per year?"}],
    )
    pieces, first_token_s, last = [], None, None
    for chunk in stream:
        delta = chunk.choices[0].delta.content if chunk.choices else None
        if delta:
            first_token_s = first_token_s or time.perf_counter() - started
            pieces.append(delta)
        last = chunk
    text = "".join(pieces)
    assert len(pieces) > 3, "the answer arrives in pieces"
    assert last.choices[0].finish_reason == "stop"
    # The text is the chat's answer, with the [n] markers the chat adds, then the sources.
    answer = last.model_extra["kb_assist"]["answer"]
    assert text.startswith(answer + "\n\nSources:\n[") and "per year [" in answer
    assert "Leave" in text.split("Sources:")[1]
    sources = last.model_extra["sources"]
    assert sources and sources[0]["title"] == "Leave" and sources[0]["collection"] == "Handbook"
    print(f"first streamed token after {first_token_s:.2f} s")


@pytest.mark.llm
def test_the_real_model_answers_through_the_client_with_its_sources(real_model_server, kb, employee):
    stream = client_for(real_model_server, employee).chat.completions.create(
        model="kb-assist/handbook", stream=True,
        messages=[{"role": "user", "content": "How many vacation days do full-time staff get per year?"}],
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert sum(1 for c in chunks if c.choices and c.choices[0].delta.content) > 3, "the answer arrives in pieces"
    assert chunks[-1].choices[0].finish_reason == "stop" and chunks[-1].model_extra["kb_assist"]["kind"] in ("generated", "quoted", "passages")
    assert "\n\nSources:\n[" in text and chunks[-1].model_extra["sources"][0]["title"] == "Leave"


def test_a_key_may_not_ask_a_collection_its_user_cannot_see(server, kb, employee, hr_user):
    client = client_for(server, employee)
    with pytest.raises(openai.NotFoundError) as caught:
        client.chat.completions.create(
            model="kb-assist/hr-confidential", messages=[{"role": "user", "content": "When are salary bands reviewed?"}]
        )
    assert caught.value.body["code"] == "model_not_found"
    # Asking everything it may see, the HR document is not among the sources.
    response = client.chat.completions.create(
        model="kb-assist", messages=[{"role": "user", "content": "When are salary bands reviewed?"}]
    )
    assert all(s["title"] != "Salaries" for s in response.model_extra["sources"])
    assert "Salaries" not in response.choices[0].message.content
    # HR may, and the HR model answers from the HR collection alone.
    hr = client_for(server, hr_user).chat.completions.create(
        model="kb-assist/hr-confidential", messages=[{"role": "user", "content": "When are salary bands reviewed?"}]
    )
    assert {s["collection"] for s in hr.model_extra["sources"]} == {"HR confidential"}


def test_the_rest_api_streams_server_sent_events_over_the_real_server(server, kb, employee):
    secret = APIKey.objects.create_key(employee, "curl")[1]
    request = urllib.request.Request(
        server + "/api/v1/ask",
        data=json.dumps({"question": "Do part-time staff get vacation?", "stream": True}).encode(),
        headers={"Authorization": f"Bearer {secret}", "Content-Type": "application/json"},
    )
    names, arrivals, started = [], [], time.perf_counter()
    with urllib.request.urlopen(request, timeout=180) as response:
        assert response.headers["Content-Type"] == "text/event-stream"
        for line in response:
            if line.startswith(b"event: "):
                names.append(line[7:].strip().decode())
                arrivals.append(time.perf_counter() - started)
    assert names[:2] == ["conversation", "sources"] and names[-1] == "done"
    tokens = [t for name, t in zip(names, arrivals) if name == "token"]
    assert len(tokens) > 3 and tokens[0] < arrivals[-1], "tokens arrive before the answer is done"

    # A client that goes away stops the answer at once, as closing the chat's websocket does.
    request = urllib.request.Request(
        server + "/api/v1/ask",
        data=json.dumps({"question": "Tell me everything about vacation and sick leave, in great detail.", "stream": True}).encode(),
        headers={"Authorization": f"Bearer {secret}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=180) as response:
        for line in response:
            if line.startswith(b"event: token"):
                break
    wait_until(lambda: Message.objects.filter(role="assistant").order_by("-id").values_list("status", flat=True).first() == "stopped",
               timeout=60, what="the answer stopped after the client went away")
    assert Message.objects.filter(role="assistant").latest("id").timings["tokens"] < len(REPLY.split(" "))
