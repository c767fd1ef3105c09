"""Many employees at once: concurrent websocket users against a running app, on loopback.

Each of ``--users`` users opens the chat websocket, asks ``--questions`` questions one after
another with ``--think`` seconds of think time (jittered) between an answer and the next
question, all users at once. Measured: errors (error events, refused sockets, answers that
never ended), time to first token and to the whole answer, and then, in the app's database,
that every question and every answer was saved (none left "streaming"). The resident memory
(RSS) of each of the app's processes (Daphne, Celery, llama-server) is read from /proc before
and after.

Run it from the project root against the app that ``./kb start`` (or a scale-out) runs, with
the same environment (data folder, DATABASE_URL): the users ``load-1`` ... are created in its
database, signed in without the login form (their sessions are written there directly), and
their conversations are what is checked.

    .venv/bin/python bench/load.py --url http://127.0.0.1:8000 [--users 50] [--questions 3] [--think 5] [--no-readme]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT  # noqa: E402
from _readme import rewrite_section, stamp, table  # noqa: E402
from api_ttft import WebSocket  # noqa: E402

QUESTIONS = [
    "How many vacation days do I get?",
    "How do I reset my password?",
    "Who approves my travel?",
    "When is payday?",
    "How do I book a meeting room?",
    "年假有多少天？",
]


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="the running app (or nginx in front of it)")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--questions", type=int, default=3, help="questions per user")
    parser.add_argument("--think", type=float, default=5.0, help="seconds between an answer and the next question (±50%%)")
    parser.add_argument("--question", action="append", help="ask these (in turn) instead of the built-in mix")
    parser.add_argument("--timeout", type=float, default=600, help="seconds an answer may take before it counts as an error")
    parser.add_argument("--no-readme", action="store_true")
    return parser.parse_args()


def data_dir_of(proc: Path) -> Path | None:
    """The data folder a process of this project works on: its KB_DATA_DIR, else ``data/``
    under its working folder (the default); None when that cannot be read."""
    try:
        environ = dict(item.split("=", 1) for item in (proc / "environ").read_bytes().decode(errors="replace").split("\0") if "=" in item)
        cwd = Path(os.readlink(proc / "cwd"))
    except OSError:
        return None
    return Path(environ.get("KB_DATA_DIR") or cwd / "data").resolve()


def app_processes(data_dir: Path) -> dict[int, str]:
    """The processes of the app under test, by pid: Daphne, Celery and llama-server processes
    on this machine working on ``data_dir`` (other copies of the app on the machine are left out)."""
    found = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv = (proc / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        if data_dir_of(proc) != data_dir:
            continue
        line = " ".join(argv)
        if "kbassist.asgi" in line:
            found[int(proc.name)] = "daphne"
        elif "celery" in line and "kbassist" in line:
            found[int(proc.name)] = "celery"
        elif "llama-server" in line or "llama_cpp.server" in line:
            found[int(proc.name)] = "llama-server"
    return found


def rss_mb(pid: int) -> float | None:
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def sessions_for(n: int) -> list[tuple[object, str]]:
    """``n`` users (created once, reused), each with a fresh session in the app's database."""
    from django.contrib.auth.models import User
    from django.test import Client

    users = []
    for i in range(1, n + 1):
        user, _ = User.objects.get_or_create(username=f"load-{i}")
        client = Client()
        client.force_login(user)
        users.append((user, client.cookies["sessionid"].value))
    return users


class Result:
    def __init__(self):
        self.lock = threading.Lock()
        self.ttft: list[float] = []
        self.total: list[float] = []
        self.errors: list[str] = []
        self.kinds: dict[str, int] = {}
        self.answered = 0


