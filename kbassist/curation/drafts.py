"""From a gap to an FAQ: the chat model drafts an answer from the nearest passages (a draft
until a curator saves it), the curator saves it as an FAQ in a collection they may edit,
and the gap's questions are asked again, without the model, to show they are now answered."""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from kbassist import audit
from kbassist.chat.answering import explain
from kbassist.chat.prompt import build_messages
from kbassist.chat.turn import source_dict
from kbassist.ingestion.pipeline import ingest_faqs
from kbassist.knowledge.auditing import faq_subject
from kbassist.knowledge.models import FAQ, Collection
from kbassist.llm import GenerationError, get_backend
from kbassist.retrieval.search import search
from kbassist.text import strip_citations

from .access import curated_collections
from .models import Gap, GapQuestion

log = logging.getLogger(__name__)


def nearest_passages(gap: Gap, curator) -> list:
    """The passages nearest the gap's representative question, among the collections the
    curator may both search and edit."""
    editable = list(curated_collections(curator).values_list("pk", flat=True))
    return search(gap.representative, curator, collection_ids=editable).hits


def request_draft(gap: Gap, curator):
    """Queue the model's draft (``tasks.draft_faq_task``); the page shows it when ready."""
    from .tasks import draft_faq_task

    Gap.objects.filter(pk=gap.pk).update(draft_status=Gap.Draft.QUEUED, draft_answer="", draft_error="", draft_passages=[])
    transaction.on_commit(lambda: draft_faq_task.delay(gap.pk, curator.pk))


def draft_answer(gap_id: int, curator_id: int, backend=None) -> Gap:
    """The chat model's proposed answer to the gap's question, from the nearest passages."""
    gap = Gap.objects.get(pk=gap_id)
    curator = get_user_model().objects.get(pk=curator_id)
    hits = nearest_passages(gap, curator)
    passages = [source_dict(n, h) for n, h in enumerate(hits, start=1)]
    try:
        backend = backend or get_backend()
        budget = backend.context_size - settings.KB_LLM_MAX_TOKENS - 16
        messages, used = build_messages(gap.representative, [h.chunk for h in hits], [], backend.count_tokens, budget)
        text = "".join(backend.stream(messages, max_tokens=settings.KB_LLM_MAX_TOKENS, temperature=settings.KB_LLM_TEMPERATURE))
        gap.draft_answer, gap.draft_status, gap.draft_error = text.strip(), Gap.Draft.READY, ""
        gap.draft_passages = passages[:used]
    except GenerationError as exc:
        gap.draft_status, gap.draft_error, gap.draft_passages = Gap.Draft.FAILED, str(exc), passages
    except Exception as exc:  # the page waits for this draft: never leave it "being drafted"
        log.exception("drafting an FAQ for gap %s failed", gap_id)
        gap.draft_status, gap.draft_error, gap.draft_passages = Gap.Draft.FAILED, f"{exc.__class__.__name__}: {exc}", passages
    gap.save(update_fields=["draft_answer", "draft_status", "draft_error", "draft_passages", "updated_at"])
    return gap


def save_faq(gap: Gap, curator, collection: Collection, question: str, answer: str) -> FAQ:
    """Make the FAQ, index it at once (so it is answered first from now on), resolve the gap
    and ask its questions again."""
    if not curated_collections(curator).filter(pk=collection.pk).exists():
        raise PermissionError("You may not edit this collection.")
    faq = FAQ.objects.create(collection=collection, question=question.strip(), answer=strip_citations(answer).strip(),
                             origin=FAQ.Origin.CURATED)
    audit.record(audit.Kind.FAQ_EDIT, user=curator, summary=f"added FAQ “{faq.question[:120]}” for knowledge gap {gap.pk}",
                 subjects=[faq_subject(faq, audit.Role.CHANGED)], action="added", faq_id=faq.pk, gap_id=gap.pk,
                 collection=collection.name)
    ingest_faqs([faq.pk])  # the signal queues this too; doing it now lets the re-run see the FAQ
    gap.faq, gap.status, gap.resolved_at, gap.resolved_by = faq, Gap.Status.RESOLVED, timezone.now(), curator
    gap.save(update_fields=["faq", "status", "resolved_at", "resolved_by", "updated_at"])
    rerun(gap)
    return faq


def rerun(gap: Gap) -> list[GapQuestion]:
    """Ask each of the gap's questions again as its asker would, without the model (the
    chat's own translation of a Chinese question, kept with the answer, is reused), and
    record which path answers it now."""
    questions = list(gap.questions.select_related("record", "record__asker", "record__message"))
    now = timezone.now()
    for q in questions:
        record = q.record
        asker = record.asker
        if asker is None:
            q.rerun_kind, q.rerun_detail = "", "the asker's account is gone"
        else:
            ex = explain(record.question, user=asker, query=record.message.search_query or None)
            q.rerun_kind = ex.path
            used = [n for n, h in enumerate(ex.hits, start=1) if gap.faq_id and h.chunk.faq_id == gap.faq_id]
            if ex.curated is not None:
                which = "the new FAQ" if ex.curated.hit.chunk.faq_id == gap.faq_id else "another FAQ"
                q.rerun_detail = (f"{which}: {ex.curated.hit.chunk.faq.question[:120]} "
                                  f"({ex.curated.measure} {ex.curated.similarity:.2f})")
            elif used and ex.path in ("generated", "quoted"):
                q.rerun_detail = f"answered from the sources; the new FAQ is source [{used[0]}]"
            else:
                q.rerun_detail = ex.reason[:200]
        q.rerun_at = now
    GapQuestion.objects.bulk_update(questions, ["rerun_kind", "rerun_detail", "rerun_at"])
    return questions
