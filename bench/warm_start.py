"""The first question after a start, with and without the warm-up: time to first token of a
question asked first on a fresh web process against the same question asked once the
process is warm.

Each round starts a real Daphne process on the starter knowledge base (ingested in-process
into a throw-away data folder, the default models), waits until its port answers, and asks
two questions over the chat websocket, one after the other. Rounds alternate which question
comes first, so each question is measured both first and warm (the model's prompt cache
cannot help: the second question's prompt is a different one). Curated answers and the
answer cache are off, so every answer is generated. ``KB_WARMUP=0`` is the baseline (the
first question loads the embedder and the model), ``KB_WARMUP=1`` what ``./kb start`` runs.
Measured by the client, from sending the question to the first token.

    .venv/bin/python bench/warm_start.py [--rounds 2] [--max-tokens 32] [--modes off,on] [--no-readme]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, starter_kb_user  # noqa: E402
from _readme import rewrite_section, stamp, table  # noqa: E402
from api_ttft import websocket_round  # noqa: E402

QUESTIONS = ("How many vacation days do I get?", "Who do I tell when I am sick?")


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=2, help="rounds per mode (each question first in every other round)")
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument("--modes", default="off,on", help="warm-up off (the baseline), on, or both (default)")
    parser.add_argument("--no-readme", action="store_true")
    return parser.parse_args()


def session_cookie(user) -> str:
    from django.conf import settings
    from django.contrib.sessions.backends.db import SessionStore

    session = SessionStore()
    session.update({"_auth_user_id": str(user.pk), "_auth_user_backend": "django.contrib.auth.backends.ModelBackend",
                    "_auth_user_hash": user.get_session_auth_hash()})
    session.create()
    return f"{settings.SESSION_COOKIE_NAME}={session.session_key}"


def one_round(env: dict, cookie: str, questions) -> tuple[float, list[float]]:
    """A fresh Daphne: seconds until its port answers, and the TTFT of each question in order."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    started = time.perf_counter()
    server = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "kbassist.asgi:application"],
        cwd=ROOT, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except OSError:
                if server.poll() is not None or time.perf_counter() - started > 600:
                    raise RuntimeError("Daphne did not start")
                time.sleep(0.1)
        to_port = time.perf_counter() - started
        return to_port, [websocket_round(port, cookie, q) for q in questions]
    finally:
        server.terminate()
        server.wait(30)


def main():
    args = parse_args()
    env = {"KB_LLM_TEMPERATURE": "0", "KB_LLM_MAX_TOKENS": str(args.max_tokens), "KB_FAQ_MATCH_COSINE": "2",
           "KB_FAQ_MATCH_LEXICAL": "2", "KB_ANSWER_CACHE": "false"}
    user = starter_kb_user(**env)
    cookie = session_cookie(user)
    from django.conf import settings

    rows = []
    modes = {"off": "0", "on": "1"}
    for warmup in [modes[m.strip()] for m in args.modes.split(",")]:
        first, warm, to_port = [], [], []
        for n in range(args.rounds):
            order = QUESTIONS if n % 2 == 0 else QUESTIONS[::-1]
            seconds, (a, b) = one_round({**env, "KB_WARMUP": warmup}, cookie, order)
            to_port.append(seconds)
            first.append((order[0], a))
            warm.append((order[1], b))
        # the first-question TTFT of each question over its own warm TTFT
        ratios = [f / statistics.median([w for q2, w in warm if q2 == q]) for q, f in first if any(q2 == q for q2, _ in warm)]
        if not ratios:  # one round: each question was asked once, so compare across the two
            ratios = [statistics.median([f for _, f in first]) / statistics.median([w for _, w in warm])]
        rows.append([
            "warm-up on (`./kb start`)" if warmup == "1" else "warm-up off (baseline)",
            f"{statistics.median(to_port):.1f}",
            f"{statistics.median([f for _, f in first]) * 1000:.0f}",
            f"{statistics.median([w for _, w in warm]) * 1000:.0f}",
            f"{statistics.median(ratios):.2f}×" if ratios else "–",
        ])
    text = table(["web process", "start to port open, s", "first question TTFT, ms", "warm question TTFT, ms",
                  "first / warm (same question)"], rows, align="1234")
    print(text)
    if not args.no_readme:
        rewrite_section(
            "warm-start",
            "### Warm start: the first question after a start\n\n"
            f"{stamp()} Model `{Path(settings.KB_LLM_MODEL_PATH).name}`, answer check `{settings.KB_CHECK_MODEL or 'off'}`, "
            f"the starter knowledge base, one real Daphne process per round, {args.rounds} rounds per row (medians); "
            "questions “" + "” and “".join(QUESTIONS) + "”, each asked first in every other round; curated answers "
            "and the cache off so both are generated. Goal (issue 10): the first question within 1.5× a warm one.\n\n" + text,
        )


if __name__ == "__main__":
    main()
