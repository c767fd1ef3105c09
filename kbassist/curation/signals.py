"""Record each new answer for curation once it is saved (the chat does not know of it)."""

import logging

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from kbassist.chat.models import Message

from .records import record_answers

log = logging.getLogger(__name__)


@receiver(post_save, sender=Message)
def answer_saved(sender, instance, created, raw=False, **kwargs):
    if not created or raw or instance.role != Message.Role.ASSISTANT:
        return

    try:
        with transaction.atomic():  # a savepoint: a failure here leaves the answer saved
            record_answers([instance])
    except Exception:  # curation must never break answering; backfill() catches up
        log.exception("recording answer %s for curation failed", instance.pk)
