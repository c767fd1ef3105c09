"""llama.cpp's own HTTP server (``llama-server``) with parallel slots: many answers at once.

One llama.cpp context serves one answer at a time. llama-server holds N sequences in one
context and decodes them together (continuous batching: a new request joins the running batch
at the next step, a finished one leaves it), so N answers stream at once and share each pass
over the weights. ``./kb`` builds the binary once per machine from the llama.cpp vendored in
llama-cpp-python's source distribution (same version, same CPU flags) and ``./kb start`` runs
it under its supervisor (``kbassist/serve.py``) when KB_LLM_PARALLEL > 1; the app talks to it
through the OpenAI-compatible backend, asking it to keep each slot's prompt in its cache
(``cache_prompt``), so the system prompt shared by every question is evaluated once per slot.

Speculative decoding: with a draft model (KB_LLM_DRAFT_MODEL, e.g. the 0.5B for the 1.5B chat
model), llama-server lets the small model propose a few tokens and the chat model check them
in one pass; the text is the chat model's own.
"""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

from django.conf import settings

from .base import GenerationError
from .openai_compat import OpenAICompatibleBackend
from .bundled import CHAT_MODELS, chat_model_filename

HOST = "127.0.0.1"


class ServerNotBuilt(GenerationError):
    """The llama-server binary is missing; the message says how to get it."""


def base_url(port: int | None = None) -> str:
    return f"http://{HOST}:{port or settings.KB_LLM_SERVER_PORT}"


def openai_url(port: int | None = None) -> str:
    """Where the OpenAI-compatible backend reaches the server."""
    return base_url(port) + "/v1"


def healthy(url: str | None = None, timeout: float = 2.0) -> bool:
    """True once the server at ``url`` (default: ours) has loaded its model: ``/health`` says 200
    (503 while loading)."""
    try:
        with urllib.request.urlopen((url or base_url()) + "/health", timeout=timeout) as response:
            return response.status == 200
    except (OSError, ValueError):
        return False


def slots(url: str | None = None, timeout: float = 2.0) -> list[dict]:
    """The server's slots (``/slots``): which are processing a request right now."""
    with urllib.request.urlopen((url or base_url()) + "/slots", timeout=timeout) as response:
        return json.loads(response.read())


def built() -> str:
    """The newest llama-server in ``./kb``'s build cache (``~/.cache/kbassist/llama-server-*``), or ""."""
    import os

    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "kbassist"
    found = sorted(cache.glob("llama-server-*/llama-server"), key=lambda p: p.stat().st_mtime)
    return str(found[-1]) if found else ""


def binary(path: str = "") -> str:
    """The llama-server executable: ``path``, else KB_LLAMA_SERVER (which ``./kb`` sets), else
    the newest one ``./kb`` built."""
    path = path or settings.KB_LLAMA_SERVER or built()
    if not path:
        raise ServerNotBuilt("llama-server is not built: ./kb start builds it when KB_LLM_PARALLEL > 1 "
                             "(or set KB_LLAMA_SERVER to a llama-server binary).")
    if not Path(path).is_file():
        raise ServerNotBuilt(f"llama-server is not at {path} (KB_LLAMA_SERVER); ./kb start builds it.")
    return path


def model_file(name_or_path: str) -> str:
    """A GGUF file named by a bundled model name (``qwen-0.5b``) or a path."""
    if name_or_path in CHAT_MODELS:
        path = Path(settings.MODELS_DIR) / chat_model_filename(name_or_path)
    else:
        path = Path(name_or_path)
    if not path.is_file():
        raise GenerationError(f"The model file {path} does not exist. Run ./kb setup (KB_LLM_MODEL=...) or give a path.")
    return str(path)


def command(executable: str, model_path: str, *, port: int, parallel: int, context_per_slot: int, threads: int,
            gpu_layers: int = 0, draft_path: str = "", alias: str = "local") -> list[str]:
    """The command line of a llama-server with ``parallel`` slots on loopback ``port``, each
    slot with ``context_per_slot`` tokens (the context is split evenly between the slots)."""
    argv = [
        executable, "--model", model_path, "--alias", alias, "--host", HOST, "--port", str(port),
        "--parallel", str(parallel), "--ctx-size", str(parallel * context_per_slot), "--cont-batching",
        "--threads", str(threads), "--threads-batch", str(threads), "--n-gpu-layers", str(gpu_layers),
        "--slots",  # /slots: which slots are busy (tests, operators)
        "--cache-ram", "1024",  # MiB of saved prompt states in host memory (llama.cpp's default: 8 GiB)
        "--no-webui",
    ]
    if draft_path:
        argv += ["--model-draft", draft_path] + (["--n-gpu-layers-draft", str(gpu_layers)] if gpu_layers else [])
    return argv


def command_from_settings(port: int | None = None) -> list[str]:
    """The llama-server that ``./kb start`` runs for these settings."""
    draft = model_file(settings.KB_LLM_DRAFT_MODEL) if settings.KB_LLM_DRAFT_MODEL else ""
    return command(binary(), model_file(settings.KB_LLM_MODEL_PATH), port=port or settings.KB_LLM_SERVER_PORT,
                   parallel=max(1, settings.KB_LLM_PARALLEL), context_per_slot=settings.KB_LLM_CONTEXT,
                   threads=settings.KB_LLM_THREADS, gpu_layers=settings.KB_LLM_GPU_LAYERS, draft_path=draft,
                   alias=Path(settings.KB_LLM_MODEL_PATH).name)


class LlamaServerBackend(OpenAICompatibleBackend):
    """Generation by our llama-server: OpenAI's protocol, with llama.cpp's prompt cache and the
    in-process backend's repeat penalty, and token counts from the server's own tokenizer."""

    def __init__(self, port: int | None = None, context_size: int | None = None, model: str = "local"):
        super().__init__(openai_url(port), model=model, context_size=context_size or settings.KB_LLM_CONTEXT,
                         extra_body={"cache_prompt": True, "repeat_penalty": 1.1})
        self.server = base_url(port)

    def count_tokens(self, text: str) -> int:
        try:
            request = urllib.request.Request(self.server + "/tokenize", data=json.dumps({"content": text}).encode(),
                                             headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(request, timeout=10) as response:
                return len(json.loads(response.read())["tokens"])
        except (OSError, ValueError, KeyError):
            return super().count_tokens(text)  # the server is down: the estimate (generation will say so)


def server_backend(port: int | None = None, context_size: int | None = None) -> LlamaServerBackend:
    """The backend of the chat model when ``./kb start`` runs llama-server (KB_LLM_SERVER)."""
    return LlamaServerBackend(port, context_size, model=Path(settings.KB_LLM_MODEL_PATH).name)
