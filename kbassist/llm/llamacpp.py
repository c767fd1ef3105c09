"""A local GGUF model run in-process by llama-cpp-python."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path

from .base import ChatMessage, GenerationError, LLMBackend

log = logging.getLogger(__name__)


class LlamaCppBackend(LLMBackend):
    def __init__(self, model_path: str, context_size: int = 4096, threads: int = 2, gpu_layers: int = 0, seed: int = 42):
        self.model_path = str(model_path)
        self.name = Path(self.model_path).name
        self.context_size = context_size
        if not Path(self.model_path).is_file():
            raise GenerationError(
                f"The model file {self.model_path} does not exist. Run ./kb setup, or set KB_LLM_MODEL_PATH."
            )
        from llama_cpp import Llama

        try:
            self.llm = Llama(
                model_path=self.model_path,
                n_ctx=context_size,
                n_threads=threads,
                n_gpu_layers=gpu_layers,
                seed=seed,
                verbose=False,
            )
        except Exception as exc:  # llama.cpp raises ValueError/RuntimeError on a bad file
            raise GenerationError(f"The model {self.name} could not be loaded: {exc}") from exc
        log.info("loaded %s (n_ctx=%s, threads=%s, gpu_layers=%s)", self.name, context_size, threads, gpu_layers)

    def count_tokens(self, text: str) -> int:
        return len(self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def stream(
        self,
        messages: list[ChatMessage],
        *,
        max_tokens: int,
        temperature: float,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> Iterator[str]:
        try:
            chunks = self.llm.create_chat_completion(
                messages=[{"role": m.role, "content": m.content} for m in messages],
                max_tokens=max_tokens,
                temperature=temperature,
                repeat_penalty=1.1,
                stream=True,
            )
        except Exception as exc:
            raise GenerationError(f"The model failed to start the answer: {exc}") from exc
        try:
            for chunk in chunks:
                if should_stop():
                    break
                piece = chunk["choices"][0]["delta"].get("content")
                if piece:
                    yield piece
        except GenerationError:
            raise
        except Exception as exc:
            raise GenerationError(f"The model failed while answering: {exc}") from exc
        finally:
            chunks.close()  # ends llama.cpp's generation loop at once
