"""BM25 keyword index with rank-bm25's BM25Okapi scoring, computed on a sparse matrix.

``rank_bm25.BM25Okapi.get_scores`` walks every document in Python for every query term,
which is fine for a few thousand chunks and far too slow for a large collection. This index
keeps the same formula (same idf, including BM25Okapi's epsilon floor for very common
terms, same k1 and b) but stores term frequencies in a compressed sparse matrix, so a query
only touches the documents that contain one of its terms. ``tests/retrieval/test_bm25.py`` checks the
scores against rank-bm25 itself.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
from scipy import sparse


class BM25Index:
    def __init__(self, tf: sparse.csr_matrix, vocab: dict[str, int], k1=1.5, b=0.75, epsilon=0.25):
        self.tf = tf.tocsr()  # documents x terms, raw term counts
        self.vocab = vocab
        self.k1, self.b, self.epsilon = k1, b, epsilon

    _DERIVED = frozenset({"doc_len", "avgdl", "idf", "weights"})

    def __getattr__(self, name):
        # Statistics and per-entry weights are derived on first use, so a writer that only
        # appends rows and saves them (see store.write_version) never pays for them.
        if name in BM25Index._DERIVED:
            self._prepare()
            return self.__dict__[name]
        raise AttributeError(name)

    # --- building -----------------------------------------------------------------------------
    @classmethod
    def empty(cls, **params) -> BM25Index:
        return cls(sparse.csr_matrix((0, 0), dtype=np.float64), {}, **params)

    @classmethod
    def from_tokens(cls, documents: list[list[str]], **params) -> BM25Index:
        return cls.empty(**params).extended(documents)

    def extended(self, documents: list[list[str]], block: int = 50_000) -> BM25Index:
        """A new index with ``documents`` appended after the current ones.

        Terms are numbered with one dict look-up per token; counting and building the matrix
        are done by numpy/scipy, a block of documents at a time to bound memory.
        """
        vocab = dict(self.vocab)
        parts = []
        for start in range(0, len(documents), block):
            docs = documents[start : start + block]
            lengths = np.fromiter(map(len, docs), dtype=np.int64, count=len(docs))
            cols = np.fromiter(
                (vocab.setdefault(t, len(vocab)) for d in docs for t in d), dtype=np.int32, count=int(lengths.sum())
            )
            rows = np.repeat(np.arange(len(docs), dtype=np.int32), lengths)
            data = np.ones(len(cols), dtype=np.float64)
            part = sparse.csr_matrix((data, (rows, cols)), shape=(len(docs), len(vocab)))
            part.sum_duplicates()
            parts.append(part)
        n_terms = len(vocab)
        old = sparse.csr_matrix((self.tf.data, self.tf.indices, self.tf.indptr), shape=(len(self), n_terms))
        parts = [sparse.csr_matrix((p.data, p.indices, p.indptr), shape=(p.shape[0], n_terms)) for p in parts]
        return BM25Index(sparse.vstack([old, *parts], format="csr"), vocab, self.k1, self.b, self.epsilon)

    def appended(self, rows: sparse.csr_matrix, new_terms: list[str]) -> BM25Index:
        """A new index with term-count ``rows`` appended; their columns beyond the current
        vocabulary are ``new_terms``, in order."""
        vocab = dict(self.vocab)
        for term in new_terms:
            vocab[term] = len(vocab)
        old = sparse.csr_matrix((self.tf.data, self.tf.indices, self.tf.indptr), shape=(len(self), len(vocab)))
        rows = sparse.csr_matrix((rows.data, rows.indices, rows.indptr), shape=(rows.shape[0], len(vocab)))
        return BM25Index(sparse.vstack([old, rows], format="csr"), vocab, self.k1, self.b, self.epsilon)

    def terms(self) -> list[str]:
        """Terms in column order (the vocabulary dict is always kept in that order)."""
        return list(self.vocab)

    def without(self, keep: np.ndarray) -> BM25Index:
        """A new index with only the rows where the boolean mask ``keep`` is true."""
        return BM25Index(self.tf[np.flatnonzero(keep)], self.vocab, self.k1, self.b, self.epsilon)

    def _prepare(self):
        n_docs = self.tf.shape[0]
        self.doc_len = np.asarray(self.tf.sum(axis=1)).ravel()
        self.avgdl = float(self.doc_len.sum() / n_docs) if n_docs else 0.0
        # Document frequency of each term. A term whose rows were all removed has df 0; it is
        # left out of the average idf, as BM25Okapi only knows terms present in its corpus.
        df = np.bincount(self.tf.indices, minlength=len(self.vocab)).astype(np.float64)
        present = df > 0
        idf = np.log(n_docs - df + 0.5) - np.log(df + 0.5)
        average_idf = float(idf[present].mean()) if present.any() else 0.0
        idf[(idf < 0) & present] = self.epsilon * average_idf
        idf[~present] = 0.0
        self.idf = idf
        # Per-entry BM25 weight, ready to be multiplied by the query term's idf.
        csc = self.tf.tocsc()
        if n_docs:
            dl = self.doc_len[csc.indices]
            norm = self.k1 * (1 - self.b + self.b * dl / self.avgdl)
            csc.data = csc.data * (self.k1 + 1) / (csc.data + norm)
        self.weights = csc

    def __len__(self):
        return self.tf.shape[0]

    # --- searching ----------------------------------------------------------------------------
    def query_columns(self, query_tokens: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """The matrix columns of the query's known terms, and each one's idf times its count."""
        counts = Counter(t for t in query_tokens if t in self.vocab)
        cols = np.fromiter((self.vocab[t] for t in counts), dtype=np.int64, count=len(counts))
        mult = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
        return cols, self.idf[cols] * mult

    def get_scores(self, query_tokens: list[str]) -> np.ndarray:
        """Scores of every document, exactly as ``BM25Okapi.get_scores`` would give them."""
        scores = np.zeros(len(self), dtype=np.float64)
        cols, weights = self.query_columns(query_tokens)
        w = self.weights
        for col, weight in zip(cols, weights):
            start, end = w.indptr[col], w.indptr[col + 1]
            scores[w.indices[start:end]] += weight * w.data[start:end]
        return scores

    def top_k(self, query_tokens: list[str], k: int) -> tuple[np.ndarray, np.ndarray]:
        """Row numbers and scores of the ``k`` best documents with a non-zero score, best first."""
        scores = self.get_scores(query_tokens)
        candidates = np.flatnonzero(scores)
        if len(candidates) > k:
            part = np.argpartition(-scores[candidates], k - 1)[:k]
            candidates = candidates[part]
        order = np.lexsort((candidates, -scores[candidates]))
        rows = candidates[order]
        return rows, scores[rows]

    # --- persistence --------------------------------------------------------------------------
    # Everything a search needs is saved ready to use (including the per-entry weights), and
    # loaded memory-mapped: a reader picks up a new version of a large index in milliseconds,
    # and processes reading the same version share its pages.
    _ARRAYS = {
        "bm25_tf_data": ("tf", "data"), "bm25_tf_indices": ("tf", "indices"), "bm25_tf_indptr": ("tf", "indptr"),
        "bm25_w_data": ("weights", "data"), "bm25_w_indices": ("weights", "indices"),
        "bm25_w_indptr": ("weights", "indptr"),
    }

    def save(self, folder: Path):
        for name, (matrix, attr) in self._ARRAYS.items():
            np.save(folder / f"{name}.npy", getattr(getattr(self, matrix), attr))
        np.save(folder / "bm25_idf.npy", self.idf)
        np.save(folder / "bm25_doc_len.npy", self.doc_len)
        terms = self.terms()
        (folder / "bm25_vocab.json").write_text(json.dumps(terms, ensure_ascii=False))
        params = {"k1": self.k1, "b": self.b, "epsilon": self.epsilon, "shape": list(self.tf.shape), "avgdl": self.avgdl}
        (folder / "bm25_params.json").write_text(json.dumps(params))

    @classmethod
    def load(cls, folder: Path) -> BM25Index:
        terms = json.loads((folder / "bm25_vocab.json").read_text())
        params = json.loads((folder / "bm25_params.json").read_text())
        vocab = {t: i for i, t in enumerate(terms)}
        k1, b, epsilon = params["k1"], params["b"], params["epsilon"]
        arrays = {name: np.load(folder / f"{name}.npy", mmap_mode="r") for name in cls._ARRAYS}
        shape = tuple(params["shape"])
        index = cls.__new__(cls)
        index.vocab, index.k1, index.b, index.epsilon = vocab, k1, b, epsilon
        index.tf = _csr_view(sparse.csr_matrix, arrays, "bm25_tf", shape)
        index.weights = _csr_view(sparse.csc_matrix, arrays, "bm25_w", shape)
        index.idf = np.load(folder / "bm25_idf.npy", mmap_mode="r")
        index.doc_len = np.load(folder / "bm25_doc_len.npy", mmap_mode="r")
        index.avgdl = params["avgdl"]
        return index


def _csr_view(kind, arrays: dict, prefix: str, shape) -> sparse.spmatrix:
    """A scipy matrix over the saved (memory-mapped) arrays, without copying them."""
    parts = (arrays[f"{prefix}_data"], arrays[f"{prefix}_indices"], arrays[f"{prefix}_indptr"])
    return kind(parts, shape=shape, copy=False)
