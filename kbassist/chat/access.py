"""What a user may still see of their own past answers.

Access follows group membership *now*: someone removed from a group (e.g. by the directory
sync at their next login) keeps their conversations, but the sources of collections they can
no longer see are withheld from the page and from the model, and so is an answer that cited
or quoted one of them (it was drawn from that collection).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.utils.translation import gettext, gettext_noop

from kbassist.knowledge.models import FAQ, Collection, Document
from kbassist.text import cited_numbers

from .models import Message

WITHHELD = gettext_noop("This answer drew on sources you can no longer see, so it is not shown.")


def withhold_unseen(messages: Iterable[Message], user) -> list[Message]:
    """``messages`` with every citation (and its quoted evidence) of a collection ``user``
    cannot see now removed, in memory only; an answer that cited one, or quotes it by its
    ``[n]``, is replaced by a note."""
    messages = list(messages)
    answers = [m for m in messages if m.role == Message.Role.ASSISTANT and m.citations]
    if not answers:
        return messages
    allowed = _citation_check(user, [c for m in answers for c in m.citations])
    for message in answers:
        kept = [c for c in message.citations if allowed(c)]
        if len(kept) == len(message.citations):
            continue
        # cited, or quoted in the text by its [n] (a refusal quotes the sentences that come
        # closest without citing them): the answer shows what the user may no longer see
        quoted = cited_numbers(message.content, len(message.citations))
        if any(c.get("cited") or c.get("n") in quoted for c in message.citations if not allowed(c)):
            message.content = gettext(WITHHELD)
            kept, message.evidence, message.verification = [], [], {}
        numbers = {c.get("n") for c in kept}
        message.citations = kept
        message.evidence = [e for e in message.evidence if e.get("n") in numbers]
    return messages


def _citation_check(user, citations: list[dict]):
    """A test of whether ``user`` may see a citation's source: its document's or FAQ's
    collection now, or (the source is gone) the collection it was cited from, by name."""
    visible = Collection.objects.visible_to(user)
    visible_ids = set(visible.values_list("pk", flat=True))
    visible_names = set(visible.values_list("name", flat=True))
    documents = dict(Document.objects.filter(pk__in={c["document_id"] for c in citations if c.get("document_id")}).values_list("pk", "collection_id"))
    faqs = dict(FAQ.objects.filter(pk__in={c["faq_id"] for c in citations if c.get("faq_id")}).values_list("pk", "collection_id"))

    def allowed(citation: dict) -> bool:
        if citation.get("document_id") in documents:
            return documents[citation["document_id"]] in visible_ids
        if citation.get("faq_id") in faqs:
            return faqs[citation["faq_id"]] in visible_ids
        if not (citation.get("collection") or citation.get("document_id") or citation.get("faq_id")):
            return True  # names no source at all: nothing to withhold
        return citation.get("collection") in visible_names

    return allowed
