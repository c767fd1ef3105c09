"""The events of one request, for every door that streams them: the chat websocket, the REST
API's Server-Sent Events and the OpenAI-compatible stream all take them from here.

``request_events`` is the plain generator: it finds the user's conversation and answers (or
regenerates). ``stream_events`` runs it in a thread of its own (``answer()`` is synchronous:
database, llama.cpp) and hands its events to an event loop as they happen; leaving the
``async for`` early (a closed socket, a client that went away) sets the stop flag, which the
generator checks between tokens, so the model is freed at once and the partial answer saved.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import nullcontext
from dataclasses import dataclass

from django.conf import settings
from django.db import close_old_connections
from django.utils import translation
from django.utils.translation import gettext, gettext_noop

from .answering import answer, regenerate
from .models import Conversation

log = logging.getLogger(__name__)
_END = object()
MAX_QUESTION = settings.KB_MAX_QUESTION_CHARS  # a longer question is refused (answer() says so; the API with a 422)

CONVERSATION_NOT_FOUND = "Conversation not found."
NOTHING_TO_REGENERATE = "There is no answer to regenerate."
FAILED = gettext_noop("Something went wrong while answering.")


@dataclass
class AskRequest:
    """One question (or regeneration) as a door received it."""

    question: str = ""
    conversation_id: int | None = None
    regenerate: bool = False
    collection_ids: list[int] | None = None  # narrows the user's collections; never widens them
    address: str | None = None  # the asker's network address, for the audit trail
    via: str = ""  # the door: "websocket", "api", "openai", "wecom", ...
    language: str = ""  # the language of messages about the request ("zh-hans", "en"); "" keeps the active one


def request_events(user, request: AskRequest, stop_flag: threading.Event) -> Iterator[dict]:
    """The events for one request: finds the user's conversation, then answers."""
    conversation = None
    if request.conversation_id:
        conversation = Conversation.objects.filter(pk=request.conversation_id, user=user).first()
        if conversation is None:
            yield {"type": "error", "message": CONVERSATION_NOT_FOUND}
            return
    options = {"user": user, "should_stop": stop_flag.is_set, "collection_ids": request.collection_ids,
               "address": request.address, "via": request.via}
    if request.regenerate:
        if conversation is None:
            yield {"type": "error", "message": NOTHING_TO_REGENERATE}
            return
        yield from regenerate(conversation, **options)
    else:
        yield from answer(request.question, conversation=conversation, **options)


async def stream_events(user, request: AskRequest, stop_flag: threading.Event) -> AsyncIterator[dict]:
    """``request_events`` run in a thread, its events yielded to the event loop as they come.

    An exception in the answer becomes an ``error`` event. Closing this iterator early (or
    cancelling the task iterating it) sets ``stop_flag``: the answer winds down in its thread.
    """
    loop = asyncio.get_running_loop()
    events: asyncio.Queue = asyncio.Queue()

    def emit(event):
        loop.call_soon_threadsafe(events.put_nowait, event)

    def produce():
        close_old_connections()
        language = translation.override(request.language) if request.language else nullcontext()
        try:
            with language:
                for event in request_events(user, request, stop_flag):
                    emit(event)
        except Exception:
            log.exception("answer failed")
            emit({"type": "error", "message": gettext(FAILED)})
        finally:
            close_old_connections()
            emit(_END)

    threading.Thread(target=produce, name="kbassist-answer", daemon=True).start()
    finished = False
    try:
        while (event := await events.get()) is not _END:
            yield event
        finished = True
    finally:
        if not finished:
            stop_flag.set()
