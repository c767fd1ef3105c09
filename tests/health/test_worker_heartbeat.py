"""The Celery worker's heartbeat: a real worker writes it; without a fresh one the admin says
next to queued documents that they wait for a worker, and /readyz fails its worker check."""

import datetime as dt
import html

import pytest
from django.utils import timezone

from kbassist.observability.heartbeat import beat, stopped, worker_status
from kbassist.observability.models import WorkerHeartbeat

from tests.conftest import wait_until

NOTICE = "queued documents wait until one starts (`./kb start` starts one)"


def test_a_real_worker_writes_its_heartbeat_and_marks_a_clean_stop(worker):
    wait_until(lambda: worker_status().alive, timeout=90, what="the worker's first heartbeat")
    row = WorkerHeartbeat.objects.get()
    assert row.worker.endswith(f"pid {worker.pid}")
    assert row.stopped_at is None
    worker.terminate()
    worker.wait(20)
    row.refresh_from_db()
    assert row.stopped_at is not None
    status = worker_status()
    assert not status.alive and status.message == f"No worker is running: {NOTICE}."


@pytest.mark.django_db
def test_no_worker_ever_seen():
    status = worker_status()
    assert not status.alive and status.last_seen is None
    assert status.message == f"No worker has run yet: {NOTICE}."


@pytest.mark.django_db
def test_a_stale_heartbeat_means_no_worker(settings):
    settings.KB_WORKER_STALE_SECONDS = 120
    now = timezone.now()
    beat("celery@a pid 1", now=now - dt.timedelta(minutes=5, seconds=10))
    status = worker_status(now)
    assert not status.alive
    assert status.age_s == pytest.approx(310)
    assert status.message == f"No worker has run for 5 minutes: {NOTICE}."
    beat("celery@a pid 1", now=now - dt.timedelta(seconds=30))
    assert worker_status(now).alive
    stopped("celery@a pid 1", now=now)
    assert not worker_status(now).alive


@pytest.fixture
def queued_document(public_collection, make_document):
    return make_document(public_collection, "leave.md", "# Leave\n\nFull-time staff get 28 days.\n", ingest=False)


def test_the_admin_says_queued_documents_wait_when_no_worker_was_seen(client, admin_user, queued_document):
    beat("celery@a pid 1", now=timezone.now() - dt.timedelta(minutes=10))
    client.force_login(admin_user)
    page = html.unescape(client.get("/admin/knowledge/document/").content.decode())
    assert f"No worker has run for 10 minutes: {NOTICE}." in page


def test_the_admin_says_nothing_while_a_worker_beats(client, admin_user, queued_document):
    beat("celery@a pid 1")
    client.force_login(admin_user)
    assert "No worker" not in client.get("/admin/knowledge/document/").content.decode()


def test_the_admin_says_nothing_when_nothing_is_queued(client, admin_user, public_collection, make_document):
    make_document(public_collection, "leave.md", "# Leave\n\nFull-time staff get 28 days.\n")
    client.force_login(admin_user)
    assert "No worker" not in client.get("/admin/knowledge/document/").content.decode()
