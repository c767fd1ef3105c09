"""The OpenAI-compatible backend against a real server: llama.cpp's own (llama_cpp.server)
serving SmolLM2 on a loopback port — the same protocol as vLLM, TGI or a remote llama.cpp."""

import sys

import pytest

from kbassist.chat.answering import answer
from kbassist.llm.base import ChatMessage, GenerationError
from kbassist.llm.openai_compat import OpenAICompatibleBackend
from kbassist.llm.queue import GenerationQueue

from .conftest import free_port, running_server

pytestmark = pytest.mark.llm


@pytest.fixture(scope="module")
def server_url():
    from kbassist.llm.bundled import smollm2_path

    port = free_port()
    url = f"http://127.0.0.1:{port}/v1"
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(smollm2_path()), "--host", "127.0.0.1",
               "--port", str(port), "--n_ctx", "2048", "--model_alias", "smollm2"]
    with running_server(command, url + "/models", timeout=90, what="llama_cpp.server"):
        yield url


def test_streams_from_a_real_server(server_url):
    backend = OpenAICompatibleBackend(server_url, model="smollm2")
    pieces = list(backend.stream([ChatMessage("user", "Name three colours.")], max_tokens=24, temperature=0.0))
    assert len(pieces) > 3 and "".join(pieces).strip()


def test_stop_closes_the_stream_early(server_url):
    backend = OpenAICompatibleBackend(server_url, model="smollm2")
    count = 0
    for _ in backend.stream([ChatMessage("user", "Count to one hundred.")], max_tokens=200, temperature=0.0,
                            should_stop=lambda: count >= 3):
        count += 1
    assert count == 3


@pytest.mark.django_db
def test_answer_through_the_remote_backend(server_url, public_collection, make_document, employee):
    make_document(public_collection, "leave.md", "# Leave\n\n## Vacation\n\nFull-time staff get 28 vacation days per year.\n")
    backend = OpenAICompatibleBackend(server_url, model="smollm2")
    events = list(answer("How many vacation days do I get?", user=employee, backend=backend, queue=GenerationQueue()))
    done = events[-1]
    assert done["kind"] == "generated" and done["status"] == "complete" and done["answer"]
    assert sum(e["type"] == "token" for e in events) > 1
    assert done["citations"][0]["section"] == "Leave › Vacation"


@pytest.mark.django_db
def test_unreachable_server_degrades_to_passages(public_collection, make_document, employee):
    make_document(public_collection, "leave.md", "# Leave\n\n## Vacation\n\nFull-time staff get 28 vacation days per year.\n")
    backend = OpenAICompatibleBackend("http://127.0.0.1:9/v1", timeout=2)
    with pytest.raises(GenerationError, match="could not be reached"):
        list(backend.stream([ChatMessage("user", "hi")], max_tokens=5, temperature=0))
    events = list(answer("How many vacation days do I get?", user=employee, backend=backend, queue=GenerationQueue()))
    assert any(e["type"] == "error" for e in events)
    done = events[-1]
    assert done["kind"] == "passages" and "[1] Leave" in done["answer"] and done["citations"]