def user_session(index: int, cookie: str, args, result: Result, start: threading.Barrier):
    parts = urlsplit(args.url)
    questions = args.question or QUESTIONS
    rng = random.Random(index)
    try:
        ws = WebSocket(parts.hostname, parts.port or 80, "/ws/chat/", f"sessionid={cookie}")
        ws.sock.settimeout(args.timeout)
    except Exception as exc:
        with result.lock:
            result.errors.extend([f"user {index}: socket refused: {exc}"] * args.questions)
        return
    start.wait()
    conversation = None
    try:
        for q in range(args.questions):
            question = questions[(index + q) % len(questions)]
            sent, first = time.perf_counter(), None
            ws.send({"type": "ask", "question": question, "conversation_id": conversation})
            while True:
                event = ws.receive()
                if event["type"] == "conversation":
                    conversation = event["id"]
                elif event["type"] == "token" and first is None:
                    first = time.perf_counter() - sent
                elif event["type"] == "error" and "code" in event:  # refused before anything was stored
                    with result.lock:
                        result.errors.append(f"user {index}: {event.get('code')}: {event['message'][:80]}")
                    break
                elif event["type"] == "done":
                    with result.lock:
                        result.answered += 1
                        result.total.append(time.perf_counter() - sent)
                        if first is not None:
                            result.ttft.append(first)
                        result.kinds[event["kind"]] = result.kinds.get(event["kind"], 0) + 1
                        if event["status"] == "error" and event["kind"] != "passages":
                            result.errors.append(f"user {index}: answer ended with status error ({event['kind']})")
                    break
            if q + 1 < args.questions:
                time.sleep(args.think * rng.uniform(0.5, 1.5))
    except Exception as exc:
        with result.lock:
            result.errors.append(f"user {index}: {exc.__class__.__name__}: {exc}")
    finally:
        ws.close()


def saved_in_database(users, since) -> dict:
    from kbassist.chat.models import Message

    messages = Message.objects.filter(conversation__user__in=[u for u, _ in users], created_at__gte=since)
    return {
        "questions": messages.filter(role="user").count(),
        "answers": messages.filter(role="assistant").count(),
        "left streaming": messages.filter(status="streaming").count(),
        "interrupted": messages.filter(status="interrupted").count(),
    }


def pct(values: list[float], q: float) -> str:
    if not values:
        return "–"
    values = sorted(values)
    return f"{values[min(len(values) - 1, int(q * len(values)))]:.2f}"


def main():
    args = parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kbassist.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.utils import timezone

    from django.conf import settings

    processes = app_processes(Path(settings.DATA_DIR).resolve())
    before = {pid: rss_mb(pid) for pid in processes}
    users = sessions_for(args.users)
    since = timezone.now()
    result = Result()
    barrier = threading.Barrier(args.users + 1)
    threads = [threading.Thread(target=user_session, args=(i, cookie, args, result, barrier), daemon=True)
               for i, (_, cookie) in enumerate(users, start=1)]
    for thread in threads:
        thread.start()
    try:
        barrier.wait(timeout=120)
    except threading.BrokenBarrierError:
        pass
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    time.sleep(1)  # the last answers' rows are written before their "done" is sent; give stragglers a moment
    saved = saved_in_database(users, since)
    after = {pid: rss_mb(pid) for pid in processes}

    asked = args.users * args.questions
    summary = table(
        ["users", "questions asked", "answered", "errors", "TTFT p50 (s)", "TTFT p95 (s)", "answer p50 (s)", "answer p95 (s)",
         "saved questions", "saved answers", "left streaming", "wall time (s)"],
        [[args.users, asked, result.answered, len(result.errors), pct(result.ttft, 0.5), pct(result.ttft, 0.95),
          pct(result.total, 0.5), pct(result.total, 0.95), saved["questions"], saved["answers"], saved["left streaming"],
          f"{elapsed:.1f}"]],
        align="012345678910 11",
    )
    memory = table(
        ["process", "pid", "RSS before (MB)", "RSS after (MB)"],
        [[name, pid, f"{before[pid]:.0f}" if before[pid] else "–", f"{after[pid]:.0f}" if after[pid] else "(gone)"]
         for pid, name in sorted(processes.items(), key=lambda item: (item[1], item[0]))],
        align="123",
    )
    kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(result.kinds.items())) or "none"
    print(summary, "\n\nAnswers by kind:", kinds, "\n\n" + memory)
    for error in result.errors[:20]:
        print("error:", error)
    if not args.no_readme:
        body = (
            f"{args.users} websocket users at once, {args.questions} questions each, {args.think:g} s think time "
            f"(±50%), against `{args.url}`. Answers by kind: {kinds}.\n\n{summary}\n\n"
            f"Resident memory of the app's processes before and after:\n\n{memory}\n\n{stamp()}"
        )
        rewrite_section("load", body)
    ok = not result.errors and saved["questions"] == asked and saved["answers"] == asked and not saved["left streaming"]
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
