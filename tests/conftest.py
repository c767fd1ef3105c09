"""Shared fixtures: users and collections, the real embedder and GGUF model, a real worker."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, User

ROOT = Path(__file__).resolve().parent.parent
DATASETS = ROOT.parent / "shared" / "datasets"


@pytest.fixture(autouse=True)
def fresh_indexes():
    """Every test starts with no index on disk and nothing cached in memory."""
    from kbassist.retrieval.store import index_cache

    shutil.rmtree(settings.INDEX_DIR, ignore_errors=True)
    index_cache.clear()
    yield
    index_cache.clear()


@pytest.fixture
def employee(db):
    return User.objects.create_user("erin", password="pw-erin")


@pytest.fixture
def hr_user(db):
    user = User.objects.create_user("harriet", password="pw-harriet")
    user.groups.add(Group.objects.get_or_create(name="HR")[0])
    return user


@pytest.fixture
def admin_user(db):
    return User.objects.create_superuser("root", password="pw-root")


@pytest.fixture
def public_collection(db):
    from kbassist.knowledge.models import Collection

    return Collection.objects.create(name="Handbook", is_public=True)


@pytest.fixture
def hr_collection(db):
    from kbassist.knowledge.models import Collection

    collection = Collection.objects.create(name="HR confidential", is_public=False)
    collection.groups.add(Group.objects.get_or_create(name="HR")[0])
    return collection


@pytest.fixture
def make_document(tmp_path):
    """Create a document from text (or bytes) and ingest it in-process, as the worker would."""
    from django.core.files import File

    from kbassist.ingestion.pipeline import ingest_document
    from kbassist.knowledge.models import Document

    def make(collection, name, content, ingest=True):
        path = tmp_path / name
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        with open(path, "rb") as fh:
            document = Document(collection=collection, original_name=name)
            document.file = File(fh, name=name)
            document.fill_file_facts()
            document.save()
        if ingest:
            ingest_document(document.pk)
            document.refresh_from_db()
        return document

    return make


@pytest.fixture(scope="session")
def smollm2():
    """The real SmolLM2-135M model (fast), through the real llama.cpp backend."""
    from kbassist.llm.bundled import smollm2_path
    from kbassist.llm.llamacpp import LlamaCppBackend

    return LlamaCppBackend(str(smollm2_path()), context_size=2048, threads=os.cpu_count() or 2, seed=7)


@pytest.fixture
def worker(transactional_db):
    """A real Celery worker process on the test database and the filesystem broker."""
    from kbassist.celery import app

    db_name = settings.DATABASES["default"]["NAME"]
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "kbassist.settings",
        "KB_DATA_DIR": str(settings.DATA_DIR),
        "DATABASE_URL": f"sqlite:///{db_name}",
        "HF_HUB_OFFLINE": "1",
    }
    log = open(Path(settings.DATA_DIR) / "worker.log", "ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "kbassist", "worker", "--pool=threads", "--concurrency=2",
         "--without-gossip", "--without-mingle", "--loglevel=INFO"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    app.conf.task_always_eager = False
    try:
        yield proc
    finally:
        app.conf.task_always_eager = True
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_ok(url: str) -> bool:
    import urllib.request

    try:
        return urllib.request.urlopen(url, timeout=2).status == 200
    except OSError:
        return False


@contextmanager
def running_server(cmd: list[str], ready_url: str, *, env=None, log=subprocess.DEVNULL, timeout=60.0, what="server"):
    """Start ``cmd`` (a server on a loopback port), wait until ``ready_url`` answers 200,
    and stop it afterwards."""
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: http_ok(ready_url), timeout=timeout, what=what)
        yield proc
    finally:
        proc.terminate()
        proc.wait(20)


def wait_until(predicate, timeout=120.0, interval=0.2, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")
