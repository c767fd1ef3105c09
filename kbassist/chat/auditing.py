"""Each question answered is an audit event: who asked what, through which door, from which
address, which collections were searched, and which chunks were retrieved, shown and cited."""

from __future__ import annotations

from kbassist import audit
from kbassist.audit import Kind, Role
from kbassist.guardrails.pii import for_storage
from kbassist.knowledge.auditing import chunk_subjects, collections_searched

from .turn import Outcome, Turn


def record_question(turn: Turn, outcome: Outcome | None, message_id: int | None = None):
    """``outcome`` None: answering failed; what was shown until then is still recorded."""
    retrieved = [h.chunk.pk for h in turn.found.hits] if turn.found is not None else []
    shown_sources = turn.shown + (outcome.shown + outcome.citations if outcome is not None else [])
    shown = list(dict.fromkeys(s["chunk_id"] for s in shown_sources if s.get("chunk_id")))
    cited = list(dict.fromkeys(c["chunk_id"] for c in (outcome.citations if outcome else []) if c.get("cited") and c.get("chunk_id")))
    roles: dict[int, str] = dict.fromkeys(retrieved, Role.RETRIEVED)
    roles.update(dict.fromkeys(shown, Role.SHOWN))
    roles.update(dict.fromkeys(cited, Role.CITED))
    audit.record(
        Kind.QUESTION,
        user=turn.user,
        address=turn.address,
        summary=for_storage(turn.question),
        subjects=collections_searched(turn.collections) + chunk_subjects(roles),
        question=for_storage(turn.question),
        via=turn.via,
        conversation_id=turn.conversation.pk,
        message_id=message_id,
        answer_kind=outcome.kind if outcome else "",
        status=outcome.status if outcome else "error",
        search_query=for_storage(outcome.query) if outcome else "",
        regenerate=turn.regenerate,
        collections=[c.pk for c in turn.collections],
        retrieved=retrieved,
        shown=shown,
        cited=cited,
    )
