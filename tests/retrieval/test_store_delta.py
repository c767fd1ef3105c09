"""Index versions written as base + delta load exactly like a full rebuild, and stay atomic."""

import numpy as np
import pytest

from kbassist.knowledge.models import Chunk
from kbassist.ingestion.indexing import sync_collection
from kbassist.retrieval import store
from kbassist.retrieval.bm25 import BM25Index
from kbassist.retrieval.tokenize import tokenize

WORDS = "vacation laptop vpn password parking lunch salary travel expense onboarding wifi badge".split()


def texts(n, seed):
    """``n`` short texts of random policy words, each with a unique term ``item{seed}x{i}``."""
    rng = np.random.default_rng(seed)
    return [" ".join(rng.choice(WORDS, 6)) + f" item{seed}x{i}" for i in range(n)]


def assert_same_as_full_build(index):
    chunks = {c.pk: c for c in Chunk.objects.filter(pk__in=index.chunk_ids.tolist()).select_related("document")}
    docs = [tokenize(chunks[i].indexed_text) for i in index.chunk_ids.tolist()]
    fresh = BM25Index.from_tokens(docs)
    for query in (["vacat", "laptop"], ["vpn"], ["item3x1", "park"]):
        np.testing.assert_allclose(index.bm25.get_scores(query), fresh.get_scores(query), atol=1e-9)
    expected = np.vstack([chunks[i].vector for i in index.chunk_ids.tolist()])
    np.testing.assert_array_equal(index.dense.vectors, expected)


@pytest.mark.django_db
def test_appends_are_written_as_deltas_over_hard_linked_base_files(public_collection, make_document, add_chunks):
    doc = make_document(public_collection, "seed.txt", "seed", ingest=False)
    folder = store.collection_dir(public_collection.pk)
    add_chunks(doc, texts(30, seed=0))
    sync_collection(public_collection.pk)
    for seed in range(1, 4):
        add_chunks(doc, texts(5, seed=seed))
        sync_collection(public_collection.pk)
    vdir = folder / (folder / "CURRENT").read_text().strip()
    assert (vdir / "delta_vectors.npy").exists()
    assert (vdir / "dense_vectors.npy").stat().st_nlink >= 2  # shared with earlier versions, not copied
    store.index_cache.clear()  # read it back from disk, as another process would
    loaded = store.index_cache.get(public_collection.pk)
    assert len(loaded) == 45 and loaded.base_rows == 30
    assert_same_as_full_build(loaded)

    Chunk.objects.filter(pk__in=loaded.chunk_ids[:3].tolist()).delete()  # removal: a full version
    sync_collection(public_collection.pk)
    vdir = folder / (folder / "CURRENT").read_text().strip()
    assert not (vdir / "delta_vectors.npy").exists()
    store.index_cache.clear()
    loaded = store.index_cache.get(public_collection.pk)
    assert len(loaded) == 42
    assert_same_as_full_build(loaded)


@pytest.mark.django_db
def test_large_appends_compact_into_a_full_version(public_collection, make_document, add_chunks, monkeypatch):
    monkeypatch.setattr(store, "DELTA_MIN_ROWS", 4)
    doc = make_document(public_collection, "seed.txt", "seed", ingest=False)
    folder = store.collection_dir(public_collection.pk)
    add_chunks(doc, texts(20, seed=0))
    sync_collection(public_collection.pk)
    add_chunks(doc, texts(4, seed=1))
    assert sync_collection(public_collection.pk).base_rows == 20
    add_chunks(doc, texts(4, seed=2))  # 8 appended > 25% of 20: written in full
    index = sync_collection(public_collection.pk)
    assert index.base_rows == 28
    vdir = folder / (folder / "CURRENT").read_text().strip()
    assert not (vdir / "delta_chunk_ids.npy").exists()
    store.index_cache.clear()
    assert_same_as_full_build(store.index_cache.get(public_collection.pk))
