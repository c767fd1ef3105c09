"""Time to first token and tokens per second of a chat answer: the app against bare llama.cpp.

The app side goes through the real websocket consumer (``ChatConsumer`` via Channels'
``WebsocketCommunicator``): retrieval, prompt building, the generation queue, the thread
hand-off and JSON messages included. The baseline is bare llama-cpp-python on the *same*
messages (captured from the app's run): the same loaded ``Llama`` object called directly,
greedy decoding, in the same process and run, alternating so that machine noise hits both
alike. The KV cache is reset before every run so each one evaluates its whole prompt.

    .venv/bin/python bench/generation.py [--rounds 3] [--question "..."]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, setup_django  # noqa: E402
from _readme import rewrite_section, stamp, table  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--question", action="append", help="repeatable; default: one English, one Chinese")
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--no-readme", action="store_true")
    return parser.parse_args()


def prepare(max_tokens: int):
    os.environ["KB_CELERY_EAGER"] = "1"  # ingest the starter knowledge base in-process
    os.environ["KB_LLM_TEMPERATURE"] = "0"
    os.environ["KB_LLM_MAX_TOKENS"] = str(max_tokens)
    sys.path.insert(0, str(ROOT))
    from kbassist.llm.bundled import assemble_qwen

    os.environ.setdefault("KB_LLM_MODEL_PATH", str(assemble_qwen(ROOT / "data" / "models")))
    setup_django()
    from django.contrib.auth.models import User
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    with open(os.devnull, "w") as quiet:
        call_command("import_documents", str(ROOT / "knowledge"), "--collection", "Handbook", "--no-wait", stdout=quiet)
    return User.objects.create_user("bench")


class Recording:
    """Wraps the app's backend to capture the exact messages it sends to the model."""

    def __init__(self, backend):
        self.backend = backend
        self.messages = None

    def __getattr__(self, name):
        return getattr(self.backend, name)

    def stream(self, messages, **kwargs):
        self.messages = messages
        return self.backend.stream(messages, **kwargs)


async def app_round(user, question):
    from channels.testing import WebsocketCommunicator

    from kbassist.chat.consumers import ChatConsumer

    from kbassist.llm import get_backend

    get_backend().llm.reset()  # no reuse of the previous run's KV cache: evaluate the whole prompt
    communicator = WebsocketCommunicator(ChatConsumer.as_asgi(), "/ws/chat/")
    communicator.scope["user"] = user
    await communicator.connect()
    start = time.perf_counter()
    await communicator.send_json_to({"type": "ask", "question": question})
    first = last = None
    tokens = 0
    while True:
        event = await communicator.receive_json_from(timeout=300)
        if event["type"] == "token":
            last = time.perf_counter()
            first = first or last
            tokens += 1
        elif event["type"] in ("done", "error"):
            break
    await communicator.disconnect()
    return first - start, tokens, (tokens - 1) / (last - first) if tokens > 1 else 0.0, event.get("answer", "")


def bare_round(llm, messages, max_tokens):
    llm.reset()  # no reuse of the previous run's KV cache: evaluate the whole prompt
    start = time.perf_counter()
    first = last = None
    tokens = 0
    for chunk in llm.create_chat_completion(
        messages=[{"role": m.role, "content": m.content} for m in messages],
        max_tokens=max_tokens, temperature=0.0, repeat_penalty=1.1, stream=True,
    ):
        if chunk["choices"][0]["delta"].get("content"):
            last = time.perf_counter()
            first = first or last
            tokens += 1
    return first - start, tokens, (tokens - 1) / (last - first) if tokens > 1 else 0.0


def main():
    args = parse_args()
    user = prepare(args.max_tokens)
    from django.conf import settings

    from kbassist.llm import build_backend, set_backend

    recording = Recording(build_backend())
    set_backend(recording)
    # One model in memory: two llama.cpp contexts in one process fight over the 2 cores
    # (their OpenMP threads spin). The baseline calls the very same Llama object directly.
    bare = recording.backend.llm
    questions = args.question or ["How many vacation days do I get?", "我每年有多少天年假？"]
    rows = []
    for question in questions:
        asyncio.run(app_round(user, question))  # warm-up: loads the embedder, fills caches
        bare_round(bare, recording.messages, args.max_tokens)
        app, base = [], []
        for _ in range(args.rounds):
            app.append(asyncio.run(app_round(user, question)))
            base.append(bare_round(bare, recording.messages, args.max_tokens))
        prompt_tokens = sum(recording.count_tokens(m.content) for m in recording.messages)

        def med(values, i):
            return statistics.median(v[i] for v in values)

        rows.append([question, prompt_tokens, "app (websocket)", f"{med(app, 0) * 1000:.0f}", f"{med(app, 2):.1f}", f"{med(app, 1):.0f}"])
        rows.append([question, prompt_tokens, "bare llama-cpp-python", f"{med(base, 0) * 1000:.0f}", f"{med(base, 2):.1f}", f"{med(base, 1):.0f}"])
        print(f"answer: {app[-1][3][:200]!r}")
    model = Path(settings.KB_LLM_MODEL_PATH).name
    text = table(["question", "prompt tokens", "path", "TTFT ms (median)", "tokens/s (median)", "tokens"], rows, align="1345")
    print(text)
    if not args.no_readme:
        rewrite_section(
            "generation",
            "### Generation: app vs bare llama-cpp-python\n\n"
            f"{stamp()} Model `{model}`, {settings.KB_LLM_THREADS} threads, greedy decoding, "
            f"max {args.max_tokens} tokens, median of {args.rounds} rounds after a warm-up. The app's TTFT "
            "includes retrieval (query embedding, BM25, FAISS, fusion) and prompt building; the bare "
            "run gets the app's final messages directly.\n\n" + text,
        )


if __name__ == "__main__":
    main()
