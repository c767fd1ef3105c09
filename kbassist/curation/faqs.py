"""Turning a chat answer into an FAQ entry (curated, so it is answered first from then on)."""

from __future__ import annotations

from kbassist import audit
from kbassist.chat.models import Message
from kbassist.chat.turn import sources_listed
from kbassist.knowledge.auditing import faq_subject
from kbassist.knowledge.models import FAQ, Collection
from kbassist.text import strip_citations


def promote(message: Message, user) -> FAQ | None:
    """An FAQ from ``message`` (an answer) and the question it replies to, in a collection
    ``user`` may edit: one it cited, else a public one. None when the answer is a refusal
    or empty, or no such collection exists."""
    asked = message.replies_to()
    if asked is None or message.kind == Message.Kind.REFUSED or not message.content.strip():
        return None
    editable = Collection.objects.editable_by(user)
    names = [c.get("collection") for c in sources_listed(message.citations, message.kind)]
    collection = editable.filter(name__in=[n for n in names if n]).first() or editable.filter(is_public=True).first()
    if collection is None:
        return None
    faq = FAQ.objects.create(
        collection=collection, question=asked.content, answer=strip_citations(message.content).strip(), origin=FAQ.Origin.CURATED
    )
    audit.record(
        audit.Kind.FAQ_PROMOTED, user=user, summary=f"answer {message.pk} became FAQ “{faq.question[:120]}”",
        subjects=[faq_subject(faq, audit.Role.CHANGED)], message_id=message.pk, faq_id=faq.pk,
        question=faq.question, answer=faq.answer, collection=collection.name,
    )
    return faq
