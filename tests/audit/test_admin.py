"""The audit trail in the admin: filters (user, kind, date, collection, document), the CSV
export of exactly what is filtered, and no way to add, change or delete an event."""

import csv
import io
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from kbassist import audit
from kbassist.audit.models import AuditEvent
from kbassist.chat.answering import answer
from kbassist.llm.line import GenerationLine

from tests.fakes import ScriptedBackend

pytestmark = pytest.mark.django_db

SALARIES = "# Salary bands\n\n## Engineering\n\nBand E3 pays between 91,000 and 118,000 EUR per year.\n"
CHANGELIST = "admin:audit_auditevent_changelist"


@pytest.fixture
def history(hr_collection, handbook, make_document, hr_user, employee, admin_user):
    """A month of activity: HR members asking about salaries and opening the file, someone
    else asking about vacation, and an event about the salary bands from long ago."""
    salaries = make_document(hr_collection, "salary-bands.md", SALARIES)
    ask = lambda q, user, reply="Band E3 pays 91,000 to 118,000 EUR [1].": list(  # noqa: E731
        answer(q, user=user, backend=ScriptedBackend(reply=reply), line=GenerationLine()))
    ask("How much does band E3 pay?", hr_user)
    ask("How many vacation days do I get?", employee, "Full-time staff get 28 days [1].")
    ask("What is the capital of Mars?", admin_user)  # sees everything, is shown nothing of it
    client = Client()
    client.force_login(hr_user)
    client.get(reverse("knowledge:document_file", args=[salaries.pk]))
    old = AuditEvent.objects.create(kind="document_view", username="olga", created_at=timezone.now() - timedelta(days=90))
    old.subjects.create(role="opened", collection_id=hr_collection.pk, collection_name="HR confidential",
                        document_id=salaries.pk, document_name="Salary bands (salary-bands.md)")
    return salaries


def listed(client, query="") -> list[tuple[str, str]]:
    """(kind, username) of each event the changelist shows for ``query``, via the CSV export
    of the same query (the export holds exactly what the list is filtered to)."""
    response = client.get(reverse("admin:audit_auditevent_export") + query)
    assert response.status_code == 200, response
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    return [(r["kind"], r["user"]) for r in rows]


@pytest.fixture
def auditor(client, make_staff):
    client.force_login(make_staff("ada", "view_auditevent"))
    return client


def test_who_could_have_seen_a_document_last_month_is_one_filter(auditor, history):
    today = timezone.localdate()
    since = (today - timedelta(days=30)).isoformat()
    # By file name, over the last 30 days: harriet's answer cited it, and she opened the file.
    seen = listed(auditor, f"?document=salary-bands.md&since={since}&until={today.isoformat()}")
    assert sorted(seen) == [("document_view", "harriet"), ("question", "harriet")]
    # Without dates, the opening from 90 days ago is there too; by id, the same.
    assert ("document_view", "olga") in listed(auditor, "?document=salary-bands")
    assert sorted(listed(auditor, f"?document={history.pk}")) == sorted(listed(auditor, "?document=salary-bands.md"))
    # Root searched the HR collection, but was shown nothing of it: not among those who saw it.
    assert not [u for _, u in listed(auditor, "?document=salary-bands.md") if u == "root"]
    # The list page itself answers the same question.
    page = auditor.get(reverse(CHANGELIST) + f"?document=salary-bands.md&since={since}").content.decode()
    assert "How much does band E3 pay?" in page and "harriet" in page and "olga" not in page


def test_filters_by_user_kind_collection_and_date(auditor, history, hr_collection, handbook):
    assert {u for _, u in listed(auditor, "?user=HARRIET")} == {"harriet"}
    assert {k for k, _ in listed(auditor, "?kind=question")} == {"question"} and len(listed(auditor, "?kind=question")) == 3
    in_hr = listed(auditor, f"?collection={hr_collection.pk}&kind=question")
    assert sorted(u for _, u in in_hr) == ["harriet", "root"]  # searched by those who may see it
    assert sorted(u for _, u in listed(auditor, f"?collection={handbook.collection_id}&kind=question")) == ["erin", "harriet", "root"]
    old = (timezone.localdate() - timedelta(days=60)).isoformat()
    assert listed(auditor, f"?until={old}") == [("document_view", "olga")]
    assert auditor.get(reverse("admin:audit_auditevent_export") + "?since=last-month").status_code == 400
    page = auditor.get(reverse(CHANGELIST)).content.decode()
    for label in ("By user", "By kind", "By date range", "By collection", "By document (who could have seen it)"):
        assert label in page
    assert "HR confidential" in page and "Export CSV" in page
    assert auditor.get(reverse(CHANGELIST) + "?_facets=True&kind=question&user=erin").status_code == 200


def test_the_export_is_complete_escapes_formulas_and_is_itself_recorded(auditor, employee):
    audit.record("question", user=employee, summary="=HYPERLINK(\"http://evil.example\")", question="=1+1",
                 retrieved=[3, 4], shown=[3], cited=[3])
    response = auditor.get(reverse("admin:audit_auditevent_export") + "?kind=question")
    assert response["Content-Disposition"].startswith('attachment; filename="audit-')
    [row] = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert row["what"].startswith("'=HYPERLINK") and row["user"] == "erin"
    assert (row["chunks retrieved"], row["chunks shown"], row["chunks cited"]) == ("3 4", "3", "3")
    exported = AuditEvent.objects.get(kind="audit_export")
    assert exported.username == "ada" and exported.details["filters"] == {"kind": "question"}


def test_nobody_adds_changes_or_deletes_events_through_the_admin(client, admin_user, employee):
    event = audit.record("login", user=employee, summary="erin")
    client.force_login(admin_user)
    assert client.get(reverse("admin:audit_auditevent_add")).status_code == 403
    change = reverse("admin:audit_auditevent_change", args=[event.pk])
    page = client.get(change).content.decode()
    assert "erin" in page and 'name="_save"' not in page  # read-only
    assert client.post(change, {"summary": "nothing happened"}).status_code == 403
    assert client.get(reverse("admin:audit_auditevent_delete", args=[event.pk])).status_code == 403
    assert client.post(reverse("admin:audit_auditevent_delete", args=[event.pk]), {"post": "yes"}).status_code == 403
    response = client.post(reverse(CHANGELIST), {"action": "delete_selected", "_selected_action": [event.pk], "post": "yes"})
    assert response.status_code in (200, 302)
    assert AuditEvent.objects.filter(pk=event.pk, summary="erin").exists()
    assert "delete_selected" not in client.get(reverse(CHANGELIST)).content.decode()
