"""Time to first token and tokens per second of a chat answer: the app against bare llama.cpp.

The app side goes through the real websocket consumer (``ChatConsumer`` via Channels'
``WebsocketCommunicator``): retrieval, prompt building, the generation queue, the thread
hand-off and JSON messages included. The baseline is bare llama-cpp-python on the *same*
messages (captured from the app's run), as a script would use it: a separate process that
loads the same model file with the same settings and generates in the thread that loaded
it, greedy decoding, in the same run. The KV cache is reset before every run so each one
evaluates its whole prompt.

Both paths generate exactly ``--max-tokens`` tokens (default 160): the model's end-of-turn
tokens get a logit bias of -inf on both sides, so the rate is measured over the same, long
enough run of tokens (short natural answers of 8-24 tokens could not tell the two apart).

    .venv/bin/python bench/generation.py [--rounds 3] [--question "..."] [--max-tokens 160]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import starter_kb_user  # noqa: E402
from _readme import rewrite_section, stamp, table  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--question", action="append", help="repeatable; default: one English, one Chinese")
    parser.add_argument("--max-tokens", type=int, default=160, help="tokens generated per answer, on both paths")
    parser.add_argument("--no-readme", action="store_true")
    parser.add_argument("--bare-worker", help=argparse.SUPPRESS)
    return parser.parse_args()


def prepare(max_tokens: int):
    # Measure the model path: no curated FAQ answer, no answer cache (bench/answer_paths.py
    # measures those); greedy decoding.
    return starter_kb_user(
        KB_LLM_TEMPERATURE="0", KB_LLM_MAX_TOKENS=str(max_tokens),
        KB_FAQ_MATCH_COSINE="2", KB_FAQ_MATCH_LEXICAL="2", KB_ANSWER_CACHE="false",
    )


def never_ending(llm) -> dict[int, float]:
    """A logit bias that keeps ``llm`` from ending its turn: its end-of-generation tokens at -inf."""
    ends = {llm.token_eos()}
    for marker in (b"<|im_end|>", b"<|endoftext|>", b"<|eot_id|>", b"<|end|>"):
        ids = llm.tokenize(marker, add_bos=False, special=True)
        if len(ids) == 1:
            ends.add(ids[0])
    return {token: float("-inf") for token in ends}


class Recording:
    """Wraps the app's backend to capture the exact messages it sends to the model, and makes
    its llama.cpp model generate to the token limit (``never_ending``), as the bare run does."""

    def __init__(self, backend):
        self.backend = backend
        self.messages = None
        llm, complete = backend.llm, backend.llm.create_chat_completion
        bias = never_ending(llm)
        llm.create_chat_completion = lambda **kwargs: complete(**kwargs, logit_bias=bias)

    def __getattr__(self, name):
        return getattr(self.backend, name)

    def stream(self, messages, **kwargs):
        self.messages = messages
        return self.backend.stream(messages, **kwargs)


async def app_round(user, question):
    from channels.testing import WebsocketCommunicator

    from kbassist.chat.consumers import ChatConsumer

    from kbassist.llm import get_backend

    get_backend().forget_prompt_cache()  # no reuse of the previous run's KV cache: evaluate the whole prompt
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
            first = first or time.perf_counter()
        elif event["type"] in ("done", "error"):
            break
    await communicator.disconnect()
    # The generation rate is taken from the answer's own timings (measured as tokens leave
    # the model, under the load of the whole app), and the TTFT from the first token event
    # the client receives.
    timings = event.get("timings", {})
    return first - start, timings.get("tokens", 0), timings.get("tokens_per_s", 0.0), event.get("answer", "")


def bare_worker(path, rounds, max_tokens):
    """Child process: bare llama-cpp-python on the messages in ``path``; prints JSON results."""
    import json

    from llama_cpp import Llama

    job = json.loads(Path(path).read_text())
    llm = Llama(model_path=job["model"], n_ctx=job["n_ctx"], n_threads=job["threads"], seed=job["seed"], verbose=False)
    bare_round(llm, job["messages"], max_tokens)  # warm-up
    print(json.dumps([bare_round(llm, job["messages"], max_tokens) for _ in range(rounds)]))


def bare_rounds(messages, rounds, max_tokens):
    import json
    import subprocess
    import tempfile

    from django.conf import settings

    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        json.dump({"model": settings.KB_LLM_MODEL_PATH, "n_ctx": settings.KB_LLM_CONTEXT, "threads": settings.KB_LLM_THREADS,
                   "seed": settings.KB_LLM_SEED, "messages": [{"role": m.role, "content": m.content} for m in messages]}, fh)
    out = subprocess.run([sys.executable, __file__, "--bare-worker", fh.name, "--rounds", str(rounds), "--max-tokens", str(max_tokens)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def bare_round(llm, messages, max_tokens):
    llm.reset()  # no reuse of the previous run's KV cache: evaluate the whole prompt
    start = time.perf_counter()
    first = last = None
    tokens = 0
    for chunk in llm.create_chat_completion(
        messages=messages,
        max_tokens=max_tokens, temperature=0.0, repeat_penalty=1.1, stream=True, logit_bias=never_ending(llm),
    ):
        if chunk["choices"][0]["delta"].get("content"):
            last = time.perf_counter()
            first = first or last
            tokens += 1
    return first - start, tokens, (tokens - 1) / (last - first) if tokens > 1 else 0.0


def main():
    args = parse_args()
    if args.bare_worker:
        return bare_worker(args.bare_worker, args.rounds, args.max_tokens)
    user = prepare(args.max_tokens)
    from django.conf import settings

    from kbassist.llm import build_backend, set_backend

    recording = Recording(build_backend())
    set_backend(recording)
    questions = args.question or ["How many vacation days do I get?", "我每年有多少天年假？"]
    rows = []
    for question in questions:
        asyncio.run(app_round(user, question))  # warm-up: loads the embedder, fills caches
        app = [asyncio.run(app_round(user, question)) for _ in range(args.rounds)]
        base = bare_rounds(recording.messages, args.rounds, args.max_tokens)
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
            f"exactly {args.max_tokens} generated tokens per answer on both paths (end-of-turn tokens biased "
            "away, so the rate is measured over the same long run), median of {args.rounds} rounds after a warm-up, curated answers and "
            "the answer cache switched off so that every answer is generated. The app's TTFT "
            "includes retrieval (query embedding, BM25, FAISS, fusion) and prompt building; the bare "
            "run gets the app's final messages directly, in its own process. The app's tokens/s are "
            "measured inside the app as tokens leave the model, while the whole app runs.\n\n" + text,
        )


if __name__ == "__main__":
    main()
