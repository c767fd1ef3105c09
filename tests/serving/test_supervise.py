"""The supervisor of ``./kb start``: real child processes, killed for real."""

import os
import signal
import subprocess
import sys
import textwrap
import threading

import pytest

from kbassist.supervise import Child, Supervisor
from tests.conftest import ROOT, wait_until

SLEEPER = [sys.executable, "-c", "import time; time.sleep(600)"]


def alive(pid) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie (dead, not yet reaped) counts as gone
    with open(f"/proc/{pid}/stat") as fh:
        return fh.read().split(")")[-1].split()[0] != "Z"


@pytest.fixture
def supervised():
    """``supervised(children, **options)``: a Supervisor running in a thread; stopped after the test."""
    running = []

    def start(children, **options):
        lines = []
        supervisor = Supervisor(children, say=lines.append, **options)
        supervisor.lines = lines
        threading.Thread(target=supervisor.run, daemon=True).start()
        running.append(supervisor)
        return supervisor

    yield start
    for supervisor in running:
        supervisor.stop()
        assert supervisor.wait_stopped(30)


def test_a_killed_child_is_restarted_and_the_others_keep_running(supervised):
    supervisor = supervised([Child("llama-server", SLEEPER), Child("worker", SLEEPER), Child("web", SLEEPER)],
                            backoff=0.1)
    wait_until(lambda: all(c.pid for c in supervisor.children), timeout=10, what="three children")
    before = {c.name: c.pid for c in supervisor.children}
    os.kill(before["worker"], signal.SIGKILL)
    wait_until(lambda: supervisor.child("worker").pid not in (None, before["worker"]), timeout=10, what="a new worker")
    assert supervisor.child("web").pid == before["web"] and supervisor.child("llama-server").pid == before["llama-server"]
    assert alive(before["web"]) and alive(before["llama-server"]) and not alive(before["worker"])
    assert any(f"worker (pid {before['worker']}) killed by SIGKILL" in line for line in supervisor.lines)
    assert any(line.startswith("worker restarted (pid ") for line in supervisor.lines)
    pids = [c.pid for c in supervisor.children]
    supervisor.stop()
    assert supervisor.wait_stopped(30)
    assert not any(alive(pid) for pid in pids)  # stopping stops every child


def test_a_child_that_keeps_dying_is_restarted_with_a_growing_back_off(supervised):
    supervisor = supervised([Child("flaky", [sys.executable, "-c", "raise SystemExit(3)"]), Child("web", SLEEPER)],
                            backoff=0.1, max_backoff=0.4)
    wait_until(lambda: supervisor.child("flaky").restarts >= 4, timeout=20, what="four restarts")
    delays = [line.split("restarting it in ")[1] for line in supervisor.lines if "restarting it in" in line]
    assert delays[:4] == ["0.1 s", "0.2 s", "0.4 s", "0.4 s"]  # doubling, up to the ceiling
    assert all("flaky" in line and "exited with status 3" in line for line in supervisor.lines if "restarting" in line)
    assert supervisor.child("web").restarts == 0


def test_the_next_child_starts_only_once_the_one_before_is_ready(supervised, tmp_path):
    flag = tmp_path / "loaded"
    supervisor = supervised([Child("llama-server", SLEEPER, ready=flag.exists), Child("web", SLEEPER)])
    wait_until(lambda: supervisor.child("llama-server").pid, timeout=10, what="llama-server")
    assert not wait_for(lambda: supervisor.child("web").pid, 1.0)  # still loading its model: no web process
    flag.touch()
    wait_until(lambda: supervisor.child("web").pid, timeout=10, what="the web process")
    assert "llama-server is ready" in supervisor.lines[0]


def wait_for(predicate, seconds) -> bool:
    try:
        wait_until(predicate, timeout=seconds)
        return True
    except AssertionError:
        return False


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_sigterm_or_ctrl_c_stops_the_supervisor_and_every_child(tmp_path, signum):
    """As ``./kb start`` runs it: a process of its own; SIGINT is what Ctrl-C sends."""
    pids = tmp_path / "pids"
    script = textwrap.dedent(f"""
        import sys, threading
        from kbassist.supervise import Child, Supervisor, run_until_signalled
        sleeper = {SLEEPER!r}
        supervisor = Supervisor([Child("worker", sleeper), Child("web", sleeper)], say=print)
        def note():
            import time
            while not all(c.pid for c in supervisor.children):
                time.sleep(0.05)
            open({str(pids)!r}, "w").write(" ".join(str(c.pid) for c in supervisor.children))
        threading.Thread(target=note, daemon=True).start()
        sys.exit(run_until_signalled(supervisor))
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        wait_until(pids.exists, timeout=20, what="the children's pids")
        children = [int(pid) for pid in pids.read_text().split()]
        assert all(alive(pid) for pid in children)
        # the children run in sessions of their own: a Ctrl-C in the terminal reaches the supervisor only
        assert all(os.getsid(pid) == pid for pid in children)
        proc.send_signal(signum)
        assert proc.wait(30) == 0
        assert not any(alive(pid) for pid in children)
        assert f"{signal.Signals(signum).name}: stopping every process" in proc.stdout.read()
    finally:
        if proc.poll() is None:
            proc.kill()


def test_a_child_that_dies_while_starting_does_not_keep_the_others_from_starting(supervised):
    supervisor = supervised([Child("llama-server", [sys.executable, "-c", "raise SystemExit(1)"], ready=lambda: False),
                             Child("web", SLEEPER)], backoff=0.05)
    wait_until(lambda: supervisor.child("web").pid, timeout=20, what="the web process")
    assert any("llama-server keeps dying while it starts" in line for line in supervisor.lines)
