"""Wait until a web process is ready: ``python -m kbassist.health.wait URL [--timeout S]``.

Polls ``URL/readyz`` once a second until it answers 200 (Daphne opens its port only after its
warm-up, kbassist/health/warmup.py) and says which checks it is still waiting for as they
change. Exit status 0 when ready, 1 when the time ran out (the failing checks are printed).
``./kb start`` runs it before it says "running". Needs no Django.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.error
import urllib.request


def readiness(url: str) -> tuple[bool, dict]:
    """(ready, checks) from ``url/readyz``; checks is {} while the port does not answer."""
    try:
        with urllib.request.urlopen(url.rstrip("/") + "/readyz", timeout=10) as response:
            return True, json.loads(response.read()).get("checks", {})
    except urllib.error.HTTPError as refused:
        try:
            return False, json.loads(refused.read()).get("checks", {})
        except ValueError:
            return False, {}
    except (OSError, ValueError):
        return False, {}


def failing(checks: dict) -> list[str]:
    return [f"{name}: {check.get('reason', '')}" for name, check in checks.items() if not check.get("ok")]


def wait_ready(url: str, timeout: float, interval: float = 1.0, say=print) -> bool:
    deadline = time.monotonic() + timeout
    last = None
    while True:
        ready, checks = readiness(url)
        if ready:
            return True
        waiting = failing(checks) if checks else ["the web process to open its port (it loads its models and answers one warm-up query first)"]
        if waiting != last:
            say("waiting for " + "; ".join(waiting))
            last = waiting
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("url", help="the web process, e.g. http://127.0.0.1:8000")
    parser.add_argument("--timeout", type=float, default=600, help="seconds to wait (default 600)")
    args = parser.parse_args(argv)

    def say(line):
        print(f"[kb] {line}", file=sys.stderr, flush=True)

    if wait_ready(args.url, args.timeout, say=say):
        return 0
    say(f"not ready after {args.timeout:.0f} s")
    return 1


if __name__ == "__main__":
    sys.exit(main())
