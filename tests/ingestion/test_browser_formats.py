"""Formats end to end in a real headless Chromium, with a real Celery worker and Tesseract.

An admin picks a folder of three files (a spreadsheet, a scanned PDF whose second page is an
image only, a Markdown page) on the upload page: each document keeps its path inside the
folder. The worker ingests them (OCR for the scan). An employee then asks a question answered
by one spreadsheet row and one answered on the scanned page: the quoted answer shows the row
and the page's text, and each citation opens the right row or page and says how old its
source is (in English and Chinese); a source past its review date is marked. No chat model:
KB_GENERATE=false, the answer is the quoted evidence (the model is not the point here).
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from kbassist.curation import reviews
from kbassist.knowledge.models import Document

from tests.conftest import running_app, running_worker, wait_until
from tests.e2e.test_browser import ask, browser, wait_done  # noqa: F401  (the browser fixture)
from tests.ingestion.test_formats import make_xlsx, needs_tesseract, scanned_pdf  # noqa: F401  (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

WELCOME = "# Welcome pack\n\nNew starters collect their welcome pack from the reception desk on level 1.\n"


@pytest.fixture
def office_folder(tmp_path):
    folder = tmp_path / "office"
    (folder / "scans").mkdir(parents=True)
    make_xlsx(folder / "laptops.xlsx", {"D2": "3798", "D3": "1299.5"})
    scanned_pdf(folder / "scans" / "facilities.pdf")  # page 2 is an image only
    (folder / "welcome.md").write_text(WELCOME)
    return folder


@pytest.fixture
def server(transactional_db):
    # Uploads are handed to the real worker (not run in Daphne); answers are quoted evidence.
    with running_app("/accounts/login/", "daphne-formats.log", KB_CELERY_EAGER="0", KB_GENERATE="0") as url:
        yield url


def new_page(browser, server, path, user, password):  # noqa: F811
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(90_000)
    page.errors = []
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    page.goto(server + path)
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", password)
    page.click("[type=submit]")
    return page


def new_conversation(page, server):
    page.goto(server + "/")
    page.wait_for_selector("body[data-chat-ready]")


def quoted(answer, words):
    """The answer's quoted line holding ``words`` (without its [n]), and its citation link."""
    lines = [line for line in answer.locator(".body").inner_text().splitlines() if words in line]
    assert lines, answer.locator(".body").inner_text()
    match = re.search(r"\[(\d+)\]\s*$", lines[0])
    assert match, lines[0]
    return lines[0][: match.start()].strip(), answer.locator(f'.body a.cite-link[data-cite="{match.group(1)}"]').first


def test_a_dropped_folder_is_ingested_and_answers_from_a_spreadsheet_row_and_a_scanned_page(
    server, browser, office_folder, public_collection, admin_user, employee, needs_tesseract  # noqa: F811
):
    with running_worker():
        admin = new_page(browser, server, "/admin/knowledge/document/upload/", "root", "pw-root")
        admin.select_option("select[name=collection]", str(public_collection.pk))
        admin.set_input_files("input[name=folder]", str(office_folder))  # the folder picker (webkitdirectory)
        assert admin.locator("#drop-chosen").inner_text().startswith("3 file(s)")
        admin.click("input[type=submit]")
        admin.wait_for_selector("#result_list")
        wait_until(lambda: Document.objects.filter(status__in=("ready", "failed", "skipped")).count() == 3,
                   timeout=300, what="the worker to ingest the folder (OCR of the scan)")
    documents = {d.source_path: d for d in Document.objects.all()}
    assert set(documents) == {"office/laptops.xlsx", "office/scans/facilities.pdf", "office/welcome.md"}
    assert all(d.status == "ready" for d in documents.values()), [(d.source_path, d.error) for d in documents.values()]
    welcome = documents["office/welcome.md"]
    reviews.set_review(welcome, review_by=timezone.localdate() - timedelta(days=3))
    assert not admin.errors, admin.errors

    page = new_page(browser, server, "/", "erin", "pw-erin")
    page.wait_for_selector("body[data-chat-ready]")
    today = timezone.localdate().isoformat()

    # One spreadsheet row answers it: the quoted evidence is that row, the citation opens it.
    answer = ask(page, "What is the price of the MacBook Air?")
    wait_done(answer)
    row, cite = quoted(answer, "MacBook Air")
    assert "1299.5" in row and "ThinkPad" not in row
    source = answer.locator(f'.source[data-source="{cite.get_attribute("data-cite")}"]')
    assert "laptops" in source.locator(".source-title").inner_text() and "Laptops" in source.locator(".source-location").inner_text()
    cite.click()
    source.locator(".passage").wait_for(state="visible")
    assert row.split(": ", 1)[-1] in source.locator(".passage").inner_text()  # the quoted row is in the opened passage
    age = source.locator(".source-age time")
    assert age.inner_text() == "updated today" and age.get_attribute("datetime") == today and today in age.get_attribute("title")
    assert source.locator(".source-due").count() == 0

    # The scanned page answers it (a new conversation: no follow-up): quoted from the OCR'd
    # text, the citation opens page 2.
    new_conversation(page, server)
    answer = ask(page, "When does the car park close?")
    wait_done(answer)
    _line, cite = quoted(answer, "22:00")
    source = answer.locator(f'.source[data-source="{cite.get_attribute("data-cite")}"]')
    assert "p. 2" in source.locator(".source-location").inner_text()
    cite.click()
    link = source.locator("a.open-source")
    link.wait_for(state="visible")
    assert link.get_attribute("href").endswith("#page=2") and "page 2" in link.inner_text()

    # In Chinese: a page imported three months ago, past its review date, is marked so, the
    # exact dates on hover.
    imported = timezone.now() - timedelta(days=92)
    Document.objects.filter(pk=welcome.pk).update(ingested_at=imported)
    new_conversation(page, server)
    page.select_option("select[name=language]", "zh-hans")  # the top bar's language switch
    page.wait_for_selector("html[lang=zh-hans] body[data-chat-ready]")
    answer = ask(page, "Where do new starters collect their welcome pack?")
    wait_done(answer)
    source = answer.locator(".source", has_text="Welcome pack").first
    age = source.locator(".source-age time")
    assert age.inner_text() == "3个月前更新" and timezone.localdate(imported).isoformat() in age.get_attribute("title")
    due = source.locator(".source-due")
    assert due.inner_text() == "已过复审日期"
    assert (timezone.localdate() - timedelta(days=3)).isoformat() in due.get_attribute("title")
    assert not page.errors, page.errors

