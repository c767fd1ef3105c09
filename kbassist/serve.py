"""The processes of ``./kb start``, under one supervisor (``kbassist.supervise``):

  llama-server  only when KB_LLM_SERVER (KB_LLM_PARALLEL > 1, or a draft model): the chat model
                with N parallel slots on loopback; started first, and the web process starts
                once its /health says the model is loaded. Its log: DATA_DIR/llama-server.log
  worker        the Celery worker, with beat (the periodic tasks)
  web           Daphne: pages, the API and the chat websocket

A child that dies is started again (with a back-off, and a log line) while the others keep
running; Ctrl-C or SIGTERM stops them all.

    python -m kbassist.serve [--host 127.0.0.1] [--port 8000]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from kbassist.supervise import Child, Supervisor, run_until_signalled, say_to_stderr


def children(host: str, port: int) -> list[Child]:
    """The children for these settings, in the order they start."""
    from django.conf import settings

    from kbassist.llm import server

    python = sys.executable
    out: list[Child] = []
    if settings.KB_LLM_SERVER:
        if settings.KB_LLM_DRAFT_MODEL:
            _prepare_bundled(settings.KB_LLM_DRAFT_MODEL, settings.MODELS_DIR)
        log = open(Path(settings.DATA_DIR) / "llama-server.log", "ab")
        out.append(Child("llama-server", server.command_from_settings(), ready=server.healthy, ready_timeout=600,
                         stdout=log))
    schedule = str(Path(settings.DATA_DIR) / "celerybeat-schedule")
    out.append(Child("worker", [python, "-m", "celery", "-A", "kbassist", "worker", "--loglevel=INFO", "--pool=threads",
                                f"--concurrency={os.environ.get('KB_WORKER_CONCURRENCY', '2')}", "--without-gossip",
                                "--without-mingle", "--beat", f"--schedule={schedule}"]))
    out.append(Child("web", [python, "-m", "daphne", "-b", host, "-p", str(port), "kbassist.asgi:application"]))
    return out


def _prepare_bundled(name: str, models_dir):
    """A draft model named like a bundled chat model is assembled (and checked) first."""
    from kbassist.llm.bundled import CHAT_MODELS, prepare

    if name in CHAT_MODELS:
        prepare(name, Path(models_dir))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kbassist.serve", description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default=os.environ.get("KB_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("KB_PORT", "8000")))
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kbassist.settings")
    import django

    django.setup()
    from kbassist.llm.base import GenerationError

    try:
        supervisor = Supervisor(children(args.host, args.port), say=say_to_stderr)
    except GenerationError as exc:  # llama-server or a model file is missing
        say_to_stderr(str(exc))
        return 1
    return run_until_signalled(supervisor)


if __name__ == "__main__":
    sys.exit(main())
