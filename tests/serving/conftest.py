"""llama.cpp's server for the serving tests: the binary ``./kb`` builds (KB_LLAMA_SERVER, else the
one in the build cache), run under the real supervisor with SmolLM2 on a loopback port."""

import os
import threading
from pathlib import Path

import pytest
from django.conf import settings

from tests.conftest import free_port, wait_until


def llama_server_binary() -> str:
    """KB_LLAMA_SERVER, else the newest build in ``./kb``'s cache; a missing one skips the test,
    or fails it where servers are required (CI: KB_REQUIRE_SERVERS=1)."""
    from kbassist.llm.server import built

    path = settings.KB_LLAMA_SERVER or built()
    if not path or not Path(path).is_file():
        message = "llama-server is not built: ./kb test builds it (or set KB_LLAMA_SERVER)"
        if os.environ.get("KB_REQUIRE_SERVERS") == "1":
            pytest.fail(message + " (KB_REQUIRE_SERVERS=1)")
        pytest.skip(message)
    return path


@pytest.fixture(scope="module")
def llama_server():
    """A supervised llama-server with SmolLM2 and two slots: ``(supervisor, port)``."""
    from kbassist.llm import server
    from kbassist.llm.bundled import smollm2_path
    from kbassist.supervise import Child, Supervisor

    port = free_port()
    argv = server.command(llama_server_binary(), str(smollm2_path()), port=port, parallel=2, context_per_slot=1024,
                          threads=os.cpu_count() or 2, alias="smollm2")
    log = open(Path(settings.DATA_DIR) / "llama-server.log", "ab")
    url = server.base_url(port)
    supervisor = Supervisor([Child("llama-server", argv, ready=lambda: server.healthy(url), stdout=log)], backoff=0.5)
    supervisor.lines = []
    supervisor.say = supervisor.lines.append
    threading.Thread(target=supervisor.run, daemon=True).start()
    try:
        wait_until(lambda: server.healthy(url), timeout=120, what="llama-server")
        yield supervisor, port
    finally:
        supervisor.stop()
        supervisor.wait_stopped(30)
        log.close()
