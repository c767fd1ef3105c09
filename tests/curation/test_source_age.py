"""Citations say how old a source is: the document's last import or the FAQ's last edit, and
its review-by date, marked when past. The websocket's events, `manage.py ask --json` and the
REST API all carry it (the browser's rendering: tests/ingestion/test_browser_formats.py)."""

from __future__ import annotations

import io
import json
from datetime import date, timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from kbassist.chat.answering import answer
from kbassist.curation import reviews
from kbassist.ingestion.importing import import_faq_csv
from kbassist.knowledge.models import FAQ, Document
from kbassist.llm.line import GenerationLine

from tests.api.conftest import api, key_for  # noqa: F401  (fixtures)
from tests.fakes import ScriptedBackend

pytestmark = pytest.mark.django_db

QUESTION = "How many vacation days do I get?"


def events_for(question, user):
    return list(answer(question, user=user, backend=ScriptedBackend(), line=GenerationLine()))


@pytest.fixture
def imported_long_ago(handbook):
    """The leave policy, last imported 100 days ago, added 400 days ago."""
    Document.objects.filter(pk=handbook.pk).update(
        ingested_at=timezone.now() - timedelta(days=100), created_at=timezone.now() - timedelta(days=400)
    )
    return Document.objects.get(pk=handbook.pk)


def test_each_source_carries_its_last_import_date_and_review_date(imported_long_ago, employee):
    imported = timezone.localdate(imported_long_ago.ingested_at).isoformat()
    events = events_for(QUESTION, employee)
    sources = next(e for e in events if e["type"] == "sources")["sources"]
    done = events[-1]
    for source in (sources[0], done["citations"][0]):
        assert source["title"] == "Leave" and source["updated"] == imported
        # Added 400 days ago with no review date set: due KB_REVIEW_MONTHS (12) after it was added.
        assert source["review_by"] == reviews.default_review_by(imported_long_ago.created_at).isoformat()
        assert source["past_review"] is True


def test_a_review_date_in_the_future_is_not_marked(imported_long_ago, employee):
    reviews.set_review(imported_long_ago, review_by=date.today() + timedelta(days=30))
    done = events_for(QUESTION, employee)[-1]
    first = done["citations"][0]
    assert first["review_by"] == (date.today() + timedelta(days=30)).isoformat() and first["past_review"] is False


def test_an_faq_citation_carries_the_date_of_its_last_edit(public_collection, employee, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        import_faq_csv(public_collection, b"question,answer\nHow do I reset my password?,Use the portal.\n")
    FAQ.objects.update(updated_at=timezone.now() - timedelta(days=70))
    with django_capture_on_commit_callbacks(execute=True):  # a new answer for the same question: edited today
        import_faq_csv(public_collection, b"question,answer\nHow do I reset my password?,Use the self-service portal.\n")
    done = events_for("how do I reset my password", employee)[-1]
    assert done["kind"] == "curated"
    faq = done["citations"][0]
    assert faq["kind"] == "faq" and faq["updated"] == timezone.localdate().isoformat() and faq["past_review"] is False


def test_ask_json_and_text_show_the_dates(imported_long_ago, admin_user, backend):
    backend(ScriptedBackend())
    out = io.StringIO()
    call_command("ask", QUESTION, "--json", stdout=out)
    first = json.loads(out.getvalue())["citations"][0]
    assert first["updated"] == timezone.localdate(imported_long_ago.ingested_at).isoformat() and first["past_review"]
    out = io.StringIO()
    call_command("ask", QUESTION, stdout=out)
    assert f"updated {first['updated']}, past its review date {first['review_by']}" in out.getvalue()


@pytest.mark.django_db(transaction=True)
def test_the_rest_api_citations_carry_the_dates(api, employee, imported_long_ago, backend):
    backend(ScriptedBackend())
    response = api(employee).post("/api/v1/ask", {"question": QUESTION})
    assert response.status_code == 200, response.content
    first = response.json()["citations"][0]
    assert first["updated"] == timezone.localdate(imported_long_ago.ingested_at).isoformat()
    assert first["review_by"] and first["past_review"] is True
