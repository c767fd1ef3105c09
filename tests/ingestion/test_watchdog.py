"""No document stays "processing" after its worker died: the heartbeat, the claim that lets
one delivery of a task through, and the watchdog that queues a stalled document again or
gives it up with a reason (the real worker killed mid-PDF: tests/e2e/test_faults.py)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from kbassist.ingestion import heartbeat, pipeline, watchdog
from kbassist.knowledge.models import Chunk, Document

pytestmark = pytest.mark.django_db

POLICY = "# Parking\n\n## Bikes\n\nBike racks are in the courtyard behind building B.\n"


def orphan(document, *, attempts=1, stage="embedding, chunk 1 of 3", seconds_ago=3600):
    """What a worker killed mid-ingestion leaves behind: processing, and a heartbeat long stopped."""
    Document.objects.filter(pk=document.pk).update(
        status="processing", progress=20, stage=stage, attempts=attempts,
        heartbeat_at=timezone.now() - timedelta(seconds=seconds_ago),
    )


def test_a_stalled_document_is_queued_again_and_its_task_sent(public_collection, make_document, django_capture_on_commit_callbacks):
    document = make_document(public_collection, "parking.md", POLICY, ingest=False)
    orphan(document)
    sent = []
    with django_capture_on_commit_callbacks(execute=True):
        report = watchdog.requeue_stalled(send=sent.append)
    assert report.requeued == [document.pk] and sent == [document.pk]
    document.refresh_from_db()
    assert document.status == "queued" and document.progress == 0
    assert document.stage == "queued again: the worker stopped (attempt 1 of 3)"  # what the admin list shows


def test_the_requeued_task_finishes_the_document_with_its_chunks_once(public_collection, make_document, django_capture_on_commit_callbacks):
    document = make_document(public_collection, "parking.md", POLICY)
    first = list(Chunk.objects.filter(document=document).values_list("position", "text"))
    orphan(document)  # as if the worker had died after writing the chunks, before "ready"
    with django_capture_on_commit_callbacks(execute=True):
        watchdog.requeue_stalled()  # tasks run eagerly here: the document is ingested again at once
    document.refresh_from_db()
    assert document.status == "ready" and document.attempts == 2
    assert list(Chunk.objects.filter(document=document).values_list("position", "text")) == first


def test_a_live_document_is_left_alone(public_collection, make_document):
    document = make_document(public_collection, "parking.md", POLICY, ingest=False)
    orphan(document, seconds_ago=1)
    assert watchdog.requeue_stalled(send=pytest.fail).requeued == []
    assert Document.objects.get(pk=document.pk).status == "processing"


def test_after_max_attempts_the_document_fails_with_a_readable_reason(public_collection, make_document, settings):
    settings.KB_INGEST_MAX_ATTEMPTS = 3
    document = make_document(public_collection, "huge.pdf", b"%PDF-1.4", ingest=False)
    orphan(document, attempts=3, stage="OCR, page 7 of 200")
    report = watchdog.requeue_stalled(send=pytest.fail)
    document.refresh_from_db()
    assert report.failed == [document.pk] and document.status == "failed"
    assert "stopped 3 times" in document.error and "OCR, page 7 of 200" in document.error
    assert "KB_INGEST_MAX_ATTEMPTS" in document.error


def test_a_second_delivery_of_the_task_does_nothing_while_a_worker_is_on_it(public_collection, make_document, monkeypatch):
    document = make_document(public_collection, "parking.md", POLICY, ingest=False)
    orphan(document, seconds_ago=1)  # another worker is beating
    monkeypatch.setattr(pipeline, "_ingest", pytest.fail)
    assert pipeline.ingest_document(document.pk) is None
    assert Document.objects.get(pk=document.pk).attempts == 1


def test_a_finished_document_is_not_ingested_again_by_a_late_redelivery(public_collection, make_document, monkeypatch):
    document = make_document(public_collection, "parking.md", POLICY)
    monkeypatch.setattr(pipeline, "_ingest", pytest.fail)
    assert pipeline.ingest_document(document.pk) is None
    assert Document.objects.get(pk=document.pk).status == "ready"


@pytest.mark.django_db(transaction=True)  # the beat is written from a thread of its own, on its own connection
def test_the_heartbeat_beats_while_the_block_runs(public_collection, make_document):
    document = make_document(public_collection, "parking.md", POLICY, ingest=False)
    orphan(document, seconds_ago=3600)
    with heartbeat.beating(document.pk, interval=0.05):
        from tests.conftest import wait_until

        wait_until(lambda: Document.objects.get(pk=document.pk).heartbeat_at > timezone.now() - timedelta(seconds=5),
                   timeout=10, what="a heartbeat")
    assert not watchdog.stalled().exists()
