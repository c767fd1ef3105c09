"""The approximate dense index (IVF) against exact search, on real embeddings of a real corpus."""

import numpy as np
import pytest

from kbassist.retrieval import store
from kbassist.retrieval.bm25 import BM25Index
from kbassist.retrieval.dense import DenseIndex
from kbassist.retrieval.embedder import get_embedder


@pytest.fixture(scope="module")
def scifact_vectors(scifact):
    """Real embeddings of SciFact's 5,183 titles, and of its first 300 questions."""
    titles = [row["title"] for row in scifact.corpus]
    queries = [row["text"] for row in scifact.queries[:300]]
    embedder = get_embedder()
    return embedder.encode(titles, batch_size=128), embedder.encode(queries, batch_size=128)


def recall_at_10(index: DenseIndex, queries: np.ndarray) -> float:
    found = []
    for q in queries:
        approx, approx_scores = index.top_k(q, 10)
        exact, exact_scores = index.exact_top_k(q, 10)
        # Similarities returned by the approximate path are exact (re-scored), not quantised.
        np.testing.assert_allclose(approx_scores, index.vectors[approx] @ q, atol=1e-5)
        found.append(len(set(approx.tolist()) & set(exact.tolist())) / len(exact))
    return float(np.mean(found))


def test_ivf_recall_at_10_against_exact_search(scifact_vectors):
    vectors, queries = scifact_vectors
    index = DenseIndex(vectors, threshold=1000)
    assert index.ann is not None
    assert recall_at_10(index, queries) >= 0.95


def test_below_the_threshold_search_is_exact(scifact_vectors):
    vectors, queries = scifact_vectors
    index = DenseIndex(vectors[:500], threshold=1000)
    assert index.ann is None
    rows, _ = index.top_k(queries[0], 10)
    assert rows.tolist() == index.exact_top_k(queries[0], 10)[0].tolist()


def test_adding_and_removing_rows_keeps_the_trained_index_and_its_recall(scifact_vectors):
    vectors, queries = scifact_vectors
    index = DenseIndex(vectors[:4000], threshold=1000)
    trained = index.ann.ivf
    keep = np.ones(4000, dtype=bool)
    keep[::5] = False  # delete every fifth row, as deleting documents does
    changed = index.without(keep).extended(vectors[4000:])
    assert changed.ann.ivf is not trained and index.ann.ivf.ntotal == 4000  # the old one is untouched
    assert changed.ann.ivf.ntotal == len(changed) == keep.sum() + len(vectors) - 4000
    np.testing.assert_array_equal(changed.vectors, np.vstack([vectors[:4000][keep], vectors[4000:]]))
    assert recall_at_10(changed, queries) >= 0.95


def test_ann_is_part_of_the_atomic_index_version(tmp_path, scifact_vectors, settings):
    vectors, queries = scifact_vectors
    settings.KB_DENSE_ANN_THRESHOLD = 1000
    n = len(vectors)
    index = store.CollectionIndex(
        0, np.arange(n, dtype=np.int64), BM25Index.from_tokens([["x"]] * n), DenseIndex(vectors)
    )
    version = store.write_version(tmp_path, index)
    vdir = tmp_path / f"v{version:06d}"
    assert (vdir / "dense_ann.faiss").exists() and not list(tmp_path.glob(".building-*"))
    loaded = store.load_version(tmp_path, version)
    assert loaded.dense.ann is not None and loaded.dense.ann.ivf.ntotal == n
    for q in queries[:20]:
        assert loaded.dense.top_k(q, 10)[0].tolist() == index.dense.top_k(q, 10)[0].tolist()
