"""Dense vector index on FAISS: inner product over L2-normalised vectors (cosine similarity)."""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np


class DenseIndex:
    def __init__(self, vectors: np.ndarray):
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.dim = self.vectors.shape[1] if self.vectors.ndim == 2 else 0
        self.index = faiss.IndexFlatIP(self.dim) if self.dim else None
        if self.index is not None and len(self.vectors):
            self.index.add(self.vectors)

    @classmethod
    def empty(cls, dim: int = 0) -> DenseIndex:
        return cls(np.zeros((0, dim), dtype=np.float32))

    def __len__(self):
        return len(self.vectors)

    def extended(self, vectors: np.ndarray) -> DenseIndex:
        if not len(self.vectors):
            return DenseIndex(vectors)
        return DenseIndex(np.vstack([self.vectors, vectors.astype(np.float32)]))

    def without(self, keep: np.ndarray) -> DenseIndex:
        return DenseIndex(self.vectors[keep])

    def top_k(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Row numbers and cosine similarities of the ``k`` nearest vectors, best first."""
        if self.index is None or not len(self.vectors):
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        k = min(k, len(self.vectors))
        scores, rows = self.index.search(np.asarray(query, dtype=np.float32).reshape(1, -1), k)
        keep = rows[0] >= 0
        return rows[0][keep], scores[0][keep]

    def save(self, folder: Path):
        np.save(folder / "dense_vectors.npy", self.vectors)

    @classmethod
    def load(cls, folder: Path) -> DenseIndex:
        return cls(np.load(folder / "dense_vectors.npy"))
