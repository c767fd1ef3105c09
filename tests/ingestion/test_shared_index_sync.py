"""A burst of documents shares its index syncs: a document whose chunks are stored waits,
"processing" at the stage "indexing", until a sync indexes them, and only that sync makes it
ready, so "ready" always means searchable. The last document of a burst syncs for all; one
that fails or is skipped does too; the watchdog syncs for documents left waiting."""

from datetime import timedelta

import numpy as np
import pytest
from django.core.management import call_command
from django.utils import timezone

from kbassist.ingestion import watchdog
from kbassist.ingestion.pipeline import ingest_document
from kbassist.knowledge.models import Chunk, Document
from kbassist.retrieval import store
from kbassist.retrieval.search import search

pytestmark = pytest.mark.django_db

PAGES = {
    "parking.md": "# Parking\n\nBike racks are in the courtyard behind building B.\n",
    "lunch.md": "# Lunch\n\nThe canteen serves lunch from 11:30 to 14:00.\n",
    "badges.md": "# Badges\n\nLost badges are replaced at the front desk on floor 2.\n",
}


@pytest.fixture(autouse=True)
def shared_syncs(settings):
    settings.KB_INDEX_SYNC_SECONDS = 3600  # only "last of the burst" (or the watchdog) syncs


def indexed_ids(collection):
    index = store.index_cache.get(collection.pk)
    return np.asarray(index.chunk_ids).tolist()


def stored_ids(collection):
    return sorted(Chunk.objects.filter(collection=collection).values_list("pk", flat=True))


def queued(collection, make_document, names=PAGES):
    return [make_document(collection, name, PAGES.get(name, name), ingest=False) for name in names]


def test_a_document_read_while_others_are_queued_waits_unsearchable_and_not_ready(public_collection, make_document, employee):
    parking, lunch, badges = queued(public_collection, make_document)
    first = ingest_document(parking.pk)
    assert first.status == Document.Status.PROCESSING and first.stage == "indexing" and first.progress == 95
    assert first.chunk_count == 1 and Chunk.objects.filter(document=parking).count() == 1
    assert indexed_ids(public_collection) == []  # stored, not searchable: so not "ready"
    assert not search("bike racks courtyard", employee).hits


def test_the_last_document_of_a_burst_syncs_once_for_all_and_makes_them_ready_together(public_collection, make_document, employee):
    documents = queued(public_collection, make_document)
    for document in documents:
        ingest_document(document.pk)
    assert set(Document.objects.values_list("status", flat=True)) == {Document.Status.READY}
    assert store.current_version(store.collection_dir(public_collection.pk)) == 1  # one version for three documents
    assert indexed_ids(public_collection) == stored_ids(public_collection)  # each chunk exactly once
    assert all(d.ingested_at for d in Document.objects.all())
    assert search("canteen lunch", employee).hits[0].chunk.document.original_name == "lunch.md"


def test_a_document_that_fails_last_still_syncs_for_those_waiting(public_collection, make_document):
    parking, lunch = queued(public_collection, make_document, ["parking.md", "lunch.md"])
    broken = make_document(public_collection, "broken.pdf", b"%PDF-1.7 truncated", ingest=False)
    ingest_document(parking.pk)
    ingest_document(lunch.pk)
    assert ingest_document(broken.pk).status == Document.Status.FAILED
    assert Document.objects.get(pk=parking.pk).status == Document.Status.READY
    assert Document.objects.get(pk=lunch.pk).status == Document.Status.READY
    assert indexed_ids(public_collection) == stored_ids(public_collection)


def test_a_document_that_waited_KB_INDEX_SYNC_SECONDS_is_synced_by_the_next_one_to_finish(public_collection, make_document, settings):
    settings.KB_INDEX_SYNC_SECONDS = 5
    parking, lunch, badges = queued(public_collection, make_document)
    ingest_document(parking.pk)
    Document.objects.filter(pk=parking.pk).update(updated_at=timezone.now() - timedelta(seconds=6))
    assert ingest_document(lunch.pk).status == Document.Status.READY  # badges is still queued
    assert Document.objects.get(pk=parking.pk).status == Document.Status.READY
    assert Document.objects.get(pk=badges.pk).status == Document.Status.QUEUED


def test_documents_left_waiting_by_a_dead_worker_are_indexed_by_the_watchdog_not_read_again(public_collection, make_document):
    parking, lunch = queued(public_collection, make_document, ["parking.md", "lunch.md"])
    ingest_document(parking.pk)  # waits for lunch, whose worker then dies mid-way
    Document.objects.filter(pk=lunch.pk).update(status="processing", stage="embedding, chunk 1 of 1", attempts=1,
                                                 heartbeat_at=timezone.now() - timedelta(hours=1))
    Document.objects.filter(pk=parking.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    sent = []
    report = watchdog.requeue_stalled(send=sent.append)
    assert report.indexed == [parking.pk] and report.requeued == [lunch.pk]
    assert Document.objects.get(pk=parking.pk).status == Document.Status.READY
    assert Document.objects.get(pk=parking.pk).attempts == 1  # not read a second time
    assert indexed_ids(public_collection) == stored_ids(public_collection)


@pytest.mark.django_db(transaction=True)
def test_import_documents_of_a_folder_writes_far_fewer_index_versions_than_files(public_collection, tmp_path, employee):
    folder = tmp_path / "handbook"
    folder.mkdir()
    for i in range(12):
        (folder / f"page-{i:02d}.md").write_text(f"# Page {i}\n\nRoom {100 + i} is on floor {i % 4}.\n")
    call_command("import_documents", str(folder), "--collection", public_collection.name, "--timeout", "60")
    assert Document.objects.filter(status=Document.Status.READY).count() == 12
    assert store.current_version(store.collection_dir(public_collection.pk)) == 1  # one sync served all twelve
    assert indexed_ids(public_collection) == stored_ids(public_collection)
    assert search("Room 107 floor", employee).hits[0].chunk.document.original_name == "page-07.md"
