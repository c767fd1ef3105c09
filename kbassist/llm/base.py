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

    def yes_probability(self, messages: list[ChatMessage]) -> float | None:
        """How likely the reply to ``messages`` begins with "yes" rather than "no" (the two
        shares of the first token's probability, normalised to sum to 1), for a question
        asked to be answered yes or no; None when this backend cannot tell (callers then read
        a greedy reply). Raises ``GenerationError`` on failure."""
        return None

    def forget_prompt_cache(self):
        """Drop any cached prompt state, so that the next prompt is evaluated in full
        (benchmarks of a cold prompt). Backends without such a cache do nothing."""


def yes_share(candidates) -> float | None:
    """From ``(token text, probability)`` pairs of a first token: the share of "yes" in the
    probability of "yes" and "no" (any case, leading space or not); None when neither is among
    them."""
    yes = no = 0.0
    for text, probability in candidates:
        word = text.strip().lower()
        if word in ("yes", "是"):
            yes += probability
        elif word in ("no", "否"):
            no += probability
    return yes / (yes + no) if yes + no > 0 else None
