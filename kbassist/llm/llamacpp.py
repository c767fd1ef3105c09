"""A local GGUF model run in-process by llama-cpp-python.

The model lives in one dedicated thread that loads it and runs every generation: llama.cpp
(OpenMP) measured ~24 tokens/s here when the thread that loaded the model generates, and
~16 tokens/s when another thread does (bench/generation.py; 2 cores). ``stream()`` hands
the work to that thread and passes the pieces back through a queue, so callers may use
any thread, and one context serves one generation at a time by construction.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from .base import ChatMessage, GenerationError, LLMBackend, yes_share

log = logging.getLogger(__name__)
_END = object()


class LlamaCppBackend(LLMBackend):
    def __init__(self, model_path: str, context_size: int = 4096, threads: int = 2, gpu_layers: int = 0, seed: int = 42,
                 lora_path: str = ""):
        self.model_path = str(model_path)
        self.name = Path(self.model_path).name
        if lora_path:  # a LoRA adapter (GGUF) trained elsewhere, applied by llama.cpp on load
            if not Path(lora_path).is_file():
                raise GenerationError(f"The LoRA adapter {lora_path} does not exist (KB_LLM_LORA_PATH).")
            self.name += f"+{Path(lora_path).name}"
        self.context_size = context_size
        if not Path(self.model_path).is_file():
            raise GenerationError(
                f"The model file {self.model_path} does not exist. Run ./kb setup, or set KB_LLM_MODEL_PATH."
            )
        self._jobs: queue.Queue = queue.Queue()
        self._formatter = None  # the GGUF's chat template, for yes_probability()
        self._yes_no_tokens: list[tuple[int, str]] = []  # the single-token spellings of yes and no
        self._ready = threading.Event()
        self._load_error: Exception | None = None
        self.llm = None
        params = dict(model_path=self.model_path, n_ctx=context_size, n_threads=threads, n_gpu_layers=gpu_layers,
                      seed=seed, verbose=False)
        if lora_path:
            params["lora_path"] = str(lora_path)
        threading.Thread(target=self._own_model, args=(params,), name=f"llama-{self.name}", daemon=True).start()
        self._ready.wait()
        if self._load_error is not None:
            raise GenerationError(f"The model {self.name} could not be loaded: {self._load_error}") from self._load_error
        log.info("loaded %s (n_ctx=%s, threads=%s, gpu_layers=%s)", self.name, context_size, threads, gpu_layers)

    def _own_model(self, params):
        """The model's thread: load it, then run generation jobs one after another."""
        from llama_cpp import Llama

        try:
            self.llm = Llama(**params)
        except Exception as exc:  # llama.cpp raises ValueError/RuntimeError on a bad file
            self._load_error = exc
            return
        finally:
            self._ready.set()
        while True:
            job = self._jobs.get()
            try:
                job()
            except Exception:  # a job reports its own errors; never let the thread die
                log.exception("generation job failed")

    def _on_model_thread(self, work: Callable[[], object]):
        """Run ``work`` on the model's own thread, after any generation in progress, and
        return its result (its exception becomes a ``GenerationError``)."""
        result: dict = {}
        done = threading.Event()

        def job():
            try:
                result["value"] = work()
            except Exception as exc:  # noqa: BLE001 - reported to the caller
                result["error"] = exc
            finally:
                done.set()

        self._jobs.put(job)
        done.wait()
        if "error" in result:
            raise GenerationError(f"The model failed while answering: {result['error']}")
        return result["value"]

    def forget_prompt_cache(self):
        """Evaluate the next prompt from scratch (benchmarks measure a cold prompt)."""
        self._on_model_thread(lambda: self.llm.reset())

    def yes_probability(self, messages: list[ChatMessage]) -> float | None:
        """Read from the logits of the reply's first token: the prompt is evaluated once, on
        the model's thread, and nothing is generated."""
        return self._on_model_thread(lambda: self._first_token_yes(messages))

    def _first_token_yes(self, messages: list[ChatMessage]) -> float | None:
        from llama_cpp import llama_get_logits
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        llm = self.llm
        template = llm.metadata.get("tokenizer.chat_template")
        if not template:
            return None
        if self._formatter is None:
            text = lambda token: llm.detokenize([token], special=True).decode("utf-8", "replace") if token != -1 else ""  # noqa: E731
            self._formatter = Jinja2ChatFormatter(template=template, eos_token=text(llm.token_eos()), bos_token=text(llm.token_bos()))
            words = ("yes", "Yes", "YES", " yes", " Yes", "no", "No", "NO", " no", " No")
            ids = {t[0] for w in words if len(t := llm.tokenize(w.encode(), add_bos=False, special=False)) == 1}
            self._yes_no_tokens = [(token, text(token)) for token in sorted(ids)]
        prompt = self._formatter(messages=[{"role": m.role, "content": m.content} for m in messages]).prompt
        llm.reset()
        llm.eval(llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True))
        logits = llama_get_logits(llm.ctx)  # the last token's
        # yes_share normalises over "yes" and "no" alone: the rest of the vocabulary cancels out
        top = max(logits[token] for token, _ in self._yes_no_tokens)
        return yes_share((word, math.exp(logits[token] - top)) for token, word in self._yes_no_tokens)

    def count_tokens(self, text: str) -> int:
        return len(self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def stream(self, messages: list[ChatMessage], *, max_tokens: int, temperature: float,
               should_stop: Callable[[], bool] = lambda: False) -> Iterator[str]:
        out: queue.Queue = queue.Queue()
        abandoned = threading.Event()  # the caller stopped reading

        def job():
            chunks = None
            try:
                chunks = self.llm.create_chat_completion(
                    messages=[{"role": m.role, "content": m.content} for m in messages],
                    max_tokens=max_tokens,
                    temperature=temperature,
                    repeat_penalty=1.1,
                    stream=True,
                )
                for chunk in chunks:
                    if should_stop() or abandoned.is_set():
                        break
                    piece = chunk["choices"][0]["delta"].get("content")
                    if piece:
                        out.put(piece)
            except Exception as exc:
                out.put(GenerationError(f"The model failed while answering: {exc}"))
            finally:
                if chunks is not None:
                    chunks.close()  # ends llama.cpp's generation loop at once
                out.put(_END)

        self._jobs.put(job)
        try:
            while (item := out.get()) is not _END:
                if isinstance(item, GenerationError):
                    raise item
                yield item
        finally:
            abandoned.set()
