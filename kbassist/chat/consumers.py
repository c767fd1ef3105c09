"""The chat websocket: thin glue between the browser and ``answering.answer``.

Client -> server:  {"type": "ask", "question": "...", "conversation_id": 12 | null}
                   {"type": "regenerate", "conversation_id": 12}
                   {"type": "stop"}
Server -> client:  the events of ``answer()`` as they happen (see answering.py).

Guard rails: a frame that is not a JSON object, or whose fields have the wrong type, is
answered with an error event (``code`` "bad_frame", "too_large", "too_long") and the socket
stays open; questions count against the user's rate limits (``code`` "rate_limited", with
``retry_after``). Nothing a client sends closes the socket or reaches the log as a traceback.

``answer()`` is synchronous (database, llama.cpp), so it runs in a thread of its own
(``streaming.stream_events``, shared with the HTTP API's streams); events cross back to the
event loop as they happen. A stop message or a closed socket sets a flag that the generator
checks between tokens.
"""

from __future__ import annotations

import asyncio
import logging
import threading

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.utils import translation
from django.utils.translation import gettext, gettext_noop

from kbassist.guardrails.frames import BadFrame, id_field, question_field, read_frame
from kbassist.guardrails.limits import check_question_rate
from kbassist.text import is_chinese

from .streaming import AskRequest, stream_events

log = logging.getLogger(__name__)
UNKNOWN_TYPE = gettext_noop("Unknown message type %(type)r: use \"ask\", \"regenerate\" or \"stop\".")
WAIT = gettext_noop("Please wait for the current answer (or stop it).")
FAILED = gettext_noop("Something went wrong while answering.")


def _language(question: str) -> str:
    """Guard messages follow the language of the question, as answers do."""
    return "zh-hans" if question and is_chinese(question) else "en"


class ChatConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        self.user = self.scope.get("user")
        if self.user is None or not self.user.is_authenticated:
            await self.close(code=4401)
            return
        self.stop_flag = threading.Event()
        self.busy = False  # an answer is streaming on this socket
        self.task: asyncio.Task | None = None
        await self.accept()

    async def disconnect(self, code):
        if getattr(self, "task", None) is None:
            return
        self.stop_flag.set()
        try:  # let the answer wind down (it saves the partial message) before the loop goes
            await asyncio.wait_for(asyncio.shield(self.task), timeout=30)
        except Exception:
            log.warning("answer did not finish within 30 s of the disconnect")

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        """Every frame: read as a JSON object, or answered with an error event. Nothing a
        client sends closes the socket."""
        try:
            await self.receive_json(read_frame(text_data, bytes_data))
        except BadFrame as bad:
            await self.send_json(bad.event())
        except Exception:
            log.exception("a websocket frame could not be handled")
            await self.send_json({"type": "error", "code": "failed", "message": gettext(FAILED)})

    async def receive_json(self, content, **kwargs):
        kind = content["type"]
        if kind == "stop":
            self.stop_flag.set()
            return
        if kind not in ("ask", "regenerate"):
            raise BadFrame(gettext(UNKNOWN_TYPE) % {"type": kind[:40]})
        raw = content.get("question")
        language = _language(raw if isinstance(raw, str) else "")
        with translation.override(language):
            conversation_id = id_field(content, "conversation_id")
            question = question_field(content) if kind == "ask" else ""
        if self.busy:
            with translation.override(language):
                await self.send_json({"type": "error", "code": "answer_in_progress", "message": gettext(WAIT)})
            return
        if refusal := await database_sync_to_async(self._check_rate)(language):
            await self.send_json(refusal.event())
            return
        self.busy = True
        self.stop_flag = threading.Event()
        request = AskRequest(
            question=question,
            conversation_id=conversation_id,
            regenerate=kind == "regenerate",
            address=(self.scope.get("client") or [None])[0],
            via="websocket",
            language=language,
        )
        self.task = asyncio.create_task(self._stream(request, self.stop_flag))

    def _check_rate(self, language):
        client = self.scope.get("client") or ("",)
        with translation.override(language):
            return check_question_rate(self.user, client[0])

    async def _stream(self, request, stop_flag):
        try:
            async for event in stream_events(self.user, request, stop_flag):
                if event["type"] in ("done", "error"):
                    self.busy = False
                elif stop_flag.is_set() and event["type"] == "token":
                    continue  # tokens already in flight when the user pressed stop
                try:
                    await self.send_json(event)
                except Exception:  # the socket went away; let the generator wind down
                    stop_flag.set()
        finally:
            self.busy = False
