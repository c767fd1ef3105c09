"""A scripted backend for fast unit tests of the chat pipeline (the real model is tested too)."""

import threading

from kbassist.llm.base import GenerationError, LLMBackend

GATE_TIMEOUT = 30.0


class GateNeverOpened(AssertionError):
    """The test that held the stream at its gate never opened it: fail, do not carry on."""


class ScriptedBackend(LLMBackend):
    name = "scripted"

    def __init__(self, reply="Full-time staff get 28 days [1].", context_size=2048, fail_after=None, gate=None):
        self.reply = reply
        self.context_size = context_size
        self.fail_after = fail_after
        self.gate = gate  # a threading.Event the stream waits on before each token (at most GATE_TIMEOUT)
        self.calls = []
        self.started = threading.Event()

    def count_tokens(self, text):
        return len(text.split()) + 1

    def stream(self, messages, *, max_tokens, temperature, should_stop=lambda: False):
        self.calls.append(messages)
        self.started.set()
        for i, word in enumerate(self.reply.split(" ")):
            if self.gate is not None and not self.gate.wait(GATE_TIMEOUT):
                raise GateNeverOpened(f"the gate was not opened within {GATE_TIMEOUT:.0f}s")
            if should_stop():
                return
            if self.fail_after is not None and i >= self.fail_after:
                raise GenerationError("the model crashed")
            yield word if i == 0 else " " + word


class SlowChatServer:
    """An OpenAI-compatible chat server (``POST /v1/chat/completions``, streamed) that replies
    ``reply`` a word every ``delay`` seconds, on a loopback port, in a thread of this process:
    a slow model for tests that kill or stop processes mid-answer (KB_LLM_BACKEND=openai).
    ``with SlowChatServer() as server: server.url`` is its base URL (".../v1")."""

    def __init__(self, reply: str = " ".join(f"word{i}" for i in range(200)), delay: float = 0.1):
        self.reply, self.delay = reply, delay
        self.requests = 0

    def __enter__(self):
        import json
        import time
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                server.requests += 1
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Connection", "close")
                self.end_headers()
                try:
                    for i, word in enumerate(server.reply.split(" ")):
                        chunk = {"id": "x", "object": "chat.completion.chunk", "created": 0, "model": "slow",
                                 "choices": [{"index": 0, "delta": {"content": word if i == 0 else " " + word}, "finish_reason": None}]}
                        self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                        self.wfile.flush()
                        time.sleep(server.delay)
                    end = {"id": "x", "object": "chat.completion.chunk", "created": 0, "model": "slow",
                           "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
                    self.wfile.write(f"data: {json.dumps(end)}\n\ndata: [DONE]\n\n".encode())
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client stopped reading: a stopped answer

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
