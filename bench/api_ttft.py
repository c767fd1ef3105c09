"""Time to first streamed token through each door of one real server: the chat websocket, the
REST API's Server-Sent Events (``POST /api/v1/ask`` with ``stream: true``), the
OpenAI-compatible stream (``/v1/chat/completions`` through the official ``openai`` client) and
the embeddable widget's stream (``POST /widget/key/ask`` with a widget key, as its frame sends it).

A real Daphne process serves the starter knowledge base (ingested in-process into a
throw-away data folder) with the default chat model; the doors take turns, round after round,
so they share the machine's load alike. Curated answers and the answer cache are off, so every
answer is generated. TTFT is measured by the client: from sending the question to the first
token that arrives.

    .venv/bin/python bench/api_ttft.py [--rounds 5] [--question "..."] [--no-readme]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import signal
import socket
import statistics
import struct
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, starter_kb_user  # noqa: E402
from _readme import rewrite_section, stamp, table  # noqa: E402

QUESTION = "How many vacation days do I get?"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--question", default=QUESTION)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--no-readme", action="store_true")
    return parser.parse_args()


class WebSocket:
    """Just enough of a websocket client (RFC 6455) for the chat socket: text frames, masked."""

    def __init__(self, host: str, port: int, path: str, cookie: str):
        self.sock = socket.create_connection((host, port), timeout=300)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nOrigin: http://{host}:{port}\r\n"
            f"Cookie: {cookie}\r\n\r\n".encode()
        )
        head = b""
        while b"\r\n\r\n" not in head:
            head += self.sock.recv(1)
        if b" 101 " not in head.split(b"\r\n")[0]:
            raise RuntimeError(f"websocket refused: {head[:200]!r}")

    def send(self, data: dict):  # one masked text frame
        payload = json.dumps(data).encode()
        mask = os.urandom(4)
        header = bytes([0x81]) + (bytes([0x80 | len(payload)]) if len(payload) < 126 else bytes([0x80 | 126]) + struct.pack(">H", len(payload)))
        self.sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def _read(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            data += self.sock.recv(n - len(data))
        return data

    def receive(self) -> dict:
        first, second = self._read(2)
        length = second & 0x7F
        if length == 126:
            length = struct.unpack(">H", self._read(2))[0]
        elif length == 127:
            length = struct.unpack(">Q", self._read(8))[0]
        payload = self._read(length)
        if first & 0x0F == 0x9:  # ping: answer it, read on
            mask = os.urandom(4)
            self.sock.sendall(bytes([0x8A, 0x80 | len(payload)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))
            return self.receive()
        if first & 0x0F == 0xA:  # pong
            return self.receive()
        if first & 0x0F == 0x8:
            raise RuntimeError(f"websocket closed by the server: {struct.unpack('>H', payload[:2])[0] if payload else ''}")
        return json.loads(payload)

    def close(self):
        self.sock.close()


def websocket_round(port: int, cookie: str, question: str) -> float:
    ws = WebSocket("127.0.0.1", port, "/ws/chat/", cookie)
    start = time.perf_counter()
    ws.send({"type": "ask", "question": question})
    first = None
    while (event := ws.receive())["type"] not in ("done", "error"):
        if event["type"] == "token" and first is None:
            first = time.perf_counter() - start
    ws.close()
    return first


def sse_round(url: str, key: str, question: str) -> float:
    request = urllib.request.Request(url + "/api/v1/ask", data=json.dumps({"question": question, "stream": True}).encode(),
                                     headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    start, first = time.perf_counter(), None
    with urllib.request.urlopen(request, timeout=300) as response:
        for line in response:
            if line.startswith(b"event: token") and first is None:
                first = time.perf_counter() - start
    return first


def widget_round(url: str, key: str, question: str) -> float:
    """As the widget's frame asks: same-origin POST (its Origin is the server's own)."""
    request = urllib.request.Request(url + "/widget/key/ask", data=json.dumps({"question": question, "key": key}).encode(),
                                     headers={"Origin": url, "Content-Type": "application/json"})
    start, first = time.perf_counter(), None
    with urllib.request.urlopen(request, timeout=300) as response:
        for line in response:
            if line.startswith(b"event: token") and first is None:
                first = time.perf_counter() - start
    return first


def openai_round(url: str, key: str, question: str) -> float:
    import openai

    client = openai.OpenAI(base_url=url + "/v1", api_key=key, max_retries=0, timeout=300)
    start, first = time.perf_counter(), None
    for chunk in client.chat.completions.create(model="kb-assist", stream=True, messages=[{"role": "user", "content": question}]):
        if chunk.choices and chunk.choices[0].delta.content and first is None:
            first = time.perf_counter() - start
    return first


def main():
    args = parse_args()
    # Stopped with SIGTERM (timeout, kill): unwind, so that the server below is stopped too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    # Rate limits off: this measures speed, and every door asks once a round as the same user.
    env = {"KB_LLM_TEMPERATURE": "0", "KB_LLM_MAX_TOKENS": str(args.max_tokens),
           "KB_FAQ_MATCH_COSINE": "2", "KB_FAQ_MATCH_LEXICAL": "2", "KB_ANSWER_CACHE": "false",
           "KB_RATE_QUESTIONS_PER_MINUTE": "0", "KB_RATE_QUESTIONS_PER_DAY": "0", "KB_RATE_ANONYMOUS_PER_MINUTE": "0"}
    user = starter_kb_user(**env)
    from django.conf import settings
    from django.contrib.sessions.backends.db import SessionStore

    from kbassist.api.models import APIKey, WidgetKey
    from kbassist.knowledge.models import Collection

    session = SessionStore()
    session.update({"_auth_user_id": str(user.pk), "_auth_user_backend": "django.contrib.auth.backends.ModelBackend",
                    "_auth_user_hash": user.get_session_auth_hash()})
    session.create()
    cookie = f"{settings.SESSION_COOKIE_NAME}={session.session_key}"
    key = APIKey.objects.create_key(user, "bench")[1]
    widget_key = WidgetKey.objects.create(name="bench", user=user, allowed_origins="http://127.0.0.1", questions_per_minute=0)
    widget_key.collections.set(Collection.objects.all())

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "kbassist.asgi:application"],
        cwd=ROOT, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.time() + 120
        while True:
            try:
                urllib.request.urlopen(url + "/api/v1/openapi.json", timeout=2)
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.3)
        doors = {
            "chat websocket": lambda: websocket_round(port, cookie, args.question),
            "REST API, Server-Sent Events": lambda: sse_round(url, key, args.question),
            "OpenAI-compatible stream (openai client)": lambda: openai_round(url, key, args.question),
            "widget (POST /widget/key/ask, widget key)": lambda: widget_round(url, widget_key.key, args.question),
        }
        for measure in doors.values():  # warm-up: loads the model and the embedder in the server
            measure()
        results = {name: [] for name in doors}
        for _ in range(args.rounds):
            for name, measure in doors.items():
                results[name].append(measure())
    finally:
        server.terminate()
        server.wait(20)
    rows = [[name, f"{statistics.median(v) * 1000:.0f}", f"{min(v) * 1000:.0f}–{max(v) * 1000:.0f}"] for name, v in results.items()]
    text = table(["door", "TTFT ms (median)", "range"], rows, align="12")
    print(text)
    if not args.no_readme:
        rewrite_section(
            "api-ttft",
            "### Time to first token by door: websocket, REST API, OpenAI-compatible stream, widget\n\n"
            f"{stamp()} Question “{args.question}”, the starter knowledge base, model "
            f"`{Path(settings.KB_LLM_MODEL_PATH).name}`, one real Daphne process; curated answers and the answer "
            f"cache off so that every answer is generated; median of {args.rounds} rounds after a warm-up, the "
            "doors taking turns. Measured by the client, from sending the question to the first token received "
            "(for the websocket: from sending the question on an open socket; for the others: from opening the "
            "HTTP request, key lookup included).\n\n" + text,
        )


if __name__ == "__main__":
    main()
