"""The chat websocket: thin glue between the browser and ``answering.answer``.

Client -> server:  {"type": "ask", "question": "...", "conversation_id": 12 | null}
                   {"type": "regenerate", "conversation_id": 12}
                   {"type": "stop"}
Server -> client:  the events of ``answer()`` as they happen (see answering.py).

``answer()`` is synchronous (database, llama.cpp), so it runs in a thread of its own;
events cross back to the event loop through an asyncio queue. A stop message or a closed
socket sets a flag that the generator checks between tokens.
"""

from __future__ import annotations

import asyncio
import logging
import threading

from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.db import close_old_connections

from .answering import answer, regenerate
from .models import Conversation

log = logging.getLogger(__name__)
_END = object()


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

    async def receive_json(self, content, **kwargs):
        kind = content.get("type")
        if kind == "stop":
            self.stop_flag.set()
            return
        if kind not in ("ask", "regenerate"):
            await self.send_json({"type": "error", "message": f"Unknown message type {kind!r}."})
            return
        if self.busy:
            await self.send_json({"type": "error", "message": "Please wait for the current answer (or stop it)."})
            return
        self.busy = True
        self.stop_flag = threading.Event()
        request = {
            "question": str(content.get("question", ""))[:4000],
            "conversation_id": content.get("conversation_id"),
            "regenerate": kind == "regenerate",
            "address": (self.scope.get("client") or [None])[0],
        }
        self.task = asyncio.create_task(self._stream(request, self.stop_flag))

    async def _stream(self, request, stop_flag):
        loop = asyncio.get_running_loop()
        events: asyncio.Queue = asyncio.Queue()
        user = self.user

        def emit(event):
            loop.call_soon_threadsafe(events.put_nowait, event)

        def produce():
            close_old_connections()
            try:
                for event in _events(user, request, stop_flag):
                    emit(event)
            except Exception:
                log.exception("answer failed")
                emit({"type": "error", "message": "Something went wrong while answering."})
            finally:
                close_old_connections()
                emit(_END)

        threading.Thread(target=produce, name="kbassist-answer", daemon=True).start()
        while (event := await events.get()) is not _END:
            if event["type"] in ("done", "error"):
                self.busy = False
            elif stop_flag.is_set() and event["type"] == "token":
                continue  # tokens already in flight when the user pressed stop
            try:
                await self.send_json(event)
            except Exception:  # the socket went away; let the generator wind down
                stop_flag.set()
        self.busy = False


def _events(user, request, stop_flag):
    """The events for one request: finds the user's conversation, then answers."""
    conversation = None
    if request["conversation_id"]:
        conversation = Conversation.objects.filter(pk=request["conversation_id"], user=user).first()
        if conversation is None:
            yield {"type": "error", "message": "Conversation not found."}
            return
    if request["regenerate"]:
        if conversation is None:
            yield {"type": "error", "message": "There is no answer to regenerate."}
            return
        yield from regenerate(conversation, user=user, should_stop=stop_flag.is_set, address=request["address"], via="websocket")
    else:
        yield from answer(request["question"], user=user, conversation=conversation, should_stop=stop_flag.is_set,
                          address=request["address"], via="websocket")
