"""Dense vector index on FAISS: inner product over L2-normalised vectors (cosine similarity).

Small indexes are searched exactly (``IndexFlatIP``). From ``KB_DENSE_ANN_THRESHOLD`` vectors
on (default 50,000) an approximate index is used as well: an inverted file (IVF) of 8-bit
scalar-quantised vectors, whose best ``max(4k, 100)`` candidates are re-scored exactly against
the full-precision vectors, so the returned similarities are exact and only recall is
approximate (``bench/scale.py`` and ``tests/retrieval/test_ann.py`` measure it against exact
search).

An index object is never changed after it is built — readers may be using it while a writer
prepares the next version. ``extended`` and ``without`` therefore return new objects; they
reuse the trained IVF (a copy of it, with rows added or removed) instead of training again,
which keeps adding one document to a large collection cheap. Each IVF entry carries a
*slot* id; ``slot_rows`` maps slots to the current row numbers (``-1`` once removed).
The IVF is retrained only when the collection has grown to ``RETRAIN_GROWTH`` times the size
it was trained at.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import faiss
import numpy as np
from django.conf import settings

RETRAIN_GROWTH = 4.0


def ann_threshold() -> int:
    return settings.KB_DENSE_ANN_THRESHOLD


def ann_nprobe() -> int:
    return settings.KB_DENSE_ANN_NPROBE


class AnnIndex:
    """IVF + SQ8 over unit vectors, addressed by slot ids. Immutable once published."""

    def __init__(self, ivf: faiss.Index, slot_rows: np.ndarray, trained_for: int):
        self.ivf = ivf
        self.slot_rows = slot_rows  # int64, slot -> row (-1: removed)
        self.trained_for = trained_for

    @classmethod
    def train(cls, vectors: np.ndarray, seed: int = 1234) -> AnnIndex:
        n, dim = vectors.shape
        nlist = int(min(max(2 * math.sqrt(n), 64), 4096))
        quantizer = faiss.IndexFlatIP(dim)
        ivf = faiss.IndexIVFScalarQuantizer(
            quantizer, dim, nlist, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT
        )
        ivf.cp.niter = 10
        ivf.cp.seed = seed
        sample_size = min(n, 40 * nlist)
        rng = np.random.default_rng(seed)
        sample = vectors[np.sort(rng.choice(n, sample_size, replace=False))] if sample_size < n else vectors
        ivf.train(np.ascontiguousarray(sample))
        ann = cls(ivf, np.zeros(0, dtype=np.int64), trained_for=n)
        return ann.added(vectors, first_row=0, copy=False)

    def added(self, vectors: np.ndarray, first_row: int, copy: bool = True) -> AnnIndex:
        ivf = faiss.clone_index(self.ivf) if copy else self.ivf
        slots = np.arange(len(self.slot_rows), len(self.slot_rows) + len(vectors), dtype=np.int64)
        ivf.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), slots)
        rows = np.arange(first_row, first_row + len(vectors), dtype=np.int64)
        return AnnIndex(ivf, np.concatenate([self.slot_rows, rows]), self.trained_for)

    def kept(self, keep: np.ndarray) -> AnnIndex:
        """Rows where ``keep`` is false are removed; the others are renumbered."""
        new_row = np.cumsum(keep, dtype=np.int64) - 1
        new_row[~keep] = -1
        live = self.slot_rows >= 0
        slot_rows = self.slot_rows.copy()
        slot_rows[live] = new_row[self.slot_rows[live]]
        gone = np.flatnonzero(live & (slot_rows < 0)).astype(np.int64)
        ivf = faiss.clone_index(self.ivf)
        if len(gone):
            ivf.remove_ids(faiss.IDSelectorBatch(gone))
        return AnnIndex(ivf, slot_rows, self.trained_for)

    def search(self, vectors: np.ndarray, query: np.ndarray, k: int, nprobe: int):
        shortlist = max(4 * k, 100)
        params = faiss.SearchParametersIVF(nprobe=nprobe)
        _, slots = self.ivf.search(query.reshape(1, -1), shortlist, params=params)
        slots = slots[0][slots[0] >= 0]
        rows = self.slot_rows[slots]
        rows = rows[rows >= 0]
        exact = vectors[rows] @ query  # re-score with full-precision vectors
        order = np.argsort(-exact, kind="stable")[:k]
        return rows[order], exact[order]

    def save(self, folder: Path):
        faiss.write_index(self.ivf, str(folder / "dense_ann.faiss"))
        np.save(folder / "dense_ann_slots.npy", self.slot_rows)
        (folder / "dense_ann.json").write_text(json.dumps({"trained_for": self.trained_for}))

    @classmethod
    def load(cls, folder: Path) -> AnnIndex | None:
        if not (folder / "dense_ann.faiss").exists():
            return None
        meta = json.loads((folder / "dense_ann.json").read_text())
        return cls(
            faiss.read_index(str(folder / "dense_ann.faiss")),
            np.load(folder / "dense_ann_slots.npy"),
            int(meta["trained_for"]),
        )


class DenseIndex:
    def __init__(self, vectors: np.ndarray, ann: AnnIndex | None = None, threshold: int | None = None):
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.dim = self.vectors.shape[1] if self.vectors.ndim == 2 else 0
        self.threshold = ann_threshold() if threshold is None else threshold
        n = len(self.vectors)
        if n < self.threshold or not self.dim:
            ann = None
        elif ann is None or n > RETRAIN_GROWTH * ann.trained_for:
            ann = AnnIndex.train(self.vectors)
        self.ann = ann
        self._flat = None

    @classmethod
    def empty(cls, dim: int = 0) -> DenseIndex:
        return cls(np.zeros((0, dim), dtype=np.float32))

    def __len__(self):
        return len(self.vectors)

    def extended(self, vectors: np.ndarray) -> DenseIndex:
        vectors = np.asarray(vectors, dtype=np.float32)
        if not len(self.vectors):
            return DenseIndex(vectors, threshold=self.threshold)
        ann = self.ann.added(vectors, first_row=len(self.vectors)) if self.ann is not None else None
        return DenseIndex(np.vstack([self.vectors, vectors]), ann=ann, threshold=self.threshold)

    def without(self, keep: np.ndarray) -> DenseIndex:
        ann = self.ann.kept(keep) if self.ann is not None else None
        return DenseIndex(self.vectors[keep], ann=ann, threshold=self.threshold)

    def top_k(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Row numbers and cosine similarities of the ``k`` nearest vectors, best first."""
        if self.ann is None:
            return self.exact_top_k(query, k)
        query = np.ascontiguousarray(query, dtype=np.float32).ravel()
        return self.ann.search(self.vectors, query, min(k, len(self.vectors)), ann_nprobe())

    def exact_top_k(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Exhaustive search (the reference the approximate index is measured against)."""
        if not self.dim or not len(self.vectors):
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        k = min(k, len(self.vectors))
        query = np.asarray(query, dtype=np.float32).reshape(1, -1)
        if self.ann is not None:  # large: no second copy of the vectors in an IndexFlatIP
            scores, rows = faiss.knn(query, self.vectors, k, metric=faiss.METRIC_INNER_PRODUCT)
        else:
            if self._flat is None:
                flat = faiss.IndexFlatIP(self.dim)
                flat.add(self.vectors)
                self._flat = flat
            scores, rows = self._flat.search(query, k)
        keep = rows[0] >= 0
        return rows[0][keep], scores[0][keep]

    def save(self, folder: Path):
        np.save(folder / "dense_vectors.npy", self.vectors)
        if self.ann is not None:
            self.ann.save(folder)

    @classmethod
    def load(cls, folder: Path) -> DenseIndex:
        return cls(np.load(folder / "dense_vectors.npy"), ann=AnnIndex.load(folder))
