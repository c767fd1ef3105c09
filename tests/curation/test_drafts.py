"""From a gap to an FAQ: the model drafts (a Celery task), the curator saves, the gap is
resolved and its questions, asked again without the model, are answered by the FAQ."""

import os

import pytest
from django.conf import settings
from django.urls import reverse

from kbassist.chat.answering import answer
from kbassist.curation import gaps
from kbassist.curation.models import Gap
from kbassist.knowledge.models import FAQ
from tests.conftest import wait_until

QUESTION = "Do part-time staff get vacation days?"


def make_gap(asked, people):
    asked(people[0], QUESTION)
    asked(people[1], "Do part-time workers get any vacation?")
    gaps.refresh()
    return Gap.objects.get()


def save_and_check(client, gap, public_collection, people):
    response = client.post(reverse("curation:gap_save", args=[gap.pk]), {
        "question": QUESTION, "answer": "Yes: pro rata to their contracted hours [1].", "collection": public_collection.pk,
    })
    assert response.status_code == 302
    faq = FAQ.objects.get()
    assert (faq.question, faq.answer, faq.origin, faq.collection) == (QUESTION, "Yes: pro rata to their contracted hours.", "curated", public_collection)
    gap.refresh_from_db()
    assert gap.status == "resolved" and gap.faq == faq
    assert [q.rerun_kind for q in gap.questions.order_by("pk")] == ["curated", "curated"]
    assert all(q.rerun_detail.startswith("the new FAQ: ") for q in gap.questions.all())
    page = client.get(reverse("curation:gap", args=[gap.pk])).content.decode()
    assert page.count('<span class="badge kind-curated">curated</span>') == 2
    # ...and the chat itself now answers it from the FAQ, first, without the model
    events = list(answer(QUESTION, user=people[2]))
    assert events[-1]["kind"] == "curated" and "pro rata" in events[-1]["answer"]


@pytest.mark.django_db
@pytest.mark.llm
def test_the_model_drafts_an_faq_the_curator_saves_it_and_the_questions_are_answered(
    client, asked, people, curator, handbook, public_collection, smollm2, backend, django_capture_on_commit_callbacks
):
    backend(smollm2)
    gap = make_gap(asked, people)
    client.force_login(curator(public_collection))
    with django_capture_on_commit_callbacks(execute=True):  # the task runs eagerly here
        client.post(reverse("curation:gap_draft", args=[gap.pk]))
    gap.refresh_from_db()
    assert gap.draft_status == "ready" and gap.draft_answer
    assert gap.draft_passages[0]["title"] == "Leave" and "pro rata" in gap.draft_passages[0]["text"] + "".join(p["text"] for p in gap.draft_passages)
    page = client.get(reverse("curation:gap", args=[gap.pk])).content.decode()
    assert "DRAFT — written by the chat model" in page and "Part-time staff" in page  # the draft, and its passages
    save_and_check(client, gap, public_collection, people)


@pytest.mark.worker
@pytest.mark.llm
@pytest.mark.django_db(transaction=True)
def test_the_draft_is_made_by_a_real_worker_with_the_real_model(monkeypatch, asked, people, curator, handbook, public_collection):
    from kbassist.llm.bundled import smollm2_path

    monkeypatch.setenv("KB_LLM_MODEL_PATH", str(smollm2_path()))
    monkeypatch.setenv("KB_LLM_CONTEXT", "2048")
    monkeypatch.setenv("KB_LLM_MAX_TOKENS", "96")
    gap = make_gap(asked, people)
    from django.test import Client

    client = Client()
    client.force_login(curator(public_collection))
    with worker_running():
        client.post(reverse("curation:gap_draft", args=[gap.pk]))
        assert Gap.objects.get(pk=gap.pk).draft_status == "queued"
        wait_until(lambda: Gap.objects.get(pk=gap.pk).draft_status != "queued", timeout=240, what="the worker's draft")
    gap.refresh_from_db()
    assert gap.draft_status == "ready" and gap.draft_answer and gap.draft_passages, gap.draft_error
    save_and_check(client, gap, public_collection, people)


def worker_running():
    """The ``worker`` fixture's process, started here (after the environment is set)."""
    from tests.conftest import running_worker

    return running_worker(concurrency=1)


@pytest.mark.django_db
def test_a_curator_may_save_only_into_a_collection_they_edit(client, asked, people, curator, public_collection, hr_collection):
    gap = make_gap(asked, people)
    client.force_login(curator(public_collection))
    client.post(reverse("curation:gap_save", args=[gap.pk]), {"question": "q?", "answer": "a.", "collection": hr_collection.pk})
    assert not FAQ.objects.exists() and Gap.objects.get().status == "open"


@pytest.mark.django_db
def test_a_curator_sees_only_the_gaps_of_their_collections(client, asked, people, curator, public_collection, hr_collection, hr_user):
    asked(people[0], "Is there parking at the office?")  # people may search the public Handbook only
    asked(hr_user, "What is the bonus of my manager?")  # HR may search both: it concerns both
    gaps.refresh()
    parking = Gap.objects.get(representative__contains="parking")
    client.force_login(curator(hr_collection, name="hank"))
    page = client.get(reverse("curation:gaps")).content.decode()
    assert "bonus of my manager" in page and "parking" not in page
    assert client.get(reverse("curation:gap", args=[parking.pk])).status_code == 404
