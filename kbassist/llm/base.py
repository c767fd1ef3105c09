"""The seam every generation backend implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass


@dataclass
class ChatMessage:
    role: str  # "system" | "user" | "assistant"
    content: str


class GenerationError(Exception):
    """The model could not be loaded or failed while generating; the message is for users."""


class LLMBackend(ABC):
    name: str = "backend"
    context_size: int = 4096

    @abstractmethod
    def count_tokens(self, text: str) -> int:
        """How many tokens ``text`` takes in this model's context (an estimate is fine)."""

    @abstractmethod
    def stream(
        self,
        messages: list[ChatMessage],
        *,
        max_tokens: int,
        temperature: float,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> Iterator[str]:
        """Yield the reply piece by piece. Returns early, freeing the model, once
        ``should_stop()`` is true. Raises ``GenerationError`` on failure."""

    def check_reachable(self, timeout: float) -> None:
        """Raise ``GenerationError`` when the model cannot answer now (``/readyz``). A model
        loaded in this process can; a remote backend asks its server."""

    def forget_prompt_cache(self):
        """Drop any cached prompt state, so that the next prompt is evaluated in full
        (benchmarks of a cold prompt). Backends without such a cache do nothing."""
