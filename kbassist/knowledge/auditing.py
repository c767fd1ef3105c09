"""How the knowledge base describes itself to the audit trail: collections, documents, FAQ
entries and chunks as ``audit.Subject`` values (ids and the names they have now)."""

from __future__ import annotations

from collections.abc import Iterable

from kbassist.audit import Role, Subject

from .models import FAQ, Chunk, Collection, Document


def document_name(document: Document) -> str:
    """"Title (file.md)", or just the file name: the filter matches either."""
    title, name = (document.title or "").strip(), document.original_name or ""
    if title and name and title != name:
        return f"{title} ({name})"
    return title or name or f"Document {document.pk}"


def collection_subject(collection: Collection, role: str = Role.CHANGED) -> Subject:
    return Subject(role, collection_id=collection.pk, collection_name=collection.name)


def document_subject(document: Document, role: str) -> Subject:
    return Subject(role, collection_id=document.collection_id, collection_name=document.collection.name,
                   document_id=document.pk, document_name=document_name(document))


def faq_subject(faq: FAQ, role: str) -> Subject:
    return Subject(role, collection_id=faq.collection_id, collection_name=faq.collection.name,
                   faq_id=faq.pk, document_name=f"FAQ: {faq.question[:200]}")


def chunk_subject(chunk: Chunk, role: str) -> Subject:
    if chunk.faq_id:
        base = faq_subject(chunk.faq, role)
    else:
        base = document_subject(chunk.document, role)
    return Subject(role, base.collection_id, base.collection_name, base.document_id, base.document_name, base.faq_id, chunk.pk)


def chunk_subjects(roles: dict[int, str]) -> list[Subject]:
    """Subjects for the chunks ``{chunk_id: role}`` (one query; chunks deleted meanwhile are
    left out here, their ids stay in the event's details)."""
    chunks = Chunk.objects.select_related("collection", "document", "faq").in_bulk(list(roles))
    return [chunk_subject(chunks[cid], role) for cid, role in roles.items() if cid in chunks]


def collections_searched(collections: Iterable[Collection]) -> list[Subject]:
    return [collection_subject(c, Role.SEARCHED) for c in collections]


def access_state(collection: Collection) -> dict:
    """Who may see and edit a collection, by group name, as it is now."""
    return {
        "is_public": collection.is_public,
        "groups": sorted(g.name for g in collection.groups.all()),
        "editor_groups": sorted(g.name for g in collection.editor_groups.all()),
    }
