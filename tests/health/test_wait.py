"""`python -m kbassist.health.wait`: what ./kb start runs before it says "running"."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from kbassist.health.wait import wait_ready


class Readiness(BaseHTTPRequestHandler):
    """/readyz: 503 with the model check failing for the first ``not_ready`` requests, then 200."""

    not_ready = 2
    seen = 0

    def do_GET(self):
        type(self).seen += 1
        ready = self.seen > self.not_ready
        body = json.dumps({"checks": {"database": {"ok": True, "reason": "sqlite"},
                                      "model": {"ok": ready, "reason": "" if ready else "not loaded yet"}}}).encode()
        self.send_response(200 if ready else 503)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def serving(handler):
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_waits_until_readyz_is_200_saying_what_it_waits_for():
    server = serving(Readiness)
    said = []
    try:
        assert wait_ready(f"http://127.0.0.1:{server.server_port}", timeout=30, interval=0.05, say=said.append)
    finally:
        server.shutdown()
    assert said == ["waiting for model: not loaded yet"]  # said once, not once a poll
    assert Readiness.seen == 3


def test_gives_up_after_the_timeout_when_nothing_answers():
    from tests.conftest import free_port

    said = []
    assert not wait_ready(f"http://127.0.0.1:{free_port()}", timeout=0.3, interval=0.05, say=said.append)
    assert said == ["waiting for the web process to open its port (it loads its models and answers one warm-up query first)"]
