"""Recording answers for curation (``AnswerRecord``): the question, the asker, the language,
the collections the answer concerns and the sources it cited. New answers are recorded as
they are saved (``signals.py``); ``backfill()`` records the ones that are not yet."""

from __future__ import annotations

from django.db import transaction

from kbassist.chat.models import Message
from kbassist.chat.turn import sources_listed
from kbassist.knowledge.models import Collection
from kbassist.text import is_chinese

from .models import AnswerRecord, CitedSource

BATCH = 2000


def backfill(batch: int = BATCH) -> int:
    """Record every answer that has no record yet; returns how many were recorded."""
    total = 0
    while True:
        ids = list(
            Message.objects.filter(role=Message.Role.ASSISTANT, curation_record__isnull=True)
            .order_by("pk").values_list("pk", flat=True)[:batch]
        )
        if not ids:
            return total
        record_answers(Message.objects.filter(pk__in=ids).select_related("conversation__user"))
        total += len(ids)


def record_answers(messages) -> list[AnswerRecord]:
    """Record ``messages`` (answers). Idempotent: an answer already recorded is skipped."""
    messages = [m for m in messages if m.role == Message.Role.ASSISTANT]
    if not messages:
        return []
    done = set(AnswerRecord.objects.filter(message__in=messages).values_list("message_id", flat=True))
    messages = [m for m in messages if m.pk not in done]
    questions = _questions(messages)
    names = dict(Collection.objects.values_list("name", "pk"))
    visible: dict[int, list[int]] = {}  # per asker, the collections they may search now
    records, links, cited = [], [], []
    for message in messages:
        user = message.conversation.user
        question = questions.get(message.pk, "")
        record = AnswerRecord(
            message=message, asker=user, question=question, language="zh" if is_chinese(question) else "en",
            created_at=message.created_at, kind=message.kind, ttft_ms=_number(message.timings.get("ttft_ms")),
        )
        records.append(record)
        sources = sources_listed(message.citations, message.kind)
        collections = {names[c["collection"]] for c in sources if c.get("collection") in names}
        for c in sources:
            if c.get("collection") in names and (c.get("document_id") or c.get("faq_id")):
                cited.append(CitedSource(record=record, collection_id=names[c["collection"]],
                                         document_id=c.get("document_id"), faq_id=c.get("faq_id")))
        if not collections:  # nothing cited: the collections searched for the asker
            if user.pk not in visible:
                visible[user.pk] = list(Collection.objects.visible_to(user).values_list("pk", flat=True))
            collections = set(visible[user.pk])
        links += [AnswerRecord.collections.through(answerrecord_id=message.pk, collection_id=cid) for cid in collections]
    with transaction.atomic():
        AnswerRecord.objects.bulk_create(records, batch_size=500)
        AnswerRecord.collections.through.objects.bulk_create(links, batch_size=500)
        # a cited document or FAQ deleted since then is skipped
        existing = _existing(cited)
        CitedSource.objects.bulk_create([c for c in cited if (c.document_id, c.faq_id) in existing], batch_size=500)
    return records


def _number(value) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


def _existing(cited) -> set:
    from kbassist.knowledge.models import FAQ, Document

    docs = set(Document.objects.filter(pk__in={c.document_id for c in cited if c.document_id}).values_list("pk", flat=True))
    faqs = set(FAQ.objects.filter(pk__in={c.faq_id for c in cited if c.faq_id}).values_list("pk", flat=True))
    return {(d, None) for d in docs} | {(None, f) for f in faqs}


def _questions(messages) -> dict[int, str]:
    """For each answer, the question it replies to: the user's message just before it."""
    conversations = {m.conversation_id for m in messages}
    asked: dict[int, list[tuple[int, str]]] = {}
    for pk, cid, content in (
        Message.objects.filter(conversation_id__in=conversations, role=Message.Role.USER)
        .order_by("pk").values_list("pk", "conversation_id", "content")
    ):
        asked.setdefault(cid, []).append((pk, content))
    found = {}
    for message in messages:
        before = [content for pk, content in asked.get(message.conversation_id, []) if pk < message.pk]
        found[message.pk] = before[-1] if before else ""
    return found
