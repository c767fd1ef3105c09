"""The sparse BM25 index scores exactly like rank-bm25's BM25Okapi, on a real corpus."""

import numpy as np
from rank_bm25 import BM25Okapi

from kbassist.retrieval.bm25 import BM25Index
from kbassist.retrieval.tokenize import tokenize


def tokenized(scifact, n_docs, n_queries):
    """The first abstracts (title and text) and questions of SciFact, tokenized."""
    docs = [tokenize(row["title"] + "\n" + row["text"]) for row in scifact.corpus[:n_docs]]
    return docs, [tokenize(row["text"]) for row in scifact.queries[:n_queries]]


def assert_same_as_rank_bm25(index, reference, queries):
    for query in queries:
        expected = reference.get_scores(query)
        got = index.get_scores(query)
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)
        top_expected = np.argsort(-expected, kind="stable")[:10]
        rows, scores = index.top_k(query, 10)
        assert list(rows) == list(top_expected[: len(rows)])
        np.testing.assert_allclose(scores, expected[rows], atol=1e-6)


def test_scores_match_bm25okapi_on_scifact(scifact):
    docs, queries = tokenized(scifact, 2000, 40)
    assert_same_as_rank_bm25(BM25Index.from_tokens(docs), BM25Okapi(docs), queries)


def test_incremental_add_and_remove_match_a_fresh_bm25okapi(scifact):
    docs, queries = tokenized(scifact, 600, 20)
    index = BM25Index.from_tokens(docs[:300]).extended(docs[300:])
    keep = np.ones(len(docs), dtype=bool)
    keep[::7] = False  # drop every 7th document, as deleting documents does
    index = index.without(keep)
    remaining = [d for d, k in zip(docs, keep) if k]
    assert_same_as_rank_bm25(index, BM25Okapi(remaining), queries)


def test_common_terms_get_the_epsilon_floor_like_bm25okapi():
    docs = [["leave", "policy"], ["leave", "day"], ["leave", "sick"], ["vpn"]]
    ours, theirs = BM25Index.from_tokens(docs), BM25Okapi(docs)
    np.testing.assert_allclose(ours.get_scores(["leave"]), theirs.get_scores(["leave"]), atol=1e-9)
    np.testing.assert_allclose(ours.get_scores(["leave", "leave", "vpn"]), theirs.get_scores(["leave", "leave", "vpn"]), atol=1e-9)


def test_unknown_terms_and_empty_index():
    assert BM25Index.empty().top_k(["x"], 5)[0].size == 0
    index = BM25Index.from_tokens([["a", "b"], ["c"]])
    assert index.top_k(["zzz"], 5)[0].size == 0


def test_save_and_load_round_trip(tmp_path, scifact):
    docs, queries = tokenized(scifact, 200, 5)
    index = BM25Index.from_tokens(docs)
    index.save(tmp_path)
    loaded = BM25Index.load(tmp_path)
    for q in queries:
        np.testing.assert_array_equal(index.get_scores(q), loaded.get_scores(q))
