"""Faults lose nothing: a worker SIGKILLed in the middle of a long PDF, and a web process
SIGKILLed in the middle of an answer. Real processes, killed for real, on loopback."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from kbassist.knowledge.models import Chunk, Document
from kbassist.retrieval.store import collection_dir, current_version, load_version

from tests.conftest import running_worker, wait_until
from tests.e2e.test_browser import browser  # noqa: F401 - the fixture: Debian's Chromium through Playwright

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

PAGES = 200


def make_pdf(path: Path, pages: int):
    """A ``pages``-page PDF, one short paragraph a page, each naming its page."""
    from fpdf import FPDF

    pdf = FPDF(format=(105, 148))  # A6: small pages, quick to parse
    pdf.set_font("Helvetica", size=9)
    for number in range(1, pages + 1):
        pdf.add_page()
        pdf.multi_cell(0, 5, f"Rule {number}. Expense claims of kind {number} are approved by the team lead "
                             f"within {number % 9 + 1} days and paid with the salary of the month after.")
    pdf.output(str(path))


def test_a_worker_killed_mid_pdf_is_replaced_and_the_document_ends_ready_with_each_chunk_once(
    public_collection, make_document, tmp_path, monkeypatch
):
    from kbassist.ingestion.importing import queue_ingestion

    monkeypatch.setenv("KB_INGEST_HEARTBEAT_SECONDS", "0.5")
    monkeypatch.setenv("KB_INGEST_STALE_SECONDS", "3")
    monkeypatch.setenv("KB_WATCHDOG_SECONDS", "1")
    make_pdf(tmp_path / "expenses.pdf", PAGES)
    document = make_document(public_collection, "expenses.pdf", (tmp_path / "expenses.pdf").read_bytes(), ingest=False)
    state = lambda: Document.objects.get(pk=document.pk)  # noqa: E731

    with running_worker(concurrency=1) as first:
        queue_ingestion(document)
        wait_until(lambda: state().progress >= 10, timeout=180, what="the first worker to be half-way through the PDF")
        os.kill(first.pid, signal.SIGKILL)
        first.wait(10)
    killed = state()
    assert killed.status == "processing" and killed.progress < 100, "the worker finished before it was killed"

    with running_worker(concurrency=1, beat=True):  # the beat runs the watchdog
        wait_until(lambda: state().status in ("ready", "failed"), timeout=300, what="the second worker to finish the PDF")
    document = state()
    assert document.status == "ready", document.error
    assert document.attempts == 2 and document.page_count == PAGES

    # Each chunk exactly once in the database...
    chunks = list(Chunk.objects.filter(document=document).order_by("position"))
    assert [c.position for c in chunks] == list(range(len(chunks))) == list(range(document.chunk_count))
    assert chunks[0].page == 1 and chunks[-1].page == PAGES
    # ...and in both indexes (BM25 and FAISS): one row per chunk, no id twice.
    folder = collection_dir(public_collection.pk)
    index = load_version(folder, current_version(folder))
    ids = index.chunk_ids.tolist()
    assert sorted(ids) == sorted(c.pk for c in chunks) and len(set(ids)) == len(ids)
    assert len(index.bm25) == len(index.dense) == len(ids)


# --- a web process killed mid-answer --------------------------------------------------------------
def daphne(port: int, log_name: str, **env):
    """This app in a real Daphne process on ``port`` (test database, test settings), until the
    block ends; yields the process (a test may kill it)."""
    import sys

    from django.conf import settings

    from tests.conftest import running_server

    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "KB_DATA_DIR": str(settings.DATA_DIR),
        "DATABASE_URL": f"sqlite:///{settings.DATABASES['default']['NAME']}",
        "KB_CELERY_EAGER": "1",
        **env,
    }
    command = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "kbassist.asgi:application"]
    log = open(Path(settings.DATA_DIR) / log_name, "ab")
    return running_server(command, f"http://127.0.0.1:{port}/accounts/login/", env=environment, log=log, what="Daphne",
                          timeout=180)  # it warms up (loads the embedder) before it opens its port


@pytest.mark.browser
def test_an_answer_streaming_when_daphne_is_killed_is_kept_as_interrupted_and_the_page_shows_it_by_itself(handbook, employee, browser):
    from kbassist.chat.models import Message

    from tests.conftest import free_port
    from tests.e2e.model_server import scripted_model

    port = free_port()
    with scripted_model(" ".join(f"word{i}" for i in range(200)), delay=0.1) as model_url:  # a slow model
        env = {"KB_LLM_BACKEND": "openai", "KB_OPENAI_BASE_URL": model_url, "KB_STREAM_SAVE_SECONDS": "0.2"}
        with daphne(port, "daphne-browser-killed.log", **env) as web:
            page = browser.new_page()
            page.set_default_timeout(90_000)
            page.goto(f"http://127.0.0.1:{port}/")
            page.fill("input[name=username]", "erin")
            page.fill("input[name=password]", "pw-erin")
            page.click("button[type=submit]")
            page.wait_for_selector("body[data-chat-ready]")
            page.fill("#question", "How many vacation days do full-time staff get?")
            page.press("#question", "Enter")
            page.wait_for_function("() => (document.querySelector('.msg.assistant.streaming .body') || {}).textContent?.includes('word5')")
            saved = lambda: Message.objects.filter(role="assistant").first()  # noqa: E731
            wait_until(lambda: "word5" in getattr(saved(), "content", ""), timeout=10,
                       what="the partial answer to be saved as it streams")
            web.kill()  # SIGKILL, mid-answer
            web.wait(10)
        partial = saved().content
        assert saved().status == "streaming" and "word5" in partial  # kept, though nobody finished it

        with daphne(port, "daphne-browser-restarted.log", **env):  # the restarted web process sweeps it up
            # No click: the page reconnects, and reloads the conversation as the server kept it.
            shown = page.wait_for_selector(".msg.assistant.interrupted")
            assert "word5" in shown.inner_text() and "interrupted" in shown.inner_text()
        message = saved()
        assert message.status == "interrupted" and message.content == partial
        assert message.conversation.messages.first().content == "How many vacation days do full-time staff get?"
