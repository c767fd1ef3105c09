"""End to end in a real headless Chromium (Debian's, driven by Playwright; nothing downloaded).

A real Daphne process serves the app on a loopback port, on the test database, with the real
embedder and the real SmolLM2 model; the browser logs in, asks, watches tokens arrive, opens
a citation, stops a long answer, gives a thumbs-down, and checks that a script planted in a
document never runs.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kbassist.chat.models import Feedback, Message

from tests.conftest import running_app, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
CHROMIUM = "/usr/bin/chromium"

XSS = (
    "# Badge printing policy\n\nVisitor badges are printed at reception. "
    '<img src=x onerror="window.__xss = 1"> <script>window.__xss = 2</script> '
    "Lost badges must be reported to security within one day.\n"
)


@pytest.fixture
def server(transactional_db):
    from kbassist.llm.bundled import smollm2_path

    with running_app("/accounts/login/", "daphne.log", KB_LLM_MODEL_PATH=str(smollm2_path()),
                     KB_LLM_CONTEXT="2048", KB_LLM_MAX_TOKENS="400") as url:
        yield url


@pytest.fixture
def browser(monkeypatch):
    # Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
    # around it are still plain synchronous calls.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "1")
    if not Path(CHROMIUM).exists():
        if os.environ.get("KB_REQUIRE_SERVERS") == "1":
            pytest.fail("Chromium is not installed (apt-get install chromium)")
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--no-first-run", "--disable-sync"],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(server, browser, employee, handbook, public_collection, make_document):
    make_document(public_collection, "badges.md", XSS)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(90_000)  # a shared 2-core CI machine can be slow; nothing here waits on purpose
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(server + "/")
    page.fill("input[name=username]", "erin")
    page.fill("input[name=password]", "pw-erin")
    page.click("button[type=submit]")
    page.wait_for_selector("body[data-chat-ready]")  # chat.js has run, not just the HTML arrived
    # Record, while an answer streams, how much text it shows: proof that tokens arrive early.
    page.evaluate(
        """() => {
          window.__partial = [];
          new MutationObserver(() => {
            const b = document.querySelector('.msg.assistant.streaming .body');
            if (b && b.textContent.length) window.__partial.push(b.textContent.length);
          }).observe(document.getElementById('messages'), {subtree: true, childList: true, characterData: true});
        }"""
    )
    yield page
    assert not errors, errors


def ask(page, question):
    before = page.locator(".msg.assistant").count()
    page.fill("#question", question)
    page.keyboard.press("Enter")
    page.wait_for_function(f"document.querySelectorAll('.msg.assistant').length > {before}")
    return page.locator(".msg.assistant").nth(before)


def wait_done(answer):
    answer.page.wait_for_function(
        "(el) => !el.classList.contains('streaming')", arg=answer.element_handle(), timeout=120_000
    )


def test_ask_see_tokens_stream_and_open_a_citation(page):
    answer = ask(page, "How many vacation days do I get?")
    wait_done(answer)
    final = answer.locator(".body").inner_text()
    partial = page.evaluate("window.__partial")
    assert partial and min(partial) < len(final), "text appeared before the answer was complete"
    assert len(set(partial)) > 2, "the answer grew in several steps"
    # The answer cites the vacation section; its [n] marker opens that source's passage.
    cite = answer.locator("a.cite-link").first
    assert cite.count() == 1, "the answer has a citation marker: " + final
    source = answer.locator(f'.source[data-source="{cite.get_attribute("data-cite")}"]')
    passage = source.locator(".passage")
    assert "Leave" in source.locator(".source-title").inner_text() and passage.is_hidden()
    cite.click()
    passage.wait_for(state="visible")
    assert source.locator(".source-title").get_attribute("aria-expanded") == "true"
    assert "28 vacation days" in passage.inner_text()
    assert "/documents/" in source.locator("a.open-source").get_attribute("href")


def test_stop_a_long_answer(page):
    answer = ask(page, "Tell me everything about vacation days and part-time staff, in great detail.")
    page.wait_for_function("window.__partial.length > 0", timeout=60_000)
    page.click("#stop")
    wait_done(answer)
    assert answer.locator(".note").inner_text() == "(stopped)"
    message = Message.objects.filter(role="assistant").latest("id")
    assert message.status == "stopped" and message.timings["tokens"] < 400


def test_thumbs_down_with_a_comment(page):
    answer = ask(page, "How many vacation days do I get?")
    wait_done(answer)
    answer.locator(".thumb.down").click()
    answer.locator(".comment input").fill("It should mention part-time staff")
    answer.locator(".comment button").click()
    # The thumb is recorded at once; the comment follows with the second request.
    wait_until(lambda: Feedback.objects.filter(comment="It should mention part-time staff").exists(), timeout=20, what="the comment")
    feedback = Feedback.objects.get()
    assert feedback.helpful is False and feedback.message.role == "assistant"
    assert answer.locator(".thumb.down.chosen").count() == 1


def test_script_in_a_document_is_shown_as_text_and_never_runs(page):
    answer = ask(page, "What is the visitor badge printing policy?")
    wait_done(answer)
    item = answer.locator(".source", has_text="Badge printing policy").first
    item.locator(".source-title").click()
    passage = item.locator(".passage-text")
    passage.wait_for(state="visible")
    assert '<img src=x onerror="window.__xss = 1">' in passage.inner_text()
    assert "<script>" in passage.inner_text()
    # An onerror handler runs once its image has failed to load: wait until every image on
    # the page has loaded or failed, then nothing planted may have run.
    page.wait_for_function("Array.from(document.images).every((img) => img.complete)")
    assert page.evaluate("window.__xss") is None
    assert page.locator(".msg img").count() == 0 and page.locator(".msg script").count() == 0
