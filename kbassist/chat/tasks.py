"""Celery tasks of the chat: thin wrappers over plain functions."""

from celery import shared_task

from . import drafts


@shared_task(name="kbassist.interrupt_orphaned_answers")
def interrupt_orphaned_task():
    drafts.interrupt_orphaned()
