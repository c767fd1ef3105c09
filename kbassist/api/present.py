"""How the API shows things: citations with absolute links, documents, FAQs, collections and
their model names (``kb-assist/<slug>``), Server-Sent Events, and a whole answer for the
doors that reply once."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from django.utils.text import slugify

from kbassist.knowledge.models import FAQ, Collection, Document

MODEL = "kb-assist"  # every collection the key may see
CITATION_FIELDS = ("n", "kind", "title", "collection", "document_id", "faq_id", "faq_question", "chunk_id", "page",
                   "section", "location", "text", "url", "cited", "support",
                   "updated", "review_by", "past_review")  # how old the source is (knowledge.freshness)


def absolute(request, url: str | None) -> str | None:
    return request.build_absolute_uri(url) if url else None


def citation(request, source: dict) -> dict:
    """One source of an answer: document, page/section, the passage text, and links (``url``
    relative to this server, ``link`` absolute: the file, at its page, for a signed-in browser;
    ``api_url`` the same file for a program with the key)."""
    data = {k: source.get(k) for k in CITATION_FIELDS}
    data["cited"] = bool(source.get("cited"))
    data["support"] = source.get("support") or []
    data["past_review"] = bool(source.get("past_review"))  # answers saved before citations carried it
    data["link"] = absolute(request, source.get("url"))
    data["api_url"] = absolute(request, f"/api/v1/documents/{source['document_id']}/file") if source.get("document_id") else None
    return data


def collection_slugs(collections) -> dict[int, str]:
    """A short, stable, unique name per collection: its slugified name (or ``collection-<id>``
    when the name has no Latin letters), with ``-<id>`` added where two would clash."""
    collections = list(collections)
    base = {c.pk: slugify(c.name) or f"collection-{c.pk}" for c in collections}
    counts: dict[str, int] = {}
    for slug in base.values():
        counts[slug] = counts.get(slug, 0) + 1
    return {pk: slug if counts[slug] == 1 else f"{slug}-{pk}" for pk, slug in base.items()}


def slug_of(collection: Collection) -> str:
    """The slug of ``collection`` among all collections (so it does not depend on who asks)."""
    return collection_slugs(Collection.objects.all())[collection.pk]


def model_names(user) -> dict[str, list[int] | None]:
    """The models a user may ask: ``kb-assist`` (all their collections) and one per collection."""
    visible = set(Collection.objects.visible_to(user).values_list("pk", flat=True))
    slugs = collection_slugs(Collection.objects.all())
    models: dict[str, list[int] | None] = {MODEL: None}
    for pk, slug in sorted(slugs.items(), key=lambda item: item[1]):
        if pk in visible:
            models[f"{MODEL}/{slug}"] = [pk]
    return models


def collection_data(collection: Collection, slug: str, can_edit: bool) -> dict:
    return {
        "id": collection.pk,
        "name": collection.name,
        "slug": slug,
        "model": f"{MODEL}/{slug}",
        "description": collection.description,
        "is_public": collection.is_public,
        "can_edit": can_edit,
        "documents": getattr(collection, "n_documents", None),
        "faqs": getattr(collection, "n_faqs", None),
    }


def document_data(request, document: Document) -> dict:
    return {
        "id": document.pk,
        "collection": document.collection_id,
        "title": str(document),
        "original_name": document.original_name,
        "status": document.status,
        "progress": document.progress,
        "chunk_count": document.chunk_count,
        "page_count": document.page_count,
        "error": document.error,
        "size": document.size,
        "sha256": document.sha256,
        "created_at": document.created_at,
        "updated_at": document.updated_at,
        "ingested_at": document.ingested_at,
        "link": absolute(request, document.get_absolute_url()),
        "api_url": absolute(request, f"/api/v1/documents/{document.pk}/file"),
    }


def faq_data(faq: FAQ) -> dict:
    return {
        "id": faq.pk,
        "collection": faq.collection_id,
        "question": faq.question,
        "answer": faq.answer,
        "origin": faq.origin,
        "created_at": faq.created_at,
        "updated_at": faq.updated_at,
    }


def sse(data, event: str | None = None) -> bytes:
    """One Server-Sent Event: an optional ``event:`` line and JSON (or a literal) as data."""
    text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False, default=str)
    head = f"event: {event}\n" if event else ""
    return (head + "".join(f"data: {line}\n" for line in text.split("\n")) + "\n").encode("utf-8")


def sse_comment(text: str) -> bytes:
    """A line SSE clients ignore (keeps a quiet connection open, e.g. while queued)."""
    return f": {text}\n\n".encode("utf-8")


@dataclass
class WholeAnswer:
    """An answer's event stream read to its end (REST and OpenAI-compatible replies that are not streamed)."""

    conversation_id: int | None = None
    query: str | None = None  # what was searched for
    done: dict | None = None  # the "done" event; None when the answer failed
    errors: list[str] = field(default_factory=list)

    @property
    def problem(self) -> str:
        return "; ".join(self.errors) or "No answer."


async def whole_answer(events, conversation_id: int | None = None) -> WholeAnswer:
    """Read ``events`` (``chat.streaming.stream_events``) to the end."""
    answer = WholeAnswer(conversation_id=conversation_id)
    async for event in events:
        kind = event["type"]
        if kind == "conversation":
            answer.conversation_id = event["id"]
        elif kind == "sources":
            answer.query = event.get("query")
        elif kind == "error":
            answer.errors.append(event["message"])
        elif kind == "done":
            answer.done = event
    return answer
