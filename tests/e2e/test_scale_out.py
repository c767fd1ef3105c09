"""Scale-out on existing engines: two Daphne processes behind Debian's nginx, two Celery
workers, PostgreSQL and Redis (Channels layer, Celery broker, cache and rate-limit counters),
all started here on loopback. A document uploaded through nginx is answered from by both web
processes without a restart, and an answer that is running is stopped through nginx.

The model is a scripted OpenAI-compatible server (tests/e2e/model_server.py) standing in for a shared model
server (llama-server, vLLM): what is tested is the web tier, not generation.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, free_port, http_ok, wait_until
from tests.e2e.test_production import WebSocket, log_in, manage, postgres_url, redis_url, unavailable  # noqa: F401
from tests.e2e.model_server import scripted_model

pytestmark = pytest.mark.production

PARKING = b"# Parking\n\n## Bikes\n\nBike racks are in the courtyard behind building B. Bring your own lock.\n"
QUESTION = "Where are the bike racks?"


def start(command, env, log_path: Path):
    log = open(log_path, "ab")
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT), log


@pytest.fixture(scope="module")
def cluster(postgres_url, redis_url, tmp_path_factory):  # noqa: F811
    from kbassist.nginx import config

    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
    if not nginx:
        unavailable("nginx is not installed (apt-get install nginx)")
    data = tmp_path_factory.mktemp("kbdata")  # the one data folder (indexes, uploads) every process sees
    with scripted_model(" ".join(f"word{i}" for i in range(60)), delay=0.05) as model_url:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("KB_", "DJANGO_", "DATABASE_", "CELERY_"))},
            "DJANGO_SETTINGS_MODULE": "kbassist.settings",
            "DATABASE_URL": postgres_url,
            "CELERY_BROKER_URL": f"{redis_url}/0",
            "KB_REDIS_URL": f"{redis_url}/1",
            "KB_DATA_DIR": str(data),
            "KB_LLM_BACKEND": "openai",
            "KB_OPENAI_BASE_URL": model_url,
            "KB_CHECK_MODEL": "",
            "KB_ADMIN_PASSWORD": "pw-scale-admin",
        }
        setup = ("from django.core.management import call_command; from kbassist.knowledge.models import Collection; "
                 "call_command('ensure_admin'); Collection.objects.create(name='Handbook')")
        for args in (("migrate", "--noinput"), ("shell", "-c", setup)):
            result = manage(env, *args)
            assert result.returncode == 0, result.stderr
        processes = []
        try:
            for n in (1, 2):
                beat = ["-B", f"--schedule={data / 'celerybeat-schedule'}"] if n == 1 else []
                processes.append(start([sys.executable, "-m", "celery", "-A", "kbassist", "worker", "--pool=threads",
                                        "--concurrency=1", "-n", f"worker{n}@%h", "--loglevel=INFO", *beat], env, data / f"worker{n}.log"))
            ports = [free_port(), free_port()]
            for n, port in enumerate(ports, start=1):
                processes.append(start([sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "kbassist.asgi:application"],
                                       env, data / f"daphne{n}.log"))
            web = [f"http://127.0.0.1:{port}" for port in ports]
            for url in web:
                wait_until(lambda: http_ok(url + "/accounts/login/"), timeout=180, what="Daphne")  # after its warm-up
            prefix = data / "nginx"
            prefix.mkdir()
            front = free_port()
            (prefix / "nginx.conf").write_text(config(f"127.0.0.1:{front}", [u.removeprefix("http://") for u in web], str(prefix)))
            processes.append(start([nginx, "-c", str(prefix / "nginx.conf"), "-p", str(prefix), "-g", "daemon off;"], env, data / "nginx.log"))
            url = f"http://127.0.0.1:{front}"
            wait_until(lambda: http_ok(url + "/accounts/login/"), timeout=30, what="nginx")
            yield {"env": env, "url": url, "web": web, "data": data}
        finally:
            for proc, log in reversed(processes):
                proc.terminate()
            for proc, log in processes:
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                log.close()


def query(env, sql: str):
    import psycopg

    with psycopg.connect(env["DATABASE_URL"]) as connection:
        return connection.execute(sql).fetchall()


def upload(url: str, name: str, content: bytes):
    """The admin's multi-file upload, through nginx, as a browser posts it."""
    import requests

    session = requests.Session()
    form = session.get(url + "/accounts/login/", timeout=30).text
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
    session.post(url + "/accounts/login/", data={"username": "admin", "password": "pw-scale-admin", "csrfmiddlewaretoken": token},
                 headers={"Referer": url + "/accounts/login/"}, timeout=30)
    page = session.get(url + "/admin/knowledge/document/upload/", timeout=30)
    assert page.status_code == 200, page.text[:500]
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    collection = re.search(r'<option value="(\d+)"[^>]*>Handbook</option>', page.text).group(1)
    response = session.post(url + "/admin/knowledge/document/upload/", data={"collection": collection, "csrfmiddlewaretoken": token},
                            files={"files": (name, content)}, headers={"Referer": page.url}, timeout=60)
    assert response.status_code == 200 and "1 queued" in response.text, response.text[-2000:]


def ask(base: str, cookie: str, question: str, stop_after: int | None = None) -> list[dict]:
    """Ask over the chat websocket at ``base``; with ``stop_after``, press stop after that many tokens."""
    socket = WebSocket(base.replace("http", "ws", 1) + "/ws/chat/", origin=base, cookie=f"sessionid={cookie}")
    try:
        socket.send_json({"type": "ask", "question": question})
        events, tokens = [socket.receive_json()], 0
        while events[-1]["type"] not in ("done", "error"):
            events.append(socket.receive_json())
            tokens += events[-1]["type"] == "token"
            if stop_after is not None and tokens == stop_after:
                socket.send_json({"type": "stop"})
        return events
    finally:
        socket.close()


def test_upload_through_nginx_then_both_web_processes_answer_from_it_and_an_answer_is_stopped(cluster):
    env, url = cluster["env"], cluster["url"]
    upload(url, "parking.md", PARKING)
    wait_until(lambda: query(env, "select status from knowledge_document") == [("ready",)], timeout=180,
               what="a worker to ingest the upload")

    # Both web processes, started before the upload, answer from the new index (no restart).
    cookie = log_in(url, "admin", "pw-scale-admin")  # one session, good on every web process
    for base in cluster["web"]:
        events = ask(base, cookie, QUESTION)
        done, sources = events[-1], next(e for e in events if e["type"] == "sources")["sources"]
        assert done["type"] == "done" and done["status"] == "complete", done
        assert sources and sources[0]["title"].lower().startswith("parking"), sources
    for n in (1, 2):
        assert "WSCONNECT /ws/chat/" in (cluster["data"] / f"daphne{n}.log").read_text()

    # Through nginx: an answer that is running is stopped, and saved as stopped.
    events = ask(url, cookie, QUESTION + " Please answer in detail.", stop_after=3)
    assert events[-1]["type"] == "done" and events[-1]["status"] == "stopped", events[-1]
    assert query(env, "select status from chat_message where role = 'assistant' order by id desc limit 1") == [("stopped",)]
    assert query(env, "select count(*) from chat_message where status = 'streaming'") == [(0,)]

    # What the processes share is in Redis: the rate-limit counters and answer slots of the cache.
    import redis

    client = redis.Redis.from_url(env["KB_REDIS_URL"])
    assert client.keys("kbassist:*"), "nothing of the cache is in Redis"
