"""The production profile against real servers: PostgreSQL, Redis as Celery broker and as
the Channels layer. The servers are started here on loopback ports, in throwaway folders,
from the binaries of Debian's `postgresql` and `redis-server` packages (CI installs them);
where they are not installed these tests are skipped with that reason.

The app runs in subprocesses with the production environment, exactly as an operator would
run it: migrate, a Celery worker, `import_documents`, `ask --json`, and Daphne serving HTTP.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.conftest import ROOT, free_port, http_ok, wait_until

pytestmark = pytest.mark.production


def unavailable(reason: str):
    """Skip, or fail where the servers are required (CI sets KB_REQUIRE_SERVERS=1)."""
    if os.environ.get("KB_REQUIRE_SERVERS") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


def as_postgres_user(cmd: list[str]) -> list[str]:
    """initdb and postgres refuse to run as root: drop to the `postgres` user when root."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    binary = shutil.which("redis-server")
    if not binary:
        unavailable("redis-server is not installed (apt-get install redis-server)")
    port = free_port()
    folder = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(folder)],
        stdout=subprocess.DEVNULL,
    )
    import redis

    client = redis.Redis(host="127.0.0.1", port=port)
    wait_until(lambda: _redis_up(client), timeout=20, what="redis-server")
    yield f"redis://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(10)


def _redis_up(client) -> bool:
    try:
        return client.ping()
    except Exception:
        return False


@pytest.fixture(scope="module")
def postgres_url(tmp_path_factory):
    initdbs = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb")) or [shutil.which("initdb")]
    if not initdbs or not initdbs[-1]:
        unavailable("PostgreSQL is not installed (apt-get install postgresql)")
    bindir = Path(initdbs[-1]).parent
    # Not under pytest's tmp folder: that is private to root, and postgres runs as `postgres`.
    folder = Path(tempfile.mkdtemp(prefix="kbassist-pg-"))
    data, sockets = folder / "data", folder / "run"
    sockets.mkdir()
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
        shutil.chown(sockets, "postgres")
    port = free_port()
    subprocess.run(as_postgres_user([str(bindir / "initdb"), "-D", str(data), "-U", "kb", "--auth=trust", "-E", "UTF8"]),
                   check=True, stdout=subprocess.DEVNULL)
    options = f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run(as_postgres_user([str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-w", "-l", str(folder / "log"), "start"]),
                   check=True, stdout=subprocess.DEVNULL)
    subprocess.run(as_postgres_user([str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "kb", "kbassist"]), check=True)
    yield f"postgres://kb@127.0.0.1:{port}/kbassist"
    subprocess.run(as_postgres_user([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]), stdout=subprocess.DEVNULL)
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def production_env(postgres_url, redis_url, tmp_path_factory):
    from kbassist.llm.bundled import smollm2_path

    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("KB_", "DJANGO_", "DATABASE_", "CELERY_"))},
        "DJANGO_SETTINGS_MODULE": "kbassist.settings",
        "DATABASE_URL": postgres_url,
        "CELERY_BROKER_URL": f"{redis_url}/0",
        "KB_REDIS_URL": f"{redis_url}/1",
        "KB_DATA_DIR": str(tmp_path_factory.mktemp("kbdata")),
        "KB_LLM_MODEL_PATH": str(smollm2_path()),
        "KB_LLM_MAX_TOKENS": "64",
        "HF_HUB_OFFLINE": "1",
    }


def manage(env, *args, timeout=600):
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def test_full_pipeline_on_postgres_and_redis(production_env):
    env = production_env
    result = manage(env, "migrate", "--noinput")
    assert result.returncode == 0, result.stderr
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "kbassist", "worker", "--pool=threads", "--concurrency=2", "--loglevel=WARNING"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    port = free_port()
    daphne = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "kbassist.asgi:application"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        result = manage(env, "import_documents", str(ROOT / "knowledge"), "--collection", "Handbook", "--timeout", "400")
        assert result.returncode == 0, result.stdout + result.stderr
        assert "0 failed" in result.stdout

        result = manage(env, "ensure_admin")
        assert result.returncode == 0, result.stderr
        result = manage(env, "ask", "How many vacation days do I get?", "--json")
        assert result.returncode == 0, result.stderr
        data = json.loads(result.stdout)
        assert data["status"] == "complete" and data["answer"]
        titles = " ".join(c["title"] for c in data["citations"][:3])
        assert "vacation" in titles.lower() or "leave" in titles.lower(), titles

        wait_until(lambda: http_ok(f"http://127.0.0.1:{port}/accounts/login/"), timeout=60, what="Daphne on PostgreSQL")

        # The rows really are in PostgreSQL.
        count = manage(env, "shell", "-c", "from kbassist.knowledge.models import Chunk, Document; "
                       "from django.db import connection; print(connection.vendor, Document.objects.filter(status='ready').count(), Chunk.objects.count())")
        vendor, ready, chunks = count.stdout.strip().splitlines()[-1].split()
        assert vendor == "postgresql" and int(ready) >= 8 and int(chunks) > 50
    finally:
        daphne.terminate()
        worker.terminate()
        daphne.wait(20)
        worker.wait(30)


def test_channels_layer_round_trip_through_redis(redis_url):
    import asyncio

    from channels_redis.core import RedisChannelLayer

    async def round_trip():
        layer = RedisChannelLayer(hosts=[f"{redis_url}/1"])
        channel = await layer.new_channel()
        await layer.group_add("curators", channel)
        await layer.group_send("curators", {"type": "document.status", "status": "ready"})
        message = await asyncio.wait_for(layer.receive(channel), 5)
        await layer.flush()
        return message

    assert asyncio.run(round_trip()) == {"type": "document.status", "status": "ready"}


def test_celery_broker_is_redis(production_env):
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); from kbassist.celery import app; print(app.connection().as_uri())"],
        cwd=ROOT, env=production_env, capture_output=True, text=True, timeout=60,
    )
    assert result.stdout.strip().startswith("redis://"), result.stderr
