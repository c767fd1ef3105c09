"""What ``./kb start`` runs for the settings (``kbassist.serve``), without running it."""

import sys

import pytest

from kbassist import serve
from kbassist.llm import server


def argument(argv, flag):
    return argv[argv.index(flag) + 1]


def test_one_slot_runs_the_web_process_and_the_worker_and_no_model_server(settings):
    settings.KB_LLM_SERVER = False
    children = serve.children("127.0.0.1", 8123)
    assert [c.name for c in children] == ["worker", "web"]
    web = children[1].argv
    assert web[:3] == [sys.executable, "-m", "daphne"] and argument(web, "-p") == "8123"
    assert "--beat" in children[0].argv


def test_parallel_slots_start_llama_server_first_and_wait_for_its_health(settings, tmp_path):
    executable, model = tmp_path / "llama-server", tmp_path / "chat.gguf"
    executable.touch()
    model.touch()
    settings.KB_LLM_SERVER, settings.KB_LLAMA_SERVER, settings.KB_LLM_MODEL_PATH = True, str(executable), str(model)
    settings.KB_LLM_PARALLEL, settings.KB_LLM_CONTEXT, settings.KB_LLM_SERVER_PORT = 4, 2048, 8191
    settings.KB_LLM_DRAFT_MODEL = ""
    children = serve.children("127.0.0.1", 8123)
    assert [c.name for c in children] == ["llama-server", "worker", "web"]
    llama = children[0]
    assert llama.argv[0] == str(executable) and argument(llama.argv, "--model") == str(model)
    # four slots of the per-slot context each, on loopback, continuous batching
    assert argument(llama.argv, "--parallel") == "4" and argument(llama.argv, "--ctx-size") == "8192"
    assert argument(llama.argv, "--host") == "127.0.0.1" and argument(llama.argv, "--port") == "8191"
    assert "--cont-batching" in llama.argv and "--model-draft" not in llama.argv
    assert llama.ready is not None  # the web process starts once /health answers


def test_a_draft_model_is_passed_to_llama_server(settings, tmp_path):
    executable, model, draft = tmp_path / "llama-server", tmp_path / "chat.gguf", tmp_path / "draft.gguf"
    for path in (executable, model, draft):
        path.touch()
    settings.KB_LLAMA_SERVER, settings.KB_LLM_MODEL_PATH, settings.KB_LLM_DRAFT_MODEL = str(executable), str(model), str(draft)
    assert argument(server.command_from_settings(), "--model-draft") == str(draft)


def test_a_missing_llama_server_says_how_to_get_it(settings, tmp_path):
    settings.KB_LLAMA_SERVER = str(tmp_path / "nowhere" / "llama-server")
    with pytest.raises(server.ServerNotBuilt, match="llama-server is not at .* ./kb start builds it"):
        server.binary()


def test_the_chat_backend_is_llama_server_when_it_runs(settings):
    from kbassist.llm import build_backend

    settings.KB_LLM_SERVER, settings.KB_LLM_SERVER_PORT = True, 8191
    backend = build_backend()
    assert isinstance(backend, server.LlamaServerBackend) and backend.base_url == "http://127.0.0.1:8191/v1"
    assert backend.extra_body["cache_prompt"] is True  # the shared system prompt is evaluated once per slot
