"""Many chats at once: the in-process single slot against llama.cpp's server with N slots.

For each serving set-up, a real app is started the way ``./kb start`` starts it (the
supervisor of ``kbassist.serve``: llama-server first when KB_LLM_PARALLEL > 1, then Daphne;
no worker), on the starter knowledge base ingested into a throw-away data folder. Then 1, 4,
8, 16 websocket clients (each a user of its own, signed in with a session cookie) ask their
questions at the same moment, each question in a new conversation, one after the other per
client. Curated answers, the answer cache and the answer check are off, and the rate limits
and the line's bound are lifted, so every answer takes the generated path and none is turned
away. Measured by the clients:

  aggregate tokens/s   tokens generated for all clients / wall time of the round
  TTFT p50 / p95       from sending a question to its first token event (client side)
  stream tokens/s      per answer, as the tokens leave the model (the answer's own timings:
                       the client's last token waits for the answer's checks); the median

Every set-up runs the same questions, in the same run, on the same machine.

    .venv/bin/python bench/concurrency.py [--setups inprocess,slots:4,slots:8] [--clients 1,4,8,16]
        [--questions 2] [--max-tokens 128] [--draft] [--no-readme]

``--draft`` adds speculative decoding: one client, one slot serving the 1.5B chat model without
the 0.5B draft (in-process, as ``./kb start`` runs one slot) and with it (llama-server,
``KB_LLM_DRAFT_MODEL``), same questions, single-stream tokens/s. ``--setups ''`` runs only
that, into its own README section.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import sys
import threading
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, starter_kb_user  # noqa: E402
from _readme import rewrite_section, stamp, table  # noqa: E402
from api_ttft import WebSocket  # noqa: E402

QUESTIONS = [
    "How many vacation days do I get?",
    "How do I request vacation?",
    "How much vacation do part-time employees get?",
    "How many days per week must hybrid employees work in the office?",
    "How do I set up multi-factor authentication?",
    "What happens to my accounts when I leave the company?",
    "How is vacation calculated if I join during the year?",
    "How do I connect to the VPN?",
]


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--setups", default="inprocess,slots:4,slots:8",
                        help="comma-separated: inprocess (KB_LLM_PARALLEL=1) or slots:N (llama-server with N slots)")
    parser.add_argument("--clients", default="1,4,8,16", help="comma-separated numbers of concurrent chats")
    parser.add_argument("--questions", type=int, default=2, help="questions each client asks, one after the other")
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--draft", action="store_true", help="also: 1.5B chat model without / with the 0.5B draft")
    parser.add_argument("--draft-questions", type=int, default=4)
    parser.add_argument("--no-readme", action="store_true")
    return parser.parse_args()


@dataclass
class Answer:
    sent: float
    first: float | None = None
    last: float | None = None
    tokens: int = 0  # generated (the answer's timings; token events are merged by the sensitive-word screen)
    kind: str = ""
    model_rate: float | None = None

    @property
    def ttft(self) -> float | None:
        return None if self.first is None else self.first - self.sent

    @property
    def rate(self) -> float | None:
        return self.model_rate


@dataclass
class Round:
    clients: int
    wall: float = 0.0
    answers: list[Answer] = field(default_factory=list)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sessions(n: int) -> list[str]:
    """Cookies of ``n`` users, each signed in (a session in the database)."""
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.contrib.sessions.backends.db import SessionStore

    cookies = []
    for i in range(n):
        user, _ = User.objects.get_or_create(username=f"bench-client-{i}")
        session = SessionStore()
        session.update({"_auth_user_id": str(user.pk), "_auth_user_backend": "django.contrib.auth.backends.ModelBackend",
                        "_auth_user_hash": user.get_session_auth_hash()})
        session.create()
        cookies.append(f"{settings.SESSION_COOKIE_NAME}={session.session_key}")
    return cookies


def ask(port: int, cookie: str, question: str) -> Answer:
    ws = WebSocket("127.0.0.1", port, "/ws/chat/", cookie)
    try:
        answer = Answer(time.perf_counter())
        ws.send({"type": "ask", "question": question})
        while (event := ws.receive())["type"] not in ("done", "error"):
            if event["type"] == "token":
                answer.last = time.perf_counter()
                answer.first = answer.first or answer.last
        if event["type"] == "error":  # an error event may precede the done event (the passages)
            while event["type"] != "done":
                event = ws.receive()
        answer.kind = event.get("kind", "")
        timings = event.get("timings", {})
        answer.tokens, answer.model_rate = timings.get("tokens", 0), timings.get("tokens_per_s")
        return answer
    finally:
        ws.close()


def run_round(port: int, cookies: list[str], questions_each: int, offset: int = 0) -> Round:
    """Every client asks its questions at once (a barrier), one after the other per client."""
    result = Round(len(cookies))
    barrier = threading.Barrier(len(cookies) + 1)
    lock = threading.Lock()
    failures = []

    def client(i, cookie):
        barrier.wait()
        for k in range(questions_each):
            try:
                answer = ask(port, cookie, QUESTIONS[(offset + i + k) % len(QUESTIONS)])
            except Exception as exc:  # counted, shown, never hidden
                failures.append(repr(exc))
                continue
            with lock:
                result.answers.append(answer)

    threads = [threading.Thread(target=client, args=(i, c)) for i, c in enumerate(cookies)]
    for thread in threads:
        thread.start()
    barrier.wait()
    start = time.perf_counter()
    for thread in threads:
        thread.join()
    result.wall = time.perf_counter() - start
    if failures:
        print(f"  {len(failures)} questions failed: {failures[:3]}")
    return result


@contextmanager
def running_app(slots: int, model_path: str, draft: str = ""):
    """The app as ``./kb start`` runs it (without the worker), for ``slots`` answers at once."""
    from django.conf import settings

    from kbassist import serve
    from kbassist.llm.server import binary
    from kbassist.supervise import Supervisor

    port, model_port = free_port(), free_port()
    values = {"KB_LLM_PARALLEL": str(slots), "KB_LLM_SERVER_PORT": str(model_port), "KB_LLM_MODEL_PATH": model_path,
              "KB_LLM_DRAFT_MODEL": draft}
    if slots > 1 or draft:
        values["KB_LLAMA_SERVER"] = binary()
    os.environ.update(values)  # for the children
    settings.KB_LLM_PARALLEL, settings.KB_LLM_SERVER_PORT = slots, model_port  # for serve.children()
    settings.KB_LLM_MODEL_PATH, settings.KB_LLM_DRAFT_MODEL = model_path, draft
    settings.KB_LLAMA_SERVER = values.get("KB_LLAMA_SERVER", "")
    settings.KB_LLM_SERVER = slots > 1 or bool(draft)
    log = open(Path(settings.DATA_DIR) / "web.log", "ab")
    children = [c for c in serve.children("127.0.0.1", port) if c.name != "worker"]
    for child in children:
        child.stdout = child.stdout or log
    supervisor = Supervisor(children, say=lambda line: print(f"  [supervisor] {line}"))
    thread = threading.Thread(target=supervisor.run, daemon=True)
    thread.start()
    try:
        deadline = time.time() + 600
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/openapi.json", timeout=2)
                break
            except OSError:
                if time.time() > deadline:
                    raise RuntimeError("the app did not start within 600 s")
                time.sleep(0.5)
        yield port
    finally:
        supervisor.stop()
        thread.join(60)
        log.close()


def percentile(values, q):
    return float(np.percentile(values, q)) if values else float("nan")


def summary(setup: str, r: Round) -> list:
    ttfts = [a.ttft for a in r.answers if a.ttft is not None]
    rates = [a.rate for a in r.answers if a.rate is not None]
    tokens = sum(a.tokens for a in r.answers)
    generated = sum(a.kind == "generated" for a in r.answers)
    return [setup, r.clients, f"{generated}/{len(r.answers)}", tokens, f"{tokens / r.wall:.1f}",
            f"{percentile(ttfts, 50) * 1000:.0f}", f"{percentile(ttfts, 95) * 1000:.0f}",
            f"{statistics.median(rates):.1f}" if rates else "–"]


def describe(setup: str) -> tuple[str, int]:
    if setup == "inprocess":
        return "in-process, 1 slot", 1
    if setup.startswith("slots:") and setup[6:].isdigit() and int(setup[6:]) > 1:
        return f"llama-server, {int(setup[6:])} slots", int(setup[6:])
    raise SystemExit(f"unknown set-up {setup!r}: use inprocess or slots:N (N > 1)")


def main():
    args = parse_args()
    clients = [int(c) for c in args.clients.split(",")]
    setups = [describe(s.strip()) for s in args.setups.split(",") if s.strip()]  # "" with --draft: only that
    env = {"KB_LLM_TEMPERATURE": "0", "KB_LLM_MAX_TOKENS": str(args.max_tokens), "KB_FAQ_MATCH_COSINE": "2",
           "KB_FAQ_MATCH_LEXICAL": "2", "KB_ANSWER_CACHE": "false", "KB_CHECK_MODEL": "", "KB_QUEUE_MAX": "1000",
           "KB_RATE_QUESTIONS_PER_MINUTE": "0", "KB_RATE_QUESTIONS_PER_DAY": "0", "KB_RATE_REQUESTS_PER_MINUTE": "0"}
    starter_kb_user(**env)
    from django.conf import settings

    from kbassist.llm.bundled import prepare

    chat_model = settings.KB_LLM_MODEL_PATH
    cookies = sessions(max(clients))
    rows, results = [], {}
    for name, slots in setups:
        print(f"{name}: starting")
        with running_app(slots, chat_model) as port:
            ask(port, cookies[0], QUESTIONS[0])  # warm-up: loads the embedder (and the model, in-process)
            for n in clients:
                r = run_round(port, cookies[:n], args.questions)
                results[(slots, n)] = r
                rows.append(summary(name, r))
                print("  " + " | ".join(map(str, rows[-1])))
    headers = ["set-up", "chats at once", "generated", "tokens", "aggregate tokens/s", "TTFT p50 ms", "TTFT p95 ms",
               "stream tokens/s (median)"]
    text = table(headers, rows, align="134567") if rows else ""
    print(text)
    goal = goal_line(results)
    if goal:
        print(goal)

    draft_text = ""
    if args.draft:
        # the bundled models, assembled and checked in the project's data folder (the bench's own has none)
        big, small = (str(prepare(name, ROOT / "data" / "models")) for name in ("qwen-1.5b", "qwen-0.5b"))
        draft_rows = []
        # Without a draft and with one slot the app runs the model in-process (llama-cpp-python, the
        # same llama.cpp): the only way ./kb start serves one slot without a draft.
        for label, draft in (("1.5B alone (in-process)", ""), ("1.5B + 0.5B draft (llama-server)", small)):
            print(f"speculative decoding, {label}: starting")
            with running_app(1, big, draft) as port:
                ask(port, cookies[0], QUESTIONS[0])
                r = run_round(port, cookies[:1], args.draft_questions)
                rates = [a.rate for a in r.answers if a.rate is not None]
                ttfts = [a.ttft for a in r.answers if a.ttft is not None]
                draft_rows.append([label, f"{sum(a.kind == 'generated' for a in r.answers)}/{len(r.answers)}",
                                   sum(a.tokens for a in r.answers), f"{statistics.median(rates):.1f}" if rates else "–",
                                   f"{percentile(ttfts, 50) * 1000:.0f}"])
                print("  " + " | ".join(map(str, draft_rows[-1])))
        draft_text = table(["chat model (1 slot, 1 chat)", "generated", "tokens", "stream tokens/s (median)",
                            "TTFT p50 ms"], draft_rows, align="234")
        print(draft_text)

    draft_body = ("**Speculative decoding** (`KB_LLM_DRAFT_MODEL=qwen-0.5b`, `KB_LLM_MODEL=qwen-1.5b`): one chat, "
                  f"{args.draft_questions} questions, one slot, without the draft model (in-process, as `./kb start` runs "
                  "one slot) and with it (llama-server), same run.\n\n" + draft_text)
    if not args.no_readme and not rows and draft_text:  # --setups "" --draft: its own section, the table above stays
        rewrite_section("concurrency-draft", f"{stamp()} {draft_body}")
    elif not args.no_readme:
        body = ("### Many chats at once: in-process single slot vs llama-server slots\n\n"
                f"{stamp()} Model `{Path(chat_model).name}`, {settings.KB_LLM_THREADS} threads, greedy decoding, at most "
                f"{args.max_tokens} tokens per answer; {args.questions} questions per chat, one after the other, every "
                "chat a user of its own on a websocket of the real app (Daphne, started by `kbassist.serve` as "
                "`./kb start` does); curated answers, the answer cache and the answer check off, so every answer is "
                "generated. Aggregate tokens/s: tokens generated for all chats over the round's wall time; TTFT: from "
                "sending the question to its first token, at the client; stream tokens/s: per answer, as its tokens "
                "leave the model (the answer's own timings), the median.\n\n" + text)
        if goal:
            body += "\n\n" + goal
        if draft_text:
            body += "\n\n" + draft_body
        rewrite_section("concurrency", body)


def goal_line(results) -> str:
    """The issue's goal at 8 chats: aggregate tokens/s >= 2x the single slot, p95 TTFT <= half."""
    base = results.get((1, 8))
    best = [(s, r) for (s, n), r in results.items() if n == 8 and s > 1]
    if base is None or not best:
        return ""
    parts = []
    base_rate = sum(a.tokens for a in base.answers) / base.wall
    base_p95 = percentile([a.ttft for a in base.answers if a.ttft is not None], 95)
    for slots, r in best:
        rate = sum(a.tokens for a in r.answers) / r.wall
        p95 = percentile([a.ttft for a in r.answers if a.ttft is not None], 95)
        parts.append(f"{slots} slots: aggregate tokens/s {rate / base_rate:.2f}× the single slot (goal ≥ 2×), "
                     f"p95 TTFT {p95 / base_p95:.2f}× (goal ≤ 0.5×)")
    return "At 8 chats at once: " + "; ".join(parts) + "."


if __name__ == "__main__":
    main()
