"""The OpenAI-compatible backend against a real server: llama.cpp's own (llama_cpp.server)
serving SmolLM2 on a loopback port — the same protocol as vLLM, TGI or a remote llama.cpp.
(An unreachable server: tests/llm/test_openai_compat.py and tests/chat/test_answer.py.)"""

import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from kbassist.chat.answering import answer
from kbassist.llm.base import ChatMessage, GenerationError
from kbassist.llm.openai_compat import OpenAICompatibleBackend
from kbassist.llm.line import GenerationLine

from tests.conftest import free_port, running_server

pytestmark = pytest.mark.llm


def llama_cpp_server(*options):
    """llama.cpp's OpenAI-compatible server with SmolLM2, on a free loopback port."""
    from kbassist.llm.bundled import smollm2_path

    port = free_port()
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(smollm2_path()), "--host", "127.0.0.1",
               "--port", str(port), "--n_ctx", "2048", "--model_alias", "smollm2", *options]
    # FastAPI's /docs answers without a key, so it also tells when a server with one is up
    return running_server(command, f"http://127.0.0.1:{port}/docs", timeout=90, what="llama_cpp.server"), f"http://127.0.0.1:{port}/v1"


@pytest.fixture(scope="module")
def server_url():
    server, url = llama_cpp_server()
    with server:
        yield url


@pytest.fixture(scope="module")
def keyed_server_url():
    server, url = llama_cpp_server("--api_key", "kb-test-key")
    with server:
        yield url


def connections_to(url) -> int:
    """Open TCP connections from this machine to the server at ``url`` (Linux's /proc/net/tcp:
    ESTABLISHED rows whose remote end is the server's port)."""
    port = urlsplit(url).port
    rows = [row.split() for row in Path("/proc/net/tcp").read_text().splitlines()[1:]]
    return sum(1 for row in rows if row[3] == "01" and int(row[2].split(":")[1], 16) == port)


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
        while_streaming = connections_to(server_url)
    assert count == 3
    # the connection is closed at once (the server sees the client leave and stops), not
    # kept open until the reply is read to its end
    assert connections_to(server_url) < while_streaming
    assert "".join(backend.stream([ChatMessage("user", "Say hello.")], max_tokens=8, temperature=0.0)).strip()


def test_stop_before_the_first_token_sends_nothing(server_url):
    backend = OpenAICompatibleBackend(server_url, model="smollm2")
    before = connections_to(server_url)
    assert list(backend.stream([ChatMessage("user", "Hi")], max_tokens=8, temperature=0.0, should_stop=lambda: True)) == []
    assert connections_to(server_url) == before


def test_a_wrong_base_url_is_named_with_the_servers_answer(server_url):
    backend = OpenAICompatibleBackend(server_url.removesuffix("/v1"), model="smollm2")  # "/v1" forgotten
    with pytest.raises(GenerationError, match=r"answered HTTP 404: Not Found"):
        list(backend.stream([ChatMessage("user", "Hi")], max_tokens=8, temperature=0.0))


def test_a_reply_the_server_breaks_off_is_an_error_not_an_empty_answer(server_url):
    """llama.cpp's server, given more than its context holds, starts a stream and ends it
    without a word or a finish reason."""
    backend = OpenAICompatibleBackend(server_url, model="smollm2")
    with pytest.raises(GenerationError, match="ended the reply before it was complete"):
        list(backend.stream([ChatMessage("user", "word " * 3000)], max_tokens=8, temperature=0.0))


def test_the_api_key_is_sent_to_a_server_that_wants_one(keyed_server_url):
    backend = OpenAICompatibleBackend(keyed_server_url, api_key="kb-test-key", model="smollm2")
    assert "".join(backend.stream([ChatMessage("user", "Say hello.")], max_tokens=8, temperature=0.0)).strip()
    for wrong in ("", "not-the-key"):
        backend = OpenAICompatibleBackend(keyed_server_url, api_key=wrong, model="smollm2")
        with pytest.raises(GenerationError, match="answered HTTP 401: Invalid API key"):
            list(backend.stream([ChatMessage("user", "Hi")], max_tokens=8, temperature=0.0))


@pytest.mark.django_db
def test_answer_through_the_remote_backend(server_url, handbook, employee, settings):
    settings.KB_LLM_MAX_TOKENS = 32  # a complete answer in pieces, with its sources: no need for a long one
    backend = OpenAICompatibleBackend(server_url, model="smollm2")
    events = list(answer("How many vacation days do I get?", user=employee, backend=backend, line=GenerationLine()))
    done = events[-1]
    assert done["status"] == "complete" and done["answer"]
    assert sum(e["type"] == "token" for e in events) > 1  # streamed from the server in pieces
    # SmolLM2 (135M) may make its figure up: then verification makes the reply the refusal
    # quoting the sources, which is still an answer the server wrote and the chat checked
    assert done["kind"] == "generated" or done["verification"].get("invented") or done["verification"].get("passed_over"), done["answer"]
    assert done["citations"][0]["section"] == "Leave › Vacation"
