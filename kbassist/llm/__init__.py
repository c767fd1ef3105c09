"""Text generation behind one small interface (``base.LLMBackend``), chosen by settings.

``get_backend()`` returns the process-wide backend named by KB_LLM_BACKEND:
  llamacpp  a local GGUF model run in-process by llama-cpp-python (CPU, or GPU layers)
  openai    any OpenAI-compatible server (llama.cpp server, vLLM, TGI) at KB_OPENAI_BASE_URL
With KB_LLM_PARALLEL > 1 (or a draft model) the local model is served by llama.cpp's own server,
which ``./kb start`` runs (``server.py``): ``get_backend()`` talks to it over loopback.
"""

from importlib import import_module

from django.conf import settings

from kbassist.process import ProcessWide

from .base import ChatMessage, GenerationError, LLMBackend


# For each KB_LLM_BACKEND: the module and class that run it (imported when built, so that a
# process imports only the client it uses), and the setting each argument defaults to.
_BACKENDS = {
    "llamacpp": (".llamacpp", "LlamaCppBackend", {
        "model_path": "KB_LLM_MODEL_PATH", "context_size": "KB_LLM_CONTEXT", "threads": "KB_LLM_THREADS",
        "gpu_layers": "KB_LLM_GPU_LAYERS", "seed": "KB_LLM_SEED", "lora_path": "KB_LLM_LORA_PATH",
    }),
    "openai": (".openai_compat", "OpenAICompatibleBackend", {
        "base_url": "KB_OPENAI_BASE_URL", "api_key": "KB_OPENAI_API_KEY", "model": "KB_OPENAI_MODEL",
        "context_size": "KB_LLM_CONTEXT",
    }),
}


def build_backend(name: str | None = None, **overrides) -> LLMBackend:
    """A new backend named ``name`` (default KB_LLM_BACKEND); ``overrides`` replace the settings
    its arguments default to."""
    if name is None and settings.KB_LLM_SERVER:  # the local model behind llama-server's parallel slots
        from .server import server_backend

        return server_backend(**overrides)
    name = name or settings.KB_LLM_BACKEND
    if name not in _BACKENDS:
        raise ValueError(f"Unknown KB_LLM_BACKEND {name!r}: use 'llamacpp' or 'openai'.")
    module, class_name, defaults = _BACKENDS[name]
    backend_class = getattr(import_module(module, __package__), class_name)
    return backend_class(**{arg: overrides.get(arg, getattr(settings, setting)) for arg, setting in defaults.items()})


_backend: ProcessWide[LLMBackend] = ProcessWide(lambda: build_backend())


def get_backend() -> LLMBackend:
    """The process-wide backend, loaded on first use (loading a model takes a moment)."""
    return _backend.get()


def loaded_backend() -> LLMBackend | None:
    """The process-wide backend if it was loaded already (health checks never load a model)."""
    return _backend.peek()


def set_backend(backend: LLMBackend | None):
    """Replace the process-wide backend (tests use it to run a given model)."""
    _backend.set(backend)


def _build_checker() -> LLMBackend:
    """The model of the answer check (KB_CHECK_MODEL): the chat backend itself when that is a
    remote server or the same file, else the bundled model of that name, loaded beside it."""
    from pathlib import Path

    from .bundled import chat_model_filename

    if settings.KB_LLM_BACKEND != "llamacpp" or settings.KB_CHECK_MODEL == "chat":
        return get_backend()
    path = Path(settings.MODELS_DIR) / chat_model_filename(settings.KB_CHECK_MODEL)
    if path.name == Path(settings.KB_LLM_MODEL_PATH).name:
        return get_backend()
    return build_backend("llamacpp", model_path=str(path), context_size=1024)


_checker: ProcessWide[LLMBackend] = ProcessWide(_build_checker)


def get_checker() -> LLMBackend:
    """The process-wide backend of the answer check (see ``chat/answer_check.py``)."""
    return _checker.get()


def set_checker(backend: LLMBackend | None):
    """Replace the answer check's backend (tests)."""
    _checker.set(backend)


__all__ = ["ChatMessage", "GenerationError", "LLMBackend", "build_backend", "get_backend", "get_checker", "loaded_backend", "set_backend",
           "set_checker"]
