"""The refused-question webhook: when a question is refused, by any door (browser, CLI, API,
chat bots), POST it as JSON to ``KB_REFUSAL_WEBHOOK_URL`` (a ticket system, a chat channel),
so a team sees what the knowledge base does not cover. Sent after the answer is saved, in a
thread of its own, with a short timeout: it never slows or breaks an answer."""

from __future__ import annotations

import json
import logging
import threading
import urllib.request

from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from kbassist.chat.models import Message

log = logging.getLogger(__name__)
TIMEOUT_S = 5


def refusal_payload(message: Message) -> dict:
    question = message.replies_to()
    conversation = message.conversation
    return {
        "event": "question_refused",
        "question": question.content if question else "",
        "answer": message.content,
        "search_query": message.search_query,
        "user": conversation.user.get_username(),
        "conversation_id": conversation.pk,
        "message_id": message.pk,
        "at": message.created_at.isoformat(),
    }


def send(url: str, payload: dict):
    request = urllib.request.Request(url, data=json.dumps(payload, ensure_ascii=False).encode("utf-8"),
                                     headers={"Content-Type": "application/json; charset=utf-8", "User-Agent": "kb-assist"})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:  # noqa: S310 - the operator's URL
            response.read()
    except Exception as exc:  # the webhook is best effort: log, never raise
        log.warning("refusal webhook %s failed: %s", url, exc)


@receiver(post_save, sender=Message)
def message_saved(sender, instance: Message, created: bool, raw=False, **kwargs):
    url = settings.KB_REFUSAL_WEBHOOK_URL
    if not url or raw or not created or instance.kind != Message.Kind.REFUSED:
        return
    payload = refusal_payload(instance)
    transaction.on_commit(lambda: threading.Thread(target=send, args=(url, payload), name="kbassist-refusal-webhook", daemon=True).start())
