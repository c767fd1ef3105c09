"""What an audit event is about, as plain values (no model of another app is imported here)."""

from __future__ import annotations

from dataclasses import dataclass


class Role:
    """How an event touched a collection, document, FAQ or chunk."""

    SEARCHED = "searched"  # a collection searched for a question
    RETRIEVED = "retrieved"  # a chunk retrieval returned that the user was not shown
    SHOWN = "shown"  # a chunk sent to the user: its text as a source, or its title in a refusal
    CITED = "cited"  # a chunk the answer cites
    OPENED = "opened"  # a source file or passage opened by the user
    CHANGED = "changed"  # the object of an admin change (upload, replace, delete, edit)
    DENIED = "denied"  # asked for, and refused (not visible to the user)

    LABELS = {
        SEARCHED: "searched",
        RETRIEVED: "retrieved, not shown",
        SHOWN: "shown",
        CITED: "cited",
        OPENED: "opened",
        CHANGED: "changed",
        DENIED: "refused",
    }
    # The roles in which the user had (or handled) the content: "who could have seen it".
    SEEN = (SHOWN, CITED, OPENED, CHANGED)
    # For one chunk in one answer, the strongest role wins.
    RANK = {RETRIEVED: 0, SHOWN: 1, CITED: 2}


@dataclass(frozen=True)
class Subject:
    """A collection, document, FAQ entry or chunk an event concerns, with the names it had
    then (the audit trail outlives renames and deletions: ids are kept, never foreign keys)."""

    role: str
    collection_id: int | None = None
    collection_name: str = ""
    document_id: int | None = None
    document_name: str = ""  # "Title (file-name.pdf)" or "FAQ: question"
    faq_id: int | None = None
    chunk_id: int | None = None
