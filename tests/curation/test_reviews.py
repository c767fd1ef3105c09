"""Freshness: owners and review dates; sources past their date are flagged on the dashboard
and their owners told by e-mail, once."""

from datetime import date, timedelta

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from kbassist.curation import reviews
from kbassist.knowledge.models import FAQ, Document

pytestmark = pytest.mark.django_db


def test_old_sources_are_due_unless_a_later_date_is_set(client, admin_user, public_collection, make_document):
    old = make_document(public_collection, "old.md", "# Old policy\n\nThe canteen opens at 8.\n")
    Document.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=400))
    make_document(public_collection, "fresh.md", "# Fresh policy\n\nThe canteen opens at 9.\n")
    faq = FAQ.objects.create(collection=public_collection, question="Canteen?", answer="At 9.")
    reviews.set_review(faq, review_by=date.today() - timedelta(days=1))
    due = reviews.due_sources()
    assert {(r["kind"], r["title"]) for r in due} == {("document", "Old policy"), ("faq", "Canteen?")}  # not "Fresh policy"
    reviews.set_review(old, review_by=date.today() + timedelta(days=30))  # reviewed: next year's date
    assert [r["title"] for r in reviews.due_sources()] == ["Canteen?"]
    client.force_login(admin_user)
    page = client.get(reverse("curation:dashboard")).content.decode()
    assert "Past their review date" in page and "Canteen?" in page


def test_owners_are_told_once_and_see_what_is_theirs(client, public_collection, make_document, curator):
    owner = curator(public_collection, name="olga")
    owner.email = "olga@example.com"
    owner.save()
    doc = make_document(public_collection, "travel.md", "# Travel\n\nBook trains.\n")
    reviews.set_review(doc, owner=owner, review_by=date.today() - timedelta(days=3))
    assert reviews.notify_due() == 1 and reviews.notify_due() == 0
    assert mail.outbox[0].to == ["olga@example.com"] and "Travel" in mail.outbox[0].subject
    client.force_login(owner)
    page = client.get(reverse("curation:reviews")).content.decode()
    assert page.index("Yours to review") < page.index("Travel") < page.index("Past their review date")


def test_a_curator_sets_the_owner_and_date_of_a_source_they_curate(client, public_collection, hr_collection, make_document, curator):
    mine = make_document(public_collection, "a.md", "# A\n\nText.\n")
    theirs = make_document(hr_collection, "b.md", "# B\n\nText.\n")
    client.force_login(curator(public_collection))
    User.objects.create_user("owen")
    client.post(reverse("curation:reviews"), {"kind": "document", "id": mine.pk, "owner": "owen", "review_by": "2030-01-31"})
    mine.refresh_from_db()
    assert (mine.review.owner.username, mine.review.review_by) == ("owen", date(2030, 1, 31))
    assert client.post(reverse("curation:reviews"), {"kind": "document", "id": theirs.pk, "owner": "owen"}).status_code == 404


def test_a_superseded_document_is_never_cited_its_successor_is(client, public_collection, make_document, curator, employee):
    from kbassist.retrieval.search import search

    old = make_document(public_collection, "parking-2024.md", "# Parking 2024\n\nStaff parking costs 5 euros a day in the garage.\n")
    new = make_document(public_collection, "parking-2025.md", "# Parking 2025\n\nStaff parking is free in the garage from 2025.\n")
    titles = {h.chunk.document.title for h in search("How much does staff parking in the garage cost?", employee).hits}
    assert titles == {"Parking 2024", "Parking 2025"}
    client.force_login(curator(public_collection))
    client.post(reverse("curation:reviews"), {"kind": "document", "id": old.pk, "superseded_by": new.pk})
    old.refresh_from_db()
    assert old.superseded_by == new
    hits = search("How much does staff parking in the garage cost?", employee).hits
    assert [h.chunk.document.title for h in hits] == ["Parking 2025"]  # the old one is never a source again
