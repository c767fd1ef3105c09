"""Index versions on disk: atomic swaps, readers that follow them, and syncs that are exact."""

import threading

import numpy as np
import pytest

from kbassist.ingestion.indexing import sync_collection
from kbassist.knowledge.models import Chunk
from kbassist.retrieval import store
from kbassist.retrieval.embedder import get_embedder


@pytest.fixture
def doc(public_collection, make_document):
    return make_document(public_collection, "seed.txt", "seed", ingest=False)


@pytest.mark.django_db
def test_sync_adds_and_removes_exactly(public_collection, doc, add_chunks):
    first = add_chunks(doc, ["laptops are replaced every 3 years", "VPN uses WireGuard", "lunch is at noon"])
    index = sync_collection(public_collection.pk)
    assert sorted(index.chunk_ids.tolist()) == sorted(c.pk for c in first)
    Chunk.objects.filter(pk=first[0].pk).delete()
    second = add_chunks(doc, ["parking is free on Fridays"])
    index = sync_collection(public_collection.pk)
    assert sorted(index.chunk_ids.tolist()) == sorted([first[1].pk, first[2].pk, second[0].pk])
    assert len(index.bm25) == len(index.dense) == 3
    rows, _ = index.bm25.top_k(["park"], 5)
    assert index.chunk_ids[rows].tolist() == [second[0].pk]
    assert sync_collection(public_collection.pk).version == index.version  # nothing to do: no new version


@pytest.mark.django_db
def test_reader_picks_up_a_new_version_without_restart(public_collection, doc, add_chunks):
    add_chunks(doc, ["one"])
    sync_collection(public_collection.pk)
    seen = store.index_cache.get(public_collection.pk)
    add_chunks(doc, ["two"])
    sync_collection(public_collection.pk)
    now = store.index_cache.get(public_collection.pk)
    assert now.version == seen.version + 1 and len(now) == 2


@pytest.mark.django_db
def test_old_versions_are_cleaned_up_and_current_is_complete(public_collection, doc, add_chunks):
    folder = store.collection_dir(public_collection.pk)
    for i in range(5):
        add_chunks(doc, [f"text {i}"])
        sync_collection(public_collection.pk)
    versions = sorted(p.name for p in folder.glob("v*"))
    assert versions == ["v000004", "v000005"]
    assert (folder / "CURRENT").read_text().strip() == "v000005"
    assert not list(folder.glob(".building-*"))


@pytest.mark.django_db(transaction=True)
def test_concurrent_syncs_index_every_chunk_exactly_once(public_collection, doc, add_chunks):
    """Two ingestions finishing together: both land in the index, neither twice."""
    batches = [add_chunks(doc, [f"batch {b} chunk {i}" for i in range(20)]) for b in range(4)]
    errors = []

    def run():
        try:
            sync_collection(public_collection.pk)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a sync never finished (a lock held forever?)"
    assert not errors
    index = store.load_version(store.collection_dir(public_collection.pk), store.current_version(store.collection_dir(public_collection.pk)))
    ids = index.chunk_ids.tolist()
    assert len(ids) == len(set(ids)) == 80
    assert set(ids) == {c.pk for batch in batches for c in batch}


def test_dense_index_finds_nearest(tmp_path):
    from kbassist.retrieval.dense import DenseIndex

    vectors = get_embedder().encode(["how to reset a password", "lunch menu on Monday", "VPN connection fails"])
    index = DenseIndex(vectors)
    rows, scores = index.top_k(get_embedder().encode_query("I forgot my password"), 2)
    assert rows[0] == 0 and scores[0] > scores[1]
    index.save(tmp_path)
    assert np.array_equal(DenseIndex.load(tmp_path).vectors, vectors)
