"""The model server alone: many streams at once against llama.cpp's server, N slots each.

``bench/concurrency.py`` measures the whole app (websocket, retrieval, the generation line)
on this machine. This bench measures only the step that decides how many colleagues one
machine serves, the model server, so that it runs anywhere that server runs — a GPU machine
without the project's virtualenv included (standard library only). For each number of slots
it starts ``llama-server`` (the binary ``./kb`` builds, or a CUDA build of it), then 1, 4, 8,
16 clients send chat requests of the shape the app sends (a shared system prompt, ~500
tokens of passages that differ per request, a question) through the OpenAI-compatible
endpoint, each asking for exactly ``--max-tokens`` tokens (``ignore_eos``). Measured by the
clients:

  aggregate tokens/s   tokens generated for all clients / wall time of the round
  TTFT p50 / p95       from sending a request to its first token
  stream tokens/s      per answer, tokens after the first / time after the first; the median

    python3 bench/server_throughput.py --server PATH/llama-server --model MODEL.gguf
        [--slots 1,4,8] [--clients 1,4,8,16] [--requests 2] [--max-tokens 128]
        [--gpu-layers 99] [--json OUT.json] [--label "..."]
    .venv/bin/python bench/server_throughput.py --from-json OUT.json   # table into README.md

Speed does not depend on the weights' values: on a machine the real weights cannot reach,
``bench/same_shape_gguf.py`` makes a model of the same shape with random weights.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SYSTEM = (
    "You answer employees' questions using only the numbered sources below. Cite each fact "
    "with its source number in brackets, like [1]. If the sources do not answer the question, "
    "say so. Answer in the language of the question."
)
QUESTION = "Explain in detail, step by step, everything these sources say an employee must do."


def passages() -> list[str]:
    """Paragraphs of the starter knowledge base: real text of the kind the app sends."""
    paragraphs = []
    for path in sorted((ROOT / "knowledge").rglob("*.md")):
        paragraphs += [p.strip() for p in path.read_text(encoding="utf-8").split("\n\n") if len(p.strip()) > 80]
    return paragraphs


def prompt(i: int, paragraphs: list[str], words: int = 350) -> list[dict]:
    """The i-th request: the shared system prompt, then passages starting at a place of its own."""
    chosen, count, k = [], 0, (i * 7) % len(paragraphs)
    while count < words:
        text = paragraphs[k % len(paragraphs)]
        chosen.append(f"[{len(chosen) + 1}] {text}")
        count += len(text.split())
        k += 1
    return [
        {"role": "system", "content": SYSTEM + "\n\n" + "\n\n".join(chosen)},
        {"role": "user", "content": QUESTION},
    ]


def stream(url: str, messages: list[dict], max_tokens: int) -> dict:
    body = json.dumps({
        "messages": messages, "max_tokens": max_tokens, "ignore_eos": True, "temperature": 0.2,
        "stream": True, "stream_options": {"include_usage": True}, "cache_prompt": True,
    }).encode()
    request = urllib.request.Request(f"{url}/v1/chat/completions", data=body, headers={"Content-Type": "application/json"})
    sent = time.perf_counter()
    first = last = None
    tokens = usage = 0
    with urllib.request.urlopen(request, timeout=1800) as response:
        for raw in response:
            line = raw.decode().strip()
            if not line.startswith("data:") or line == "data: [DONE]":
                continue
            event = json.loads(line[5:])
            if event.get("usage"):
                usage = event["usage"].get("completion_tokens", 0)
            for choice in event.get("choices", []):
                if choice.get("delta", {}).get("content"):
                    now = time.perf_counter()
                    first = first or now
                    last = now
                    tokens += 1
    tokens = usage or tokens
    return {"ttft": (first or time.perf_counter()) - sent, "tokens": tokens,
            "stream_tps": (tokens - 1) / (last - first) if first and last and last > first else 0.0}


def round_of(url: str, clients: int, requests: int, max_tokens: int, paragraphs: list[str], offset: int) -> dict:
    results, lock = [], threading.Lock()

    def client(c: int):
        for r in range(requests):
            answer = stream(url, prompt(offset + c * requests + r, paragraphs), max_tokens)
            with lock:
                results.append(answer)

    threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    ttfts = sorted(a["ttft"] for a in results)
    return {
        "clients": clients, "answers": len(results), "tokens": sum(a["tokens"] for a in results),
        "aggregate_tps": sum(a["tokens"] for a in results) / wall,
        "ttft_p50": statistics.median(ttfts), "ttft_p95": ttfts[min(len(ttfts) - 1, round(0.95 * (len(ttfts) - 1)))],
        "stream_tps": statistics.median(a["stream_tps"] for a in results), "wall": wall,
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(binary: str, model: str, slots: int, context_per_slot: int, gpu_layers: int, extra: list[str]):
    port = free_port()
    command = [binary, "-m", model, "--host", "127.0.0.1", "--port", str(port), "-np", str(slots),
               "-c", str(slots * context_per_slot), "-ngl", str(gpu_layers), *extra]
    log = open(f"/tmp/llama-server-{slots}.log", "w")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"llama-server exited ({process.returncode}); see {log.name}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                if response.status == 200:
                    return process, url
        except OSError:
            pass
        time.sleep(0.5)
    process.kill()
    raise SystemExit("llama-server did not become healthy in 10 minutes")


def markdown(report: dict) -> str:
    lines = [
        f"{report['label']}; {report['max_tokens']} tokens per answer (`ignore_eos`), "
        f"{report['requests']} requests per client, prompts of ~{report['prompt_tokens']} tokens.",
        "",
        "| slots | clients | aggregate tok/s | vs 1 slot | TTFT p50 | TTFT p95 | vs 1 slot | stream tok/s (median) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    base = {r["clients"]: r for r in report["rounds"] if r["slots"] == 1}
    for r in report["rounds"]:
        b = base.get(r["clients"])
        ratio_tps = f"{r['aggregate_tps'] / b['aggregate_tps']:.2f}×" if b else ""
        ratio_ttft = f"{r['ttft_p95'] / b['ttft_p95']:.2f}×" if b and b["ttft_p95"] else ""
        lines.append(f"| {r['slots']} | {r['clients']} | {r['aggregate_tps']:.{0 if r['aggregate_tps'] >= 100 else 1}f} | {ratio_tps} | {r['ttft_p50']:.2f} s | "
                     f"{r['ttft_p95']:.2f} s | {ratio_ttft} | {r['stream_tps']:.{0 if r['stream_tps'] >= 100 else 1}f} |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--server", help="the llama-server binary")
    parser.add_argument("--model", help="the GGUF model")
    parser.add_argument("--slots", default="1,4,8")
    parser.add_argument("--clients", default="1,4,8,16")
    parser.add_argument("--requests", type=int, default=2, help="requests each client sends, one after the other")
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--context-per-slot", type=int, default=4096)
    parser.add_argument("--gpu-layers", type=int, default=0)
    parser.add_argument("--server-arg", action="append", default=[], help="passed on to llama-server (repeatable)")
    parser.add_argument("--label", default="", help="what ran: machine, build, model")
    parser.add_argument("--json", help="write the figures here")
    parser.add_argument("--from-json", help="only put the figures of an earlier run into README.md")
    args = parser.parse_args()

    if args.from_json:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from _readme import rewrite_section  # noqa: PLC0415 (needs the project, the run does not)

        report = json.loads(Path(args.from_json).read_text())
        rewrite_section("server-throughput", "### The model server alone: llama-server with N slots\n\n"
                        f"Command: `{report['command']}` · date: {report['date']} · {markdown(report)}")
        print(markdown(report))
        return

    paragraphs = passages()
    report = {
        "label": args.label or f"{os.cpu_count()} cores, {Path(args.model).name}, {args.gpu_layers} layers on the GPU",
        "max_tokens": args.max_tokens, "requests": args.requests,
        "prompt_tokens": round(len(" ".join(m["content"] for m in prompt(0, paragraphs)).split()) * 1.35),
        "command": shlex.join(["python3", "bench/server_throughput.py", *sys.argv[1:]]),
        "date": time.strftime("%Y-%m-%d"), "rounds": [],
    }
    offset = 0
    for slots in [int(s) for s in args.slots.split(",")]:
        process, url = serve(args.server, args.model, slots, args.context_per_slot, args.gpu_layers, args.server_arg)
        try:
            stream(url, prompt(10_000, paragraphs), 8)  # warm-up: first CUDA kernels, system-prompt cache
            for clients in [int(c) for c in args.clients.split(",")]:
                result = {"slots": slots, **round_of(url, clients, args.requests, args.max_tokens, paragraphs, offset)}
                offset += clients * args.requests
                report["rounds"].append(result)
                print(f"slots {slots:2} clients {clients:2}: {result['aggregate_tps']:7.1f} tok/s aggregate, "
                      f"TTFT p50 {result['ttft_p50']:.2f} s p95 {result['ttft_p95']:.2f} s, "
                      f"stream {result['stream_tps']:.1f} tok/s ({result['answers']} answers, {result['tokens']} tokens)",
                      flush=True)
        finally:
            process.terminate()
            process.wait(30)
    print()
    print(markdown(report))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
