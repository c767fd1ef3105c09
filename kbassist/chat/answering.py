"""``answer()``: one question in, a stream of events out. Every chat surface uses it.

The websocket consumer, the ``ask`` command and the tests all iterate this same generator.
Events are plain dicts with a ``type``:

  conversation  {"id", "title"}                  the conversation the exchange belongs to
  sources       {"query", "sources": [...]}     what retrieval found, numbered from 1
  queued        {"position"}                     waiting for the model; 1 = next in line
  token         {"text"}                         a piece of the answer
  done          {"message_id", "status", "answer", "html", "citations", "timings"}
  error         {"message"}                      the answer failed; sources stay useful
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator

from django.conf import settings

from kbassist.llm import GenerationError, get_backend
from kbassist.llm.queue import generation_queue
from kbassist.retrieval.search import search

from .models import Conversation, Message
from .attribution import attribute, cited_numbers
from .prompt import build_messages, search_query_for
from .rendering import render_markdown

log = logging.getLogger(__name__)

QUEUE_POLL_SECONDS = 0.5


def answer(
    question: str,
    *,
    user,
    conversation: Conversation | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    backend=None,
    queue=None,
) -> Iterator[dict]:
    question = question.strip()
    if not question:
        yield {"type": "error", "message": "Please type a question."}
        return
    started = time.perf_counter()
    queue = queue or generation_queue

    if conversation is None:
        conversation = Conversation.objects.create(user=user, title=question[:80])
    elif conversation.user_id != user.pk:
        raise PermissionError("This conversation belongs to someone else.")
    history = conversation.history(settings.KB_HISTORY_TURNS)
    Message.objects.create(conversation=conversation, role=Message.Role.USER, content=question)
    yield {"type": "conversation", "id": conversation.pk, "title": conversation.title}

    query = search_query_for(question, history)
    result = search(query, user)
    hits = result.hits
    sources = [{"n": n, **hit.as_dict(), "text": hit.chunk.text} for n, hit in enumerate(hits, start=1)]
    timings = {"retrieval_ms": round((time.perf_counter() - started) * 1000, 1)}
    yield {"type": "sources", "query": query, "sources": sources}

    pieces: list[str] = []
    status = Message.Status.COMPLETE
    error = None
    model_name = ""
    ticket = queue.join()
    try:
        last_position = None
        while not ticket.wait(QUEUE_POLL_SECONDS):
            if should_stop():
                break
            position = ticket.position
            if position and position != last_position:
                last_position = position
                yield {"type": "queued", "position": position}
        if should_stop():
            status = Message.Status.STOPPED
        else:
            timings["queue_ms"] = round((time.perf_counter() - started) * 1000 - timings["retrieval_ms"], 1)
            backend = backend or get_backend()
            model_name = backend.name
            budget = backend.context_size - settings.KB_LLM_MAX_TOKENS - 16
            messages, n_used = build_messages(
                question, [h.chunk for h in hits], history, backend.count_tokens, budget
            )
            sources = sources[:n_used]
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
                    timings["ttft_ms"] = round((first - started) * 1000, 1)
                pieces.append(piece)
                yield {"type": "token", "text": piece}
            if should_stop():
                status = Message.Status.STOPPED
            timings["tokens"] = len(pieces)
            if first is not None and last is not None and len(pieces) > 1 and last > first:
                timings["tokens_per_s"] = round((len(pieces) - 1) / (last - first), 1)
    except GenerationError as exc:
        log.warning("generation failed: %s", exc)
        status, error = Message.Status.ERROR, str(exc)
    finally:
        ticket.release()

    text = "".join(pieces).strip()
    if error:
        yield {"type": "error", "message": f"The language model is unavailable ({error}). The most relevant passages are listed below."}
        if not text:
            text = "The language model is unavailable right now. These passages from the knowledge base are the closest match:\n\n" + "\n".join(
                f"- [{s['n']}] {s['title']}" + (f" ({s['location']})" if s["location"] else "") for s in sources
            )
    text = attribute(text, [s["text"] for s in sources])
    cited = cited_numbers(text, len(sources))
    citations = [{**s, "cited": s["n"] in cited} for s in sources]
    timings["total_ms"] = round((time.perf_counter() - started) * 1000, 1)
    message = Message.objects.create(
        conversation=conversation,
        role=Message.Role.ASSISTANT,
        content=text,
        status=status,
        search_query=query,
        citations=citations,
        timings=timings,
        model_name=model_name,
    )
    conversation.save(update_fields=["updated_at"])
    yield {
        "type": "done",
        "message_id": message.pk,
        "status": status,
        "answer": text,
        "html": render_markdown(text, len(sources)),
        "citations": citations,
        "timings": timings,
    }

