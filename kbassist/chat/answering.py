"""``answer()``: one question in, a stream of events out. Every chat surface uses it.

The websocket consumer, the ``ask`` command and the tests all iterate this same generator.
Events are plain dicts with a ``type``:

  conversation  {"id", "title"}                   the conversation the exchange belongs to
  queued        {"position"}                      waiting for the model; 1 = next in line
  sources       {"query", "query_how", "sources"} what was searched and found, numbered from 1
  token         {"text"}                          a piece of the answer
  done          {"message_id", "kind", "status", "answer", "html", "citations", "timings", ...}
  error         {"message"}                       something failed; what could be shown, is

An answer takes the first of these paths that applies:
  cached     the same question over the same, unchanged collections was answered before
  curated    an FAQ entry asks the same thing: its answer is returned as written
  refused    nothing retrieved is relevant enough: say so, suggest the closest FAQs
  generated  the model answers from the retrieved sources (follow-ups are first rewritten)
  passages   the model is unavailable or failed: the passages, with citations
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator

from django.conf import settings
from django.db.models import F

from kbassist.knowledge.models import Collection
from kbassist.llm import GenerationError, get_backend
from kbassist.llm.queue import generation_queue
from kbassist.retrieval.search import search

from . import policy
from .attribution import attribute, cited_numbers
from .models import CachedAnswer, Conversation, Message
from .prompt import build_messages, is_chinese
from .rendering import render_markdown
from .rewrite import concatenated, needs_rewrite, standalone_question

log = logging.getLogger(__name__)

QUEUE_POLL_SECONDS = 0.5
Kind, Status = Message.Kind, Message.Status

TEXTS = {
    "en": {
        "refused": "The knowledge base does not cover this question, so I would rather not guess.",
        "closest": "The closest FAQ entries:",
        "curators": "Your question has been passed on to the people who maintain the knowledge base.",
        "unavailable": "The language model is unavailable right now. These passages from the knowledge base are the closest match:",
    },
    "zh": {
        "refused": "知识库中没有涵盖这个问题，为避免误导，我不作猜测。",
        "closest": "最接近的常见问题：",
        "curators": "您的问题已转给知识库维护人员。",
        "unavailable": "语言模型暂时不可用。以下是知识库中最相关的段落：",
    },
}


class _Clock:
    def __init__(self):
        self.start = time.perf_counter()

    def ms(self) -> float:
        return round((time.perf_counter() - self.start) * 1000, 1)


def answer(
    question: str,
    *,
    user,
    conversation: Conversation | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    backend=None,
    queue=None,
    regenerate: bool = False,
) -> Iterator[dict]:
    """Answer ``question`` for ``user``; ``regenerate`` re-answers the conversation's last
    question with the model (no cache, no curated answer) without saving the question again."""
    question = question.strip()
    if not question:
        yield {"type": "error", "message": "Please type a question."}
        return
    clock = _Clock()
    queue = queue or generation_queue
    texts = TEXTS["zh" if is_chinese(question) else "en"]

    if conversation is None:
        conversation = Conversation.objects.create(user=user, title=question[:80])
    elif conversation.user_id != user.pk:
        raise PermissionError("This conversation belongs to someone else.")
    history = conversation.history(settings.KB_HISTORY_TURNS)
    if regenerate and history and history[-1].role == Message.Role.USER:
        history = history[:-1]  # the question being answered again is not its own history
    if not regenerate:
        Message.objects.create(conversation=conversation, role=Message.Role.USER, kind=Kind.QUESTION, content=question)
    yield {"type": "conversation", "id": conversation.pk, "title": conversation.title}

    visible = list(Collection.objects.visible_to(user).values_list("pk", flat=True))
    timings: dict = {}
    use_cache = settings.KB_ANSWER_CACHE and not history and not regenerate
    key = policy.cache_key(question, visible) if use_cache else ""

    # 1. Cached answer.
    cached = CachedAnswer.objects.filter(key=key).first() if use_cache else None
    if cached is not None:
        CachedAnswer.objects.filter(pk=cached.pk).update(hits=F("hits") + 1)
        yield {"type": "sources", "query": cached.search_query, "query_how": "cached", "sources": cached.citations}
        timings["ttft_ms"] = clock.ms()
        yield {"type": "token", "text": cached.answer}
        yield _finish(conversation, cached.answer, Kind.CACHED, Status.COMPLETE, cached.citations, cached.search_query, timings, clock)
        return

    ticket = None
    try:
        # 2. What to search for: follow-ups are rewritten by the model, which needs the slot.
        query, how = question, "as asked"
        if needs_rewrite(question, history):
            if settings.KB_QUERY_REWRITE:
                ticket = queue.join()
                if not (yield from _wait_turn(ticket, should_stop)):
                    yield _finish(conversation, "", Kind.GENERATED, Status.STOPPED, [], question, timings, clock)
                    return
                backend = backend or _backend_or_none()
                if backend is not None:
                    query, how = standalone_question(question, history, backend)
                else:
                    query, how = concatenated(question, history), "concatenated"
            else:
                query, how = concatenated(question, history), "concatenated"

        result = search(query, user)
        hits = result.hits
        timings["retrieval_ms"] = clock.ms()

        # 3. Curated answer: an FAQ that asks the same thing.
        match = None if regenerate else policy.find_curated(query if history else question, hits)
        if match is not None:
            sources = [_source(1, match.hit)]
            yield {"type": "sources", "query": query, "query_how": how, "sources": sources}
            text = f"{match.hit.chunk.faq.answer.strip()} [1]"
            timings["ttft_ms"] = clock.ms()
            timings["faq_similarity"] = round(match.similarity, 3)
            yield {"type": "token", "text": text}
            yield _finish(conversation, text, Kind.CURATED, Status.COMPLETE, _cite(sources, text), query, timings, clock)
            return

        # 4. Refusal: nothing relevant enough was found.
        relevance = policy.judge_relevance(query, hits)
        timings["relevance"] = {"dense": round(relevance.dense, 3), "coverage": round(relevance.coverage, 3), "by": relevance.measure}
        if not relevance.relevant:
            suggestions = [_source(n, h) for n, h in enumerate([h for h in hits if h.chunk.faq_id][:3], start=1)]
            yield {"type": "sources", "query": query, "query_how": how, "sources": []}
            text = texts["refused"]
            if suggestions:
                text += "\n\n" + texts["closest"] + "\n" + "\n".join(f"- {s['faq_question']}" for s in suggestions)
            text += "\n\n" + texts["curators"]
            timings["ttft_ms"] = clock.ms()
            yield {"type": "token", "text": text}
            done = _finish(conversation, text, Kind.REFUSED, Status.COMPLETE, [], query, timings, clock)
            done["suggestions"] = suggestions
            yield done
            return

        # 5. The model answers from the sources.
        sources = [_source(n, h) for n, h in enumerate(hits, start=1)]
        yield {"type": "sources", "query": query, "query_how": how, "sources": sources}
        if ticket is None:
            ticket = queue.join()
            if not (yield from _wait_turn(ticket, should_stop)):
                yield _finish(conversation, "", Kind.GENERATED, Status.STOPPED, _cite(sources, ""), query, timings, clock)
                return
        timings["queue_ms"] = round(clock.ms() - timings["retrieval_ms"], 1)
        pieces: list[str] = []
        status, kind, error = Status.COMPLETE, Kind.GENERATED, None
        model_name = ""
        try:
            backend = backend or get_backend()
            model_name = backend.name
            budget = backend.context_size - settings.KB_LLM_MAX_TOKENS - 16
            messages, n_used = build_messages(question, [h.chunk for h in hits], history, backend.count_tokens, budget)
            sources = sources[:n_used]  # the ones that fitted in the model's context
            first = last = None
            for piece in backend.stream(
                messages,
                max_tokens=settings.KB_LLM_MAX_TOKENS,
                temperature=settings.KB_LLM_TEMPERATURE,
                should_stop=should_stop,
            ):
                last = time.perf_counter()
                if first is None:
                    first = last
                    timings["ttft_ms"] = clock.ms()
                pieces.append(piece)
                yield {"type": "token", "text": piece}
            if should_stop():
                status = Status.STOPPED
            timings["tokens"] = len(pieces)
            if first is not None and len(pieces) > 1 and last > first:
                timings["tokens_per_s"] = round((len(pieces) - 1) / (last - first), 1)
        except GenerationError as exc:
            log.warning("generation failed: %s", exc)
            status, error = Status.ERROR, str(exc)
        finally:
            ticket.release()
            ticket = None

        text = "".join(pieces).strip()
        if error:
            yield {"type": "error", "message": f"{texts['unavailable']} ({error})"}
            if not text:
                kind = Kind.PASSAGES
                text = texts["unavailable"] + "\n\n" + "\n".join(
                    f"- [{s['n']}] {s['title']}" + (f" ({s['location']})" if s["location"] else "") for s in sources
                )
        text = attribute(text, [s["text"] for s in sources])
        done = _finish(conversation, text, kind, status, _cite(sources, text), query, timings, clock, model_name)
        if use_cache and kind == Kind.GENERATED and status == Status.COMPLETE and text:
            CachedAnswer.objects.update_or_create(
                key=key,
                defaults={"question": question, "answer": text, "citations": done["citations"], "search_query": query,
                          "source_message_id": done["message_id"]},
            )
        yield done
    finally:
        if ticket is not None:
            ticket.release()


def _wait_turn(ticket, should_stop):
    """Yield ``queued`` events until ``ticket``'s turn comes; False if the user gave up."""
    last_position = None
    while not ticket.wait(QUEUE_POLL_SECONDS):
        if should_stop():
            return False
        position = ticket.position
        if position and position != last_position:
            last_position = position
            yield {"type": "queued", "position": position}
    return not should_stop()


def _backend_or_none():
    try:
        return get_backend()
    except GenerationError:
        return None


def _source(n: int, hit) -> dict:
    data = {"n": n, **hit.as_dict(), "text": hit.chunk.text}
    if hit.chunk.faq_id:
        data["faq_question"] = hit.chunk.faq.question
    return data


def _cite(sources: list[dict], text: str) -> list[dict]:
    cited = cited_numbers(text, len(sources))
    return [{**s, "cited": s["n"] in cited} for s in sources]


def _finish(conversation, text, kind, status, citations, query, timings, clock, model_name="") -> dict:
    timings["total_ms"] = clock.ms()
    message = Message.objects.create(
        conversation=conversation,
        role=Message.Role.ASSISTANT,
        content=text,
        kind=kind,
        status=status,
        search_query=query,
        citations=citations,
        timings=timings,
        model_name=model_name,
    )
    conversation.save(update_fields=["updated_at"])
    return {
        "type": "done",
        "message_id": message.pk,
        "kind": kind,
        "status": status,
        "answer": text,
        "html": render_markdown(text, len(citations)),
        "citations": citations,
        "timings": timings,
    }
