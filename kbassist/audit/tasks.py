"""The periodic retention task (scheduled in settings.CELERY_BEAT_SCHEDULE)."""

from celery import shared_task

from . import retention


@shared_task(name="kbassist.audit.purge_expired")
def purge_expired_task() -> int:
    return retention.purge_expired()
