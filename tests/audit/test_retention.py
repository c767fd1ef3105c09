"""KB_AUDIT_RETENTION_DAYS: old events go, by the periodic Celery task (the beat schedule the
worker of ``./kb start`` runs with ``-B``) or by ``manage.py purge_audit``."""

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from kbassist import audit
from kbassist.audit.models import AuditEvent, AuditSubject

from tests.conftest import ROOT, wait_until


def make_event(days_ago: float, summary: str):
    event = AuditEvent.objects.create(kind="passage_view", username="erin", summary=summary,
                                      created_at=timezone.now() - timedelta(days=days_ago))
    event.subjects.create(role="opened", collection_id=1, collection_name="Handbook", chunk_id=7)
    return event


@pytest.fixture
def old_and_new(db):
    return make_event(400, "old"), make_event(10, "recent")


def summaries():
    return sorted(AuditEvent.objects.exclude(kind="audit_purge").values_list("summary", flat=True))


@pytest.mark.django_db
def test_the_command_removes_events_older_than_the_retention(old_and_new, settings, capsys):
    settings.KB_AUDIT_RETENTION_DAYS = 365
    call_command("purge_audit", "--dry-run")
    assert "1 audit event(s) older than 365 days would be removed" in capsys.readouterr().out
    assert summaries() == ["old", "recent"]
    call_command("purge_audit")
    assert summaries() == ["recent"] and AuditSubject.objects.count() == 1
    purge = AuditEvent.objects.get(kind="audit_purge")  # the purge itself is on record
    assert purge.details["removed"] == 1 and purge.details["retention_days"] == 365
    call_command("purge_audit", "--days", "5")
    assert summaries() == []


@pytest.mark.django_db
def test_zero_days_keeps_everything(old_and_new, settings, capsys):
    settings.KB_AUDIT_RETENTION_DAYS = 0
    call_command("purge_audit")
    assert "every audit event is kept" in capsys.readouterr().out and summaries() == ["old", "recent"]


@pytest.mark.django_db
def test_the_periodic_task_is_scheduled_and_purges(old_and_new, settings):
    from kbassist.audit.tasks import purge_expired_task
    from kbassist.celery import app

    schedule = app.conf.beat_schedule["audit-retention"]
    assert schedule["task"] == "kbassist.audit.purge_expired" == purge_expired_task.name
    assert schedule["schedule"] == settings.KB_AUDIT_PURGE_INTERVAL == 24 * 3600
    assert app.conf.beat_schedule_filename == str(Path(settings.DATA_DIR) / "celerybeat-schedule")
    settings.KB_AUDIT_RETENTION_DAYS = 30
    assert purge_expired_task.delay().get() == 1
    assert summaries() == ["recent"]


def test_kb_start_runs_the_beat_schedule():
    """``./kb start`` (its supervisor, ``kbassist.serve``) starts the worker with the embedded
    beat scheduler, which runs the retention purge."""
    from kbassist.serve import children

    worker = next(child for child in children("127.0.0.1", 8000) if child.name == "worker")
    assert "--beat" in worker.argv


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_with_beat_purges_on_schedule(tmp_path):
    """A Celery worker started as ``./kb start`` starts it (-B), with a one-second interval."""
    make_event(400, "old")
    make_event(1, "recent")
    audit.record("login", summary="now")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "kbassist.settings",
        "KB_DATA_DIR": str(settings.DATA_DIR),
        "DATABASE_URL": f"sqlite:///{settings.DATABASES['default']['NAME']}",
        "KB_AUDIT_RETENTION_DAYS": "30",
        "KB_AUDIT_PURGE_INTERVAL": "1",
    }
    log = open(tmp_path / "worker.log", "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "kbassist", "worker", "-B", "--pool=threads", "--concurrency=1",
         "--without-gossip", "--without-mingle", "--loglevel=INFO"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        wait_until(lambda: not AuditEvent.objects.filter(summary="old").exists(), timeout=90, what="the scheduled purge")
    except AssertionError:
        raise AssertionError((tmp_path / "worker.log").read_text()[-3000:]) from None
    finally:
        proc.terminate()
        proc.wait(30)
        log.close()
    assert sorted(AuditEvent.objects.exclude(kind="audit_purge").values_list("summary", flat=True)) == ["now", "recent"]
    assert AuditEvent.objects.filter(kind="audit_purge").exists()
