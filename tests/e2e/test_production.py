"""The production profile against real servers: PostgreSQL, Redis as Celery broker and as
the Channels layer. The servers are started here on loopback ports, in throwaway folders,
from the binaries of Debian's `postgresql` and `redis-server` packages (CI installs them);
where they are not installed these tests are skipped with that reason.

The app runs in subprocesses with the production environment, exactly as an operator would
run it: migrate, a Celery worker, `import_documents`, `ask --json`, and Daphne serving HTTP
and the chat websocket.
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
        "KB_ADMIN_PASSWORD": "pw-production-admin",
    }


def manage(env, *args, timeout=600):
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def deployment(production_env):
    """What an operator runs: migrate, a Celery worker, Daphne, the starter knowledge base
    imported through the worker, and an admin account. Yields the environment, Daphne's
    URL and the output of the import."""
    env = production_env
    result = manage(env, "migrate", "--noinput")
    assert result.returncode == 0, result.stderr
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "kbassist", "worker", "--pool=threads", "--concurrency=2", "--loglevel=WARNING"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    port = free_port()
    log = open(Path(env["KB_DATA_DIR"]) / "daphne.log", "ab")
    daphne = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "kbassist.asgi:application"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        imported = manage(env, "import_documents", str(ROOT / "knowledge"), "--collection", "Handbook", "--timeout", "400")
        assert imported.returncode == 0, imported.stdout + imported.stderr
        result = manage(env, "ensure_admin")
        assert result.returncode == 0, result.stderr
        url = f"http://127.0.0.1:{port}"
        wait_until(lambda: http_ok(url + "/accounts/login/"), timeout=60, what="Daphne on PostgreSQL")
        yield {"env": env, "url": url, "imported": imported.stdout, "log": Path(log.name)}
    finally:
        daphne.terminate()
        worker.terminate()
        daphne.wait(20)
        worker.wait(30)
        log.close()


def test_import_and_ask_on_postgres_and_redis(deployment):
    env = deployment["env"]
    assert "0 failed" in deployment["imported"]
    result = manage(env, "ask", "How many vacation days do I get?", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["status"] == "complete" and data["answer"]
    titles = " ".join(c["title"] for c in data["citations"][:3])
    assert "vacation" in titles.lower() or "leave" in titles.lower(), titles

    # The rows really are in PostgreSQL.
    count = manage(env, "shell", "-c", "from kbassist.knowledge.models import Chunk, Document; "
                   "from django.db import connection; print(connection.vendor, Document.objects.filter(status='ready').count(), Chunk.objects.count())")
    vendor, ready, chunks = count.stdout.strip().splitlines()[-1].split()
    assert vendor == "postgresql" and int(ready) >= 8 and int(chunks) > 50


def log_in(url: str, username: str, password: str) -> str:
    """Log in through the login form, as a browser does; returns the session cookie."""
    import http.cookiejar
    import re
    import urllib.parse
    import urllib.request

    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    form = opener.open(url + "/accounts/login/", timeout=30).read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
    data = urllib.parse.urlencode({"username": username, "password": password, "csrfmiddlewaretoken": token}).encode()
    opener.open(urllib.request.Request(url + "/accounts/login/", data=data, headers={"Referer": url + "/accounts/login/"}), timeout=30)
    sessions = [c.value for c in jar if c.name == "sessionid"]
    assert sessions, "the login form did not log us in"
    return sessions[0]


def layer_listeners(redis_layer_url: str) -> int:
    """Consumers waiting on the Redis channel layer now: each websocket's consumer blocks on
    its own channel there (BZPOPMIN, flag "b") for as long as the socket is open."""
    import redis

    client = redis.Redis.from_url(redis_layer_url)
    try:
        db = str(client.connection_pool.connection_kwargs.get("db", 0))
        return sum(1 for c in client.client_list() if c["cmd"] == "bzpopmin" and "b" in c["flags"] and str(c["db"]) == db)
    finally:
        client.close()


class WebSocket:
    """A minimal RFC 6455 client (JSON in text frames), enough to talk to the chat consumer
    the way chat.js does, without an event loop of its own."""

    def __init__(self, url: str, *, origin: str, cookie: str, timeout: float = 300):
        import base64
        import hashlib
        import socket
        from urllib.parse import urlsplit

        parts = urlsplit(url)
        self.sock = socket.create_connection((parts.hostname, parts.port), timeout=timeout)
        self.file = self.sock.makefile("rb")
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            f"GET {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nOrigin: {origin}\r\nCookie: {cookie}\r\n\r\n".encode()
        )
        status = self.file.readline().decode().strip()
        headers = {}
        while (line := self.file.readline().decode().strip()):
            name, _, value = line.partition(":")
            headers[name.lower()] = value.strip()
        if status.split()[1:2] != ["101"]:
            raise AssertionError(f"the websocket was refused: {status}")
        accept = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
        assert headers.get("sec-websocket-accept") == accept, headers

    def _send(self, opcode: int, payload: bytes):
        import struct

        n = len(payload)
        length = bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + struct.pack(">H", n) if n < 65536 else bytes([0x80 | 127]) + struct.pack(">Q", n)
        mask = os.urandom(4)
        self.sock.sendall(bytes([0x80 | opcode]) + length + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def _read(self, n: int) -> bytes:
        data = self.file.read(n)
        if len(data) < n:
            raise ConnectionError("the server closed the connection")
        return data

    def send_json(self, data):
        self._send(0x1, json.dumps(data).encode())

    def receive_json(self):
        import struct

        message = b""
        while True:
            first, second = self._read(2)
            opcode, length = first & 0x0F, second & 0x7F
            if length == 126:
                length = struct.unpack(">H", self._read(2))[0]
            elif length == 127:
                length = struct.unpack(">Q", self._read(8))[0]
            payload = self._read(length)  # frames from a server are not masked
            if opcode == 0x8:
                code = struct.unpack(">H", payload[:2])[0] if len(payload) >= 2 else None
                raise ConnectionError(f"the server closed the websocket (code {code})")
            if opcode == 0x9:
                self._send(0xA, payload)  # ping: pong, as a browser would
                continue
            if opcode == 0xA:
                continue
            message += payload
            if first & 0x80:
                return json.loads(message)

    def close(self):
        try:
            self._send(0x8, (1000).to_bytes(2, "big"))
        finally:
            self.sock.close()


def test_chat_over_a_websocket_through_daphne_with_the_redis_channel_layer(deployment, redis_url):
    """The app sends nothing through groups: what it does with the channel layer is what
    Channels does for every consumer, give each websocket its own channel and listen on it.
    With KB_REDIS_URL set, that channel lives in Redis; a chat works through it end to end."""
    url, layer = deployment["url"], f"{redis_url}/1"
    assert layer == deployment["env"]["KB_REDIS_URL"]
    session = log_in(url, "admin", deployment["env"]["KB_ADMIN_PASSWORD"])
    before = layer_listeners(layer)
    socket = WebSocket(url.replace("http", "ws", 1) + "/ws/chat/", origin=url, cookie=f"sessionid={session}")
    try:
        wait_until(lambda: layer_listeners(layer) > before, timeout=30, what="the consumer to listen on its channel in Redis")
        socket.send_json({"type": "ask", "question": "How many vacation days do I get?"})
        events = [socket.receive_json()]
        while events[-1]["type"] not in ("done", "error"):
            events.append(socket.receive_json())
    except ConnectionError as exc:
        # (redis-py's default 5 s read timeout once closed every quiet socket here: see
        # CHANNEL_LAYERS in settings.py)
        raise AssertionError(deployment["log"].read_text()[-3000:]) from exc
    finally:
        socket.close()
    kinds = [e["type"] for e in events]
    assert kinds[:2] == ["conversation", "sources"] and kinds[-1] == "done", events[-1]
    assert "token" in kinds
    done = events[-1]
    assert done["status"] == "complete" and done["answer"] and done["citations"]
    wait_until(lambda: layer_listeners(layer) == before, timeout=30, what="the closed socket's consumer to stop listening")


def test_celery_broker_and_channel_layer_are_redis(production_env):
    script = (
        "import django; django.setup(); from kbassist.celery import app; from channels.layers import get_channel_layer; "
        "print(app.connection().as_uri(), type(get_channel_layer()).__name__)"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=production_env, capture_output=True, text=True, timeout=60)
    broker, layer = result.stdout.split()
    assert broker.startswith("redis://") and layer == "RedisChannelLayer", result.stderr


def test_the_curators_cockpit_on_postgres(deployment):
    """The dashboard's aggregates (window functions, per-day counts), the gaps and the CSV
    on PostgreSQL."""
    import urllib.request

    env, url = deployment["env"], deployment["url"]
    cookie = log_in(url, "admin", "pw-production-admin")
    # Asked through the running Daphne (its models are loaded), not two more processes.
    socket = WebSocket(url.replace("http", "ws", 1) + "/ws/chat/", origin=url, cookie=f"sessionid={cookie}")
    try:
        for question in ("What is the capital of Mars?", "How many vacation days do I get?"):
            socket.send_json({"type": "ask", "question": question})
            while (event := socket.receive_json())["type"] not in ("done", "error"):
                pass
            assert event["type"] == "done", event
    finally:
        socket.close()
    result = manage(env, "knowledge_gaps", "--json")
    assert result.returncode == 0, result.stderr
    assert any("Mars" in g["representative"] for g in json.loads(result.stdout)["gaps"])

    def get(path):
        request = urllib.request.Request(deployment["url"] + path, headers={"Cookie": f"sessionid={cookie}"})
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read().decode()

    status, page = get("/curation/")
    assert status == 200 and 'id="total-questions">' in page and "capital of Mars" in page
    status, rows = get("/curation/csv/ttft.csv")
    assert status == 200 and rows.splitlines()[0] == "kind,n,p50,p95" and rows.splitlines()[1].startswith("all,")
