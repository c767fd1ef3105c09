"""The dashboard (/curation/): figures over a period and collection, aggregated in the
database, with the numbers behind each chart as CSV; scoped to the curator's collections."""

import csv
import io
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

pytestmark = pytest.mark.django_db


@pytest.fixture
def month(asked, people, handbook, hr_collection, hr_user, make_document):
    """Answers over the last days: generated ones citing the leave policy, curated, refused,
    one disliked; and one HR answer citing an HR document."""
    salary = make_document(hr_collection, "salary.md", "# Salary\n\nBands are reviewed every April.\n")
    cite = [{"n": 1, "collection": "Handbook", "document_id": handbook.pk, "title": "Leave", "cited": True}]
    now = timezone.now()
    for i in range(6):
        asked(people[i], "How many vacation days do I get?", kind="generated", answer="28 [1].", citations=cite,
              when=now - timedelta(days=i % 3), ttft_ms=1000 + 100 * i, helpful=(False if i == 0 else True if i == 1 else None))
    asked(people[7], "Is parking free?", kind="refused", when=now - timedelta(days=1), ttft_ms=50)
    asked(people[8], "Capital of Mars?", kind="refused", when=now - timedelta(days=40), ttft_ms=40)  # outside the period
    asked(hr_user, "When are bands reviewed?", kind="generated", answer="April [1].", ttft_ms=900,
          citations=[{"n": 1, "collection": "HR confidential", "document_id": salary.pk, "title": "Salary", "cited": True}])
    return salary


def test_the_dashboard_shows_the_period_in_figures_and_charts(client, admin_user, month, handbook):
    client.force_login(admin_user)
    response = client.get(reverse("curation:dashboard"))
    page = response.content.decode()
    assert response.status_code == 200
    assert '<span class="value" id="total-questions">8</span>' in page
    assert '<span class="value" id="refusal-rate">12%</span>' in page  # 1 of 8
    assert '<span class="value" id="thumbs-down-rate">50%</span>' in page  # 1 of 2 rated
    assert '<span class="value" id="ttft-p50">1100 ms</span>' in page  # nearest rank: the 4th of 8
    assert 'id="chart-data"' in page and "vendor/chart.js/chart.umd.min.js" in page
    assert "Leave" in page and "Salary" in page  # most cited


def test_each_charts_numbers_download_as_csv(client, admin_user, month):
    client.force_login(admin_user)
    rows = list(csv.DictReader(io.StringIO(client.get(reverse("curation:csv", args=["per_day"])).content.decode())))
    assert len(rows) == 30 and sum(int(r["questions"]) for r in rows) == 8 and sum(int(r["refused"]) for r in rows) == 1
    kinds = {r["kind"]: int(r["answers"]) for r in csv.DictReader(io.StringIO(client.get(reverse("curation:csv", args=["kinds"])).content.decode()))}
    assert kinds["generated"] == 7 and kinds["refused"] == 1 and kinds["curated"] == 0
    ttft = list(csv.DictReader(io.StringIO(client.get(reverse("curation:csv", args=["ttft"])).content.decode())))
    assert ttft[0]["kind"] == "all" and ttft[0]["n"] == "8"
    for name in ("feedback", "most_cited", "never_cited", "gaps"):
        assert client.get(reverse("curation:csv", args=[name])).status_code == 200
    # a longer period takes in the old refusal
    rows = client.get(reverse("curation:csv", args=["kinds"]), {"since": (timezone.localdate() - timedelta(days=60)).isoformat()})
    assert "refused,2" in rows.content.decode()


def test_a_curator_sees_only_their_collections(client, curator, month, public_collection, hr_collection):
    client.force_login(curator(hr_collection, name="hank"))
    page = client.get(reverse("curation:dashboard")).content.decode()
    assert '<span class="value" id="total-questions">1</span>' in page  # the HR answer only
    assert "Salary" in page and "Leave" not in page
    assert 'href="/curation/"' in client.get(reverse("chat:index")).content.decode()  # the top bar leads here


def test_the_cockpit_is_for_curators_only(client, employee, month):
    client.force_login(employee)
    assert client.get(reverse("curation:dashboard")).status_code == 403
    assert 'href="/curation/"' not in client.get(reverse("chat:index")).content.decode()


def test_never_cited_documents_are_listed(client, admin_user, month, public_collection, make_document, asked, people):
    travel = make_document(public_collection, "travel.md", "# Travel\n\nBook trains in second class.\n")
    # a refusal's passages, given to read, were not cited: Travel stays never cited
    asked(people[9], "Can I fly business class?", kind="refused", ttft_ms=60,
          citations=[{"n": 1, "collection": "Handbook", "document_id": travel.pk, "title": "Travel", "cited": False}])
    client.force_login(admin_user)
    page = client.get(reverse("curation:dashboard")).content.decode()
    assert "Never cited (1 documents)" in page and "Travel" in page


def test_answers_and_faq_pairs_export(client, admin_user, month, public_collection, curator):
    import json

    from django.core.management import call_command

    from kbassist.knowledge.models import FAQ

    FAQ.objects.create(collection=public_collection, question="When is payday?", answer="On the 25th.", origin="curated")
    client.force_login(admin_user)
    rows = list(csv.DictReader(io.StringIO(client.get(reverse("curation:export", args=["answers.csv"])).content.decode())))
    assert len(rows) == 8 and {r["kind"] for r in rows} == {"generated", "refused"}
    assert any(r["helpful"] == "False" for r in rows) and any(r["sources"] == "Leave" for r in rows)
    lines = client.get(reverse("curation:export", args=["answers.jsonl"])).content.decode().splitlines()
    assert len(lines) == 8 and json.loads(lines[0])["question"]
    pairs = [json.loads(line) for line in client.get(reverse("curation:export", args=["faqs.jsonl"])).content.decode().splitlines()]
    assert [m["role"] for m in pairs[0]["messages"]] == ["system", "user", "assistant"]
    assert pairs[0]["messages"][1:] == [{"role": "user", "content": "When is payday?"}, {"role": "assistant", "content": "On the 25th."}]
    # a curator of HR exports only HR's answers; the command gives the same rows
    client.force_login(curator(collections := hr_collection_of(month), name="hank"))
    rows = list(csv.DictReader(io.StringIO(client.get(reverse("curation:export", args=["answers.csv"])).content.decode())))
    assert [r["question"] for r in rows] == ["When are bands reviewed?"]
    out = io.StringIO()
    call_command("export_curation", "answers", "--collection", collections.name, "--format", "csv", stdout=out)
    assert [r["question"] for r in csv.DictReader(io.StringIO(out.getvalue()))] == ["When are bands reviewed?"]


def hr_collection_of(salary_document):
    return salary_document.collection
