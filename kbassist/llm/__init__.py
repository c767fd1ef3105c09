"""Text generation behind one small interface (``base.LLMBackend``), chosen by settings.

``get_backend()`` returns the process-wide backend named by KB_LLM_BACKEND:
  llamacpp  a local GGUF model run in-process by llama-cpp-python (CPU, or GPU layers)
  openai    any OpenAI-compatible server (llama.cpp server, vLLM, TGI) at KB_OPENAI_BASE_URL
"""

from django.conf import settings

from kbassist.process import ProcessWide

from .base import ChatMessage, GenerationError, LLMBackend


def build_backend(name: str | None = None, **overrides) -> LLMBackend:
    name = name or settings.KB_LLM_BACKEND
    if name == "llamacpp":
        from .llamacpp import LlamaCppBackend

        return LlamaCppBackend(
            model_path=overrides.get("model_path", settings.KB_LLM_MODEL_PATH),
            context_size=overrides.get("context_size", settings.KB_LLM_CONTEXT),
            threads=overrides.get("threads", settings.KB_LLM_THREADS),
            gpu_layers=overrides.get("gpu_layers", settings.KB_LLM_GPU_LAYERS),
            seed=overrides.get("seed", settings.KB_LLM_SEED),
        )
    if name == "openai":
        from .openai_compat import OpenAICompatibleBackend

        return OpenAICompatibleBackend(
            base_url=overrides.get("base_url", settings.KB_OPENAI_BASE_URL),
            api_key=overrides.get("api_key", settings.KB_OPENAI_API_KEY),
            model=overrides.get("model", settings.KB_OPENAI_MODEL),
            context_size=overrides.get("context_size", settings.KB_LLM_CONTEXT),
        )
    raise ValueError(f"Unknown KB_LLM_BACKEND {name!r}: use 'llamacpp' or 'openai'.")


_backend: ProcessWide[LLMBackend] = ProcessWide(lambda: build_backend())


def get_backend() -> LLMBackend:
    """The process-wide backend, loaded on first use (loading a model takes a moment)."""
    return _backend.get()


def set_backend(backend: LLMBackend | None):
    """Replace the process-wide backend (tests use it to run a given model)."""
    _backend.set(backend)


__all__ = ["ChatMessage", "GenerationError", "LLMBackend", "build_backend", "get_backend", "set_backend"]
