"""Freshness: each document and FAQ has an owner (a user or a group) and a "review by" date
(``KB_REVIEW_MONTHS`` after it was added, unless set). Sources past that date are flagged on
the dashboard and listed on their owners' curation page, and the owners are told by e-mail
once (``notify_due``, a daily Celery task)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db.models import Q
from django.utils import timezone

from kbassist.knowledge.models import FAQ, Document

from .models import Review


def default_review_by(added: datetime) -> date:
    return (added + timedelta(days=round(30.44 * settings.KB_REVIEW_MONTHS))).date()


def review_by_of(kind: str, pk: int, added: datetime) -> date:
    """The date a document or FAQ (``kind``) should be reviewed by: set on its review, or
    ``KB_REVIEW_MONTHS`` after it was added. Citations show it (``knowledge.freshness``)."""
    field = "document_id" if kind == "document" else "faq_id"
    review_by = Review.objects.filter(**{field: pk}).values_list("review_by", flat=True).first()
    return review_by or default_review_by(added)


def _due(queryset, today: date):
    """The sources of ``queryset`` due before ``today``, each with ``.due`` set."""
    interval = timedelta(days=round(30.44 * settings.KB_REVIEW_MONTHS))
    cutoff = timezone.make_aware(datetime.combine(today, time.min)) - interval
    found = queryset.filter(Q(review__review_by__lt=today) | Q(review__review_by__isnull=True, created_at__lt=cutoff))
    for source in found:
        review = getattr(source, "review", None)
        source.due = review.review_by if review is not None and review.review_by else default_review_by(source.created_at)
        yield source


def due_sources(collection_ids=None, today: date | None = None, owner=None) -> list[dict]:
    """Documents and FAQs past their review date (in ``collection_ids``; owned by ``owner``
    or one of their groups, if given), oldest first."""
    today = today or timezone.localdate()
    rows = []
    for model, kind in ((Document, "document"), (FAQ, "faq")):
        found = model.objects.all()
        if model is Document:
            found = found.filter(status=Document.Status.READY)
        if collection_ids is not None:
            found = found.filter(collection_id__in=list(collection_ids))
        if owner is not None:
            found = found.filter(Q(review__owner=owner) | Q(review__owner_group__in=owner.groups.all()))
        for source in _due(found.select_related("collection", "review", "review__owner", "review__owner_group"), today):
            review = getattr(source, "review", None)
            rows.append({
                "kind": kind, "id": source.pk, "title": str(source), "collection": source.collection.name,
                "added": source.created_at.date(), "due": source.due,
                "owner": _owner_label(review),
            })
    return sorted(rows, key=lambda r: (r["due"], r["title"]))


def _owner_label(review) -> str:
    if review is None:
        return ""
    return ", ".join(x for x in (review.owner.get_username() if review.owner else "", review.owner_group.name if review.owner_group else "") if x)


def set_review(source, *, owner=None, owner_group=None, review_by=None) -> Review:
    field = "document" if isinstance(source, Document) else "faq"
    review, _ = Review.objects.get_or_create(**{field: source})
    review.owner, review.owner_group, review.review_by, review.notified_at = owner, owner_group, review_by, None
    review.save()
    return review


def notify_due(today: date | None = None) -> int:
    """E-mail the owners of each source that is due and was not notified since it fell due;
    returns how many messages were sent."""
    today = today or timezone.localdate()
    sent = 0
    for model in (Document, FAQ):
        due = _due(model.objects.filter(review__isnull=False).select_related("review", "collection"), today)
        for source in due:
            review = source.review
            since = timezone.make_aware(datetime.combine(source.due, time.min))
            if review.notified_at and review.notified_at >= since:
                continue
            users = set()
            if review.owner and review.owner.email:
                users.add(review.owner.email)
            if review.owner_group:
                users |= {u.email for u in get_user_model().objects.filter(groups=review.owner_group, is_active=True) if u.email}
            if users:
                send_mail(
                    f"KB Assist: “{source}” is due for review",
                    f"“{source}” in {source.collection.name} was due for review on {source.due:%Y-%m-%d}. "
                    "Check that it is still right, then set its next review date on the curation page.",
                    None, sorted(users),
                )
                sent += 1
            review.notified_at = timezone.now()
            review.save(update_fields=["notified_at"])
    return sent
