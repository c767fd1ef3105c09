"""A scripted OpenAI-compatible model server on a loopback port, for tests of the HTTP stack
around the model (the widget, the OpenAI-compatible endpoint) that need answers fast and
predictable rather than a real model: the app reaches it through its real ``openai``
generation backend (``KB_LLM_BACKEND=openai``), streamed word by word like a model.

    with scripted_model("Full-time staff get 28 vacation days per year.") as base_url:
        ... run the app with KB_LLM_BACKEND=openai, KB_OPENAI_BASE_URL=base_url ...
"""

from __future__ import annotations

import json
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    reply = ""
    delay = 0.0

    def log_message(self, *args):  # quiet
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        if self.path.rstrip("/") != "/v1/chat/completions":
            self.send_error(404)
            return
        words = self.reply.split(" ")
        pieces = [w if i == 0 else " " + w for i, w in enumerate(words)]
        if not body.get("stream"):
            data = json.dumps({"id": "scripted", "object": "chat.completion", "created": int(time.time()), "model": "scripted",
                               "choices": [{"index": 0, "message": {"role": "assistant", "content": self.reply},
                                            "finish_reason": "stop"}]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        try:
            for i, piece in enumerate(pieces):
                self._event({"content": piece}, "stop" if i == len(pieces) - 1 else None)
                time.sleep(self.delay)
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):  # the app stopped reading: a stopped answer
            pass
        self.close_connection = True

    def _event(self, delta, finish):
        chunk = {"id": "scripted", "object": "chat.completion.chunk", "created": int(time.time()), "model": "scripted",
                 "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        self.wfile.write(b"data: " + json.dumps(chunk).encode() + b"\n\n")
        self.wfile.flush()


@contextmanager
def scripted_model(reply: str, delay: float = 0.05):
    """A server that answers every chat completion with ``reply``, one word every ``delay``
    seconds when streaming; yields its base URL (``http://127.0.0.1:PORT/v1``)."""
    handler = type("Handler", (_Handler,), {"reply": reply, "delay": delay})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="scripted-model", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()
