"""The embeddable widget in a real headless Chromium (Debian's): an intranet page served by a
plain static http server on *another* loopback port embeds the widget with its script tag and
a widget key; the visitor opens the bubble, asks, watches the answer stream in, and opens the
cited passage. The same page served from an origin the key does not list gets nothing: the
browser refuses to frame the widget (CSP frame-ancestors), so no bubble appears, and a direct
call from that page is refused too. Without a key, a visitor signed in here asks as themselves
from a page of the same site (another port of 127.0.0.1): the session cookie goes with the frame.

The app is a real Daphne process; the model is a scripted OpenAI-compatible server
(``tests/e2e/model_server.py``) reached through the app's real ``openai`` backend, so the
answer comes fast and known. With KB_SCREENSHOTS=DIR the widget is saved there as widget.png
(the README's picture: ``KB_SCREENSHOTS=docs``)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from django.contrib.auth.models import User

from kbassist.api.models import WidgetKey
from kbassist.chat.models import Conversation
from tests.conftest import free_port, running_app, running_server, wait_until
from tests.e2e.model_server import scripted_model
from tests.e2e.test_browser import browser  # noqa: F401  (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
REPLY = "Full-time staff get 28 vacation days per year."

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Northwind intranet</title>
<style>body {{ font: 16px/1.5 system-ui, sans-serif; margin: 0; background: #f4f6f8; }}
header {{ background: #24292f; color: #fff; padding: 14px 28px; font-weight: 600; }}
main {{ max-width: 720px; padding: 8px 28px; }} .card {{ background: #fff; border-radius: 8px; padding: 6px 18px; margin: 16px 0; }}</style>
</head><body>
<header>Northwind Labs · Intranet</header>
<main><h1>People &amp; HR</h1>
<div class="card"><h2>Holidays and leave</h2><p>Plan your time off early and tell your team. Questions? Ask the knowledge base: the button at the bottom right.</p></div>
<div class="card"><h2>Benefits</h2><p>Health insurance, the pension plan and the bike scheme are described in the handbook.</p></div>
</main>
<script src="{server}/static/kbassist/widget.js" data-key="{key}" data-collection="handbook" data-lang="en" defer></script>
</body></html>
"""


@pytest.fixture(scope="module")
def ports():
    """The loopback ports of the intranet page: the first is allowed, the second is not."""
    return free_port(), free_port()


@pytest.fixture(scope="module")
def app(django_db_setup, django_db_blocker, ports):
    with scripted_model(REPLY) as model_url, running_app(
        "/widget/frame", "daphne-widget.log", KB_LLM_BACKEND="openai", KB_OPENAI_BASE_URL=model_url,
        KB_TRANSLATE_QUERIES="false", KB_WIDGET_ORIGINS=f"http://127.0.0.1:{ports[0]}",
    ) as url:
        yield url


def static_site(folder: Path, port: int):
    """A plain static http server for ``folder`` on a loopback port (another origin than the app's)."""
    command = [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(folder)]
    return running_server(command, f"http://127.0.0.1:{port}/portal.html", what="static http server")


@pytest.fixture
def sites(app, ports, tmp_path, handbook):
    """Two copies of the intranet page on two loopback ports; the key allows only the first.
    ``portal.html`` embeds the widget with the key, ``signed-in.html`` without one."""
    allowed, other = (f"http://127.0.0.1:{port}" for port in ports)
    key = WidgetKey.objects.create(name="portal", user=User.objects.create_user("portal-bot"), allowed_origins=allowed)
    key.collections.add(handbook.collection)
    (tmp_path / "portal.html").write_text(PAGE.format(server=app, key=key.key), encoding="utf-8")
    (tmp_path / "signed-in.html").write_text(PAGE.format(server=app, key="").replace(' data-key=""', ""), encoding="utf-8")
    with static_site(tmp_path, ports[0]), static_site(tmp_path, ports[1]):
        yield allowed, other


def widget_frame(page):
    wait_until(lambda: any("/widget/frame" in f.url for f in page.frames), timeout=30, what="the widget's frame")
    return next(f for f in page.frames if "/widget/frame" in f.url)


