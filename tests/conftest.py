"""Shared fixtures: users and collections, the leave policy, chunks with real embeddings,
SciFact, the real GGUF model and the process-wide backend, a real worker, and waits on
conditions (``wait_until``) instead of fixed sleeps."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, User

ROOT = Path(__file__).resolve().parent.parent
DATASETS = ROOT.parent / "shared" / "datasets"

# The one leave policy the chat, retrieval and browser tests ask about. Each section is a
# chunk of its own: "Leave › Vacation", "Leave › Part-time staff", "Leave › Sick leave".
LEAVE = (
    "# Leave\n\n## Vacation\n\nFull-time staff get 28 vacation days per year.\n\n"
    "## Part-time staff\n\nPart-time staff get vacation pro rata to their contracted hours.\n\n"
    "## Sick leave\n\nTell your manager before 10:00 and bring a doctor's note from day 4.\n"
)


@pytest.fixture(autouse=True)
def fresh_indexes():
    """Every test starts with no index on disk and nothing cached in memory."""
    from kbassist.retrieval.store import index_cache

    shutil.rmtree(settings.INDEX_DIR, ignore_errors=True)
    index_cache.clear()
    yield
    index_cache.clear()


@pytest.fixture(autouse=True)
def empty_cache():
    """Every test starts with nothing counted: rate limits, answer slots (tests/settings.py
    keeps the cache in this process's memory)."""
    from django.core.cache import cache

    if settings.CACHES["default"]["BACKEND"].endswith("LocMemCache"):
        cache.clear()
    yield


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
def make_staff(db):
    """``make_staff(username, *permission_codenames, editor_of=[collections])``: a staff
    user with those model permissions, in an editor group of each of those collections."""
    from django.contrib.auth.models import Permission

    def make(username, *permissions, editor_of=()):
        user = User.objects.create_user(username, password="pw", is_staff=True)
        for codename in permissions:
            user.user_permissions.add(Permission.objects.get(codename=codename))
        for collection in editor_of:
            group, _ = Group.objects.get_or_create(name=f"editors of {collection}")
            collection.editor_groups.add(group)
            user.groups.add(group)
        return user

    return make


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


@pytest.fixture
def handbook(public_collection, make_document):
    """The leave policy (``LEAVE``), ingested into the public collection."""
    return make_document(public_collection, "leave.md", LEAVE)


@pytest.fixture
def add_chunks():
    """``add_chunks(document, texts)``: chunks of ``document`` with real embeddings, straight
    into the database (not into the index: ``sync_collection`` does that)."""
    from kbassist.knowledge.models import Chunk
    from kbassist.retrieval.embedder import get_embedder

    def add(document, texts):
        vectors = get_embedder().encode(texts, batch_size=64)
        return Chunk.objects.bulk_create(
            Chunk(collection_id=document.collection_id, document=document, position=i, text=t, embedding=v.tobytes())
            for i, (t, v) in enumerate(zip(texts, vectors))
        )

    return add


@dataclass(frozen=True)
class SciFact:
    corpus: list[dict]  # {"_id", "title", "text", ...}: 5,183 abstracts
    queries: list[dict]  # {"_id", "text", ...}


@pytest.fixture(scope="session")
def scifact() -> SciFact:
    """The BEIR SciFact corpus and questions from shared/datasets (read once per run)."""
    folder = DATASETS / "scifact"
    if not (folder / "corpus.jsonl").exists():
        pytest.skip("shared/datasets/scifact is not beside the project")

    def rows(name):
        with open(folder / name, encoding="utf-8") as fh:
            return [json.loads(line) for line in fh]

    return SciFact(rows("corpus.jsonl"), rows("queries.jsonl"))


@pytest.fixture(scope="session")
def smollm2():
    """The real SmolLM2-135M model (fast), through the real llama.cpp backend."""
    from kbassist.llm.bundled import smollm2_path
    from kbassist.llm.llamacpp import LlamaCppBackend

    return LlamaCppBackend(str(smollm2_path()), context_size=2048, threads=os.cpu_count() or 2, seed=7)


@pytest.fixture
def backend():
    """``backend(instance)`` makes ``instance`` the process-wide backend (what the websocket
    and the commands use) for this test; it is reset afterwards, whatever happens."""
    from kbassist.llm import set_backend

    def use(instance):
        set_backend(instance)
        return instance

    yield use
    set_backend(None)


@contextmanager
def running_worker(concurrency: int = 2, beat: bool = False):
    """A real Celery worker process on the test database and the filesystem broker, with
    this process's environment (a test may set variables first); tasks stop running eagerly
    meanwhile. ``beat``: it also runs the periodic tasks (``celery worker -B``), as ``./kb start``'s does."""
    from kbassist.celery import app

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "kbassist.settings",
        "KB_DATA_DIR": str(settings.DATA_DIR),
        "DATABASE_URL": f"sqlite:///{settings.DATABASES['default']['NAME']}",
    }
    log = open(Path(settings.DATA_DIR) / "worker.log", "ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "kbassist", "worker", "--pool=threads", f"--concurrency={concurrency}",
         "--without-gossip", "--without-mingle", "--loglevel=INFO",
         *(["-B", f"--schedule={Path(settings.DATA_DIR) / 'celerybeat-test'}"] if beat else [])],
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


@pytest.fixture
def worker(transactional_db):
    """A real Celery worker process on the test database and the filesystem broker."""
    with running_worker() as proc:
        yield proc


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


@contextmanager
def running_app(ready_path: str, log_name: str, port: int | None = None, **env):
    """This app in a real Daphne process on a loopback port, on the test database (test
    settings: the test users' password hasher; tasks eager), until the block ends; yields its
    base URL. ``env`` adds or replaces environment variables (strings)."""
    port = port or free_port()
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "KB_DATA_DIR": str(settings.DATA_DIR),
        "DATABASE_URL": f"sqlite:///{settings.DATABASES['default']['NAME']}",
        "KB_CELERY_EAGER": "1",
        **env,
    }
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "kbassist.asgi:application"]
    with open(Path(settings.DATA_DIR) / log_name, "ab") as log, running_server(
        command, url + ready_path, env=environment, log=log, what="Daphne"
    ):
        yield url


def wait_until(predicate, timeout=120.0, interval=0.2, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")
