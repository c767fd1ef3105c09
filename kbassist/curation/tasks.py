"""Celery tasks: thin wrappers over ``gaps.refresh`` (periodic, see CELERY_BEAT_SCHEDULE)
and ``drafts.draft_answer``."""

import logging

from celery import shared_task

log = logging.getLogger(__name__)


@shared_task(name="kbassist.refresh_gaps")
def refresh_gaps_task():
    from .gaps import refresh

    report = refresh()
    log.info("knowledge gaps: %s", report)


@shared_task(name="kbassist.notify_reviews")
def notify_reviews_task():
    from .reviews import notify_due

    log.info("review notices sent: %d", notify_due())


@shared_task(name="kbassist.draft_faq")
def draft_faq_task(gap_id: int, curator_id: int):
    from .drafts import draft_answer

    draft_answer(gap_id, curator_id)
