"""One object per process, built on first use: the chat model's backend, the embedder.

Needs neither Django nor the rest of kbassist, so any layer can hold one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class ProcessWide(Generic[T]):
    """The value ``build()`` returns, built once on the first ``get()`` (under a lock, so two
    threads never load a model twice); ``set(value)`` replaces it, ``set(None)`` rebuilds on next use."""

    def __init__(self, build: Callable[[], T]):
        self._build = build
        self._lock = threading.Lock()
        self._value: T | None = None

    def get(self) -> T:
        with self._lock:
            if self._value is None:
                self._value = self._build()
            return self._value

    def peek(self) -> T | None:
        """The value if it was built already, else None (never builds)."""
        return self._value

    def set(self, value: T | None) -> None:
        with self._lock:
            self._value = value