def open_and_ask(page, url, question):
    """Open ``url``, the widget's bubble, ask ``question``; the frame and the finished answer."""
    page.goto(url)
    bubble = page.locator("#kbassist-widget .bubble")  # Playwright's CSS reaches into the open shadow root
    bubble.wait_for(state="visible")
    bubble.click()
    frame = widget_frame(page)
    frame.wait_for_selector("body[data-widget-ready]")
    frame.evaluate("""() => {
      window.__partial = [];
      new MutationObserver(() => {
        const b = document.querySelector('.msg.assistant.streaming .body');
        if (b && b.textContent.length) window.__partial.push(b.textContent.length);
      }).observe(document.getElementById('messages'), {subtree: true, childList: true, characterData: true});
    }""")
    frame.fill("#question", question)
    frame.press("#question", "Enter")
    frame.wait_for_selector(".msg.assistant:not(.streaming) .sources li")
    return frame, frame.locator(".msg.assistant").first


def test_an_intranet_page_on_an_allowed_origin_asks_and_sees_the_streamed_cited_answer(browser, sites):  # noqa: F811
    allowed, _other = sites
    page = browser.new_page(viewport={"width": 1100, "height": 760})
    page.set_default_timeout(60_000)
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    frame, answer = open_and_ask(page, allowed + "/portal.html", "How many vacation days do I get?")
    text = answer.locator(".body").inner_text()
    assert text.startswith("Full-time staff get 28 vacation days per year") and "[1]" in text
    partial = frame.evaluate("window.__partial")
    assert len(set(partial)) > 3 and min(partial) < len(REPLY), "the answer arrived in pieces, as it was written"
    # The [n] marker opens the cited passage, quoted as in the chat; no link to the file (the
    # visitor is not signed in here).
    passage = answer.locator(".source .passage")
    assert passage.first.is_hidden()
    answer.locator("a.cite-link").first.click()
    passage.first.wait_for(state="visible")
    assert "28 vacation days" in passage.first.inner_text() and "Leave" in answer.locator(".source-title").first.inner_text()
    assert answer.locator("a.open-source").count() == 0
    # Drawn by render.js, as the chat page draws it: the source's age and what was searched for.
    assert answer.locator(".source-age time").first.inner_text().startswith("updated ")
    searched = answer.locator(".searched").inner_text()
    assert searched.startswith("Searched for: ") and "vacation days" in searched
    folder = os.environ.get("KB_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / "widget.png"))
    frame.click("#close")
    page.locator("#kbassist-widget iframe").wait_for(state="hidden")
    assert not errors, errors


def test_the_same_page_on_an_origin_the_key_does_not_list_gets_nothing(browser, sites, app):  # noqa: F811
    _allowed, other = sites
    page = browser.new_page()
    page.set_default_timeout(60_000)
    refusals = []
    page.on("console", lambda msg: refusals.append(msg.text) if "frame-ancestors" in msg.text else None)
    page.goto(other + "/portal.html")
    wait_until(lambda: refusals, timeout=30, what="Chromium's refusal to frame the widget")
    assert "violates the following Content Security Policy directive" in refusals[0] and "blocked" in refusals[0]
    assert page.locator("#kbassist-widget .bubble").is_hidden()  # shown only once the frame has loaded
    assert not any(f.url.startswith(app) for f in page.frames), [f.url for f in page.frames]
    # Calling the endpoint from that page directly: refused by the server (403), and the
    # browser gives the page nothing to read (no CORS header is sent).
    outcome = page.evaluate(
        """async ([url, key]) => {
          try {
            const r = await fetch(url + '/widget/ask', {method: 'POST', headers: {'Content-Type': 'application/json'},
                                                       body: JSON.stringify({question: 'How many vacation days do I get?', key})});
            return 'read ' + r.status;
          } catch (e) { return 'blocked'; }
        }""",
        [app, WidgetKey.objects.get().key],
    )
    assert outcome == "blocked"
    assert not Conversation.objects.exists()


def test_a_visitor_signed_in_here_asks_as_themselves_on_a_page_of_the_same_site(browser, sites, app, employee):  # noqa: F811
    allowed, _other = sites
    page = browser.new_page(viewport={"width": 1100, "height": 760})
    page.set_default_timeout(60_000)
    page.goto(app + "/accounts/login/")
    page.fill("input[name=username]", "erin")
    page.fill("input[name=password]", "pw-erin")
    page.click("button[type=submit]")
    page.wait_for_url(app + "/")
    # Another port of 127.0.0.1 is the same site: the session cookie goes with the frame.
    frame, answer = open_and_ask(page, allowed + "/signed-in.html", "How many vacation days do I get?")
    assert "[1]" in answer.locator(".body").inner_text()
    assert "/documents/" in answer.locator("a.open-source").first.get_attribute("href")  # theirs to open
    assert Conversation.objects.get().user == employee
