"""A small process supervisor: the children of ``./kb start`` (the web process, the worker and,
with KB_LLM_PARALLEL > 1, llama.cpp's server), each restarted when it dies, none taking the
others down.

* Children start in order; a child with a ``ready`` check (llama-server's ``/health``) is
  waited for before the next one starts, so the app takes no traffic before the model server
  can answer (a child that is not ready in time, or dies three times while starting, is
  logged, and the rest start anyway: the app answers with passages until it is back).
* A child that exits while the supervisor runs is started again after a back-off: 1 s, then
  doubling up to ``max_backoff`` while it keeps dying within ``stable_after`` seconds of its
  start. Each exit and restart is a log line. The other children keep running, same pids.
* ``stop()`` (SIGINT / SIGTERM in ``run_until_signalled``) sends SIGTERM to every child, in
  reverse order, waits ``grace`` seconds, then SIGKILLs what is left.

Each child runs in a session of its own, so a Ctrl-C in the terminal reaches the supervisor
only (which stops the children itself, never restarting one that is being stopped), and gets
SIGTERM from the kernel if the supervisor dies (Linux ``PR_SET_PDEATHSIG``): no orphans.

Needs neither Django nor the rest of kbassist.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

log = logging.getLogger("kbassist.supervise")
PR_SET_PDEATHSIG = 1


@dataclass
class Child:
    """One supervised process: ``argv`` run with ``env`` (None: the supervisor's own)."""

    name: str
    argv: list[str]
    env: dict[str, str] | None = None
    ready: Callable[[], bool] | None = None  # true once the child can take work (checked after each start)
    ready_timeout: float = 300.0
    stdout: object = None  # a file for its output (None: the supervisor's)
    # state, kept by the supervisor
    process: subprocess.Popen | None = field(default=None, repr=False)
    started_at: float = 0.0
    failures: int = 0  # quick deaths in a row
    restart_at: float | None = None
    restarts: int = 0

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None and self.process.poll() is None else None


def _own_session_and_parent_death_signal():
    """In the child, before exec: a session of its own (no terminal signals) and SIGTERM when
    the supervisor dies."""
    os.setsid()
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # not Linux: children outlive a killed supervisor
        pass


def describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with status {code}"


class Supervisor:
    def __init__(self, children: list[Child], *, backoff: float = 1.0, max_backoff: float = 30.0,
                 stable_after: float = 30.0, grace: float = 15.0, poll: float = 0.2,
                 say: Callable[[str], None] | None = None):
        names = [c.name for c in children]
        if len(set(names)) != len(names):
            raise ValueError(f"two children have the same name: {names}")
        self.children = children
        self.backoff, self.max_backoff, self.stable_after = backoff, max_backoff, stable_after
        self.grace, self.poll = grace, poll
        self.say = say or log.warning
        self._stopping = threading.Event()
        self._stopped = threading.Event()

    def child(self, name: str) -> Child:
        return next(c for c in self.children if c.name == name)

    # --- running -----------------------------------------------------------------------------------
    def run(self):
        """Start the children in order, then keep them running until ``stop()``; returns once
        every child has ended."""
        try:
            for child in self.children:
                if self._stopping.is_set():
                    break
                self._start(child)
                self._wait_ready(child)
            while not self._stopping.wait(self.poll):
                self._tend()
        finally:
            self._terminate_all()
            self._stopped.set()

    def stop(self):
        """Ask ``run()`` to stop every child (safe from a signal handler or another thread)."""
        self._stopping.set()

    def wait_stopped(self, timeout: float | None = None) -> bool:
        return self._stopped.wait(timeout)

    def _start(self, child: Child):
        child.process = subprocess.Popen(child.argv, env=child.env, stdout=child.stdout,
                                         stderr=subprocess.STDOUT if child.stdout is not None else None,
                                         preexec_fn=_own_session_and_parent_death_signal)
        child.started_at = time.monotonic()
        child.restart_at = None

    def _wait_ready(self, child: Child):
        if child.ready is None:
            return
        deadline = time.monotonic() + child.ready_timeout
        while not self._stopping.is_set():
            if child.ready():
                self.say(f"{child.name} is ready (pid {child.process.pid})")
                return
            if child.process.poll() is not None:  # died while starting: the restart loop takes over
                self._tend()
            if child.failures >= 3:
                self.say(f"{child.name} keeps dying while it starts; starting the rest anyway (it is still restarted)")
                return
            if time.monotonic() > deadline:
                self.say(f"{child.name} was not ready within {child.ready_timeout:.0f} s; starting the rest anyway")
                return
            self._stopping.wait(self.poll)

    def _tend(self):
        """Notice children that died and start again those whose back-off is over."""
        now = time.monotonic()
        for child in self.children:
            if child.process is None:
                continue
            if child.restart_at is None and (code := child.process.poll()) is not None:
                lived = now - child.started_at
                child.failures = child.failures + 1 if lived < self.stable_after else 1
                delay = min(self.max_backoff, self.backoff * 2 ** (child.failures - 1))
                child.restart_at = now + delay
                self.say(f"{child.name} (pid {child.process.pid}) {describe_exit(code)} after {lived:.0f} s; "
                         f"restarting it in {delay:g} s")
            elif child.restart_at is not None and now >= child.restart_at and not self._stopping.is_set():
                self._start(child)
                child.restarts += 1
                self.say(f"{child.name} restarted (pid {child.process.pid})")

    def _terminate_all(self):
        running = [c for c in reversed(self.children) if c.process is not None and c.process.poll() is None]
        for child in running:
            try:
                child.process.terminate()
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + self.grace
        for child in running:
            try:
                child.process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.say(f"{child.name} did not stop within {self.grace:.0f} s: killing it")
                child.process.kill()
                child.process.wait()


def run_until_signalled(supervisor: Supervisor) -> int:
    """Run ``supervisor`` in this (main) thread until SIGINT or SIGTERM; 0 once all stopped."""

    def on_signal(signum, frame):
        if not supervisor._stopping.is_set():
            supervisor.say(f"{signal.Signals(signum).name}: stopping every process")
        supervisor.stop()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    supervisor.run()
    return 0


def say_to_stderr(text: str):
    """A log line in ``./kb``'s style."""
    print(f"\033[1m[kb]\033[0m {text}", file=sys.stderr, flush=True)
