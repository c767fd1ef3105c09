"""End to end in a real headless Chromium (Debian's, driven by Playwright; nothing downloaded).

A real Daphne process serves the app on a loopback port, on the test database, with the real
embedder and the real SmolLM2 model; the browser logs in, asks, watches tokens arrive, opens
a citation and stops a long answer. Where the model is not the point (a thumbs-down; a script
planted in a document, and in the model's answer, never runs) a second Daphne answers with a
scripted OpenAI-compatible model (``tests/e2e/model_server.py``): the answer comes in a second.
One Chromium, and one Daphne of each kind, serve all the tests of the module.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

import pytest

from kbassist.chat.models import Feedback, Message

from tests.conftest import running_app, wait_until
from tests.e2e.model_server import scripted_model

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
CHROMIUM = "/usr/bin/chromium"

XSS = (
    "# Badge printing policy\n\nVisitor badges are printed at reception. "
    '<img src=x onerror="window.__xss = 1"> <script>window.__xss = 2</script> '
    "Lost badges must be reported to security within one day.\n"
)
# The scripted model repeats the planted markup in its answer: the answer is shown as text too.
SCRIPTED_REPLY = ('Visitor badges are printed at reception. <img src=x onerror="window.__xss = 3"> '
                  "<script>window.__xss = 4</script> Lost badges must be reported to security within one day.")


@pytest.fixture(scope="module")
def server(django_db_setup, django_db_blocker):
    """One Daphne (and one load of the model) for all the tests of a module: each test brings
    its own users and documents, and the test database is emptied after each."""
    from kbassist.llm.bundled import smollm2_path

    with running_app("/accounts/login/", "daphne.log", KB_LLM_MODEL_PATH=str(smollm2_path()),
                     KB_LLM_CONTEXT="2048", KB_LLM_MAX_TOKENS="400") as url:
        yield url


@pytest.fixture(scope="module")
def scripted_server(django_db_setup, django_db_blocker):
    """Daphne whose model is the scripted server: for the tests about the page, not the model."""
    with scripted_model(SCRIPTED_REPLY) as model_url, running_app(
        "/accounts/login/", "daphne-scripted.log", KB_LLM_BACKEND="openai", KB_OPENAI_BASE_URL=model_url,
        KB_TRANSLATE_QUERIES="false",
    ) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    """One Chromium for all the tests of a module; each test opens its own page (and cookies)."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("KB_REQUIRE_SERVERS") == "1":
            pytest.fail("Chromium is not installed (apt-get install chromium)")
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
    # around it are still plain synchronous calls.
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as p:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "1")
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--no-first-run", "--disable-sync"],
        )
        yield browser
        browser.close()


@contextmanager
def chat_page(browser, url):
    """The chat page of ``url``, signed in as erin, recording how the streamed answer grows."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})  # signed out: its own cookies
    page = context.new_page()
    page.set_default_timeout(90_000)  # a shared 2-core CI machine can be slow; nothing here waits on purpose
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(url + "/")
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
    context.close()
    assert not errors, errors


@pytest.fixture
def page(server, browser, employee, handbook, public_collection, make_document):
    """The chat, answered by the real model."""
    make_document(public_collection, "badges.md", XSS)
    with chat_page(browser, server) as page:
        yield page


@pytest.fixture
def scripted_page(scripted_server, browser, employee, handbook, public_collection, make_document):
    """The chat, answered by the scripted model."""
    make_document(public_collection, "badges.md", XSS)
    with chat_page(browser, scripted_server) as page:
        yield page


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


def test_thumbs_down_with_a_comment(scripted_page):
    page = scripted_page
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


def test_script_in_a_document_or_the_answer_is_shown_as_text_and_never_runs(scripted_page):
    page = scripted_page
    page.evaluate("""() => {
      window.__planted = false;  // the model's planted markup, seen as text while it streams
      new MutationObserver(() => {
        const b = document.querySelector('.msg.assistant.streaming .body');
        if (b && b.textContent.includes('onerror="window.__xss = 3"')) window.__planted = true;
      }).observe(document.getElementById('messages'), {subtree: true, childList: true, characterData: true});
    }""")
    answer = ask(page, "What is the visitor badge printing policy?")
    wait_done(answer)
    assert page.evaluate("window.__planted"), "the answer's markup arrived, as text"
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
