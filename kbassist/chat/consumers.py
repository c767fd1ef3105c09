"""The chat websocket: thin glue between the browser and ``answering.answer``.

Client -> server:  {"type": "ask", "question": "...", "conversation_id": 12 | null}
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

from .answering import answer
from .models import Conversation

log = logging.getLogger(__name__)
_DONE = object()


class ChatConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        self.user = self.scope.get("user")
        if self.user is None or not self.user.is_authenticated:
            await self.close(code=4401)
            return
        self.stop_flag: threading.Event | None = None
        self.task: asyncio.Task | None = None
        await self.accept()

    async def disconnect(self, code):
        if getattr(self, "stop_flag", None) is not None:
            self.stop_flag.set()

    async def receive_json(self, content, **kwargs):
        kind = content.get("type")
        if kind == "stop":
            if self.stop_flag is not None:
                self.stop_flag.set()
            return
        if kind != "ask":
            await self.send_json({"type": "error", "message": f"Unknown message type {kind!r}."})
            return
        if self.task is not None and not self.task.done():
            await self.send_json({"type": "error", "message": "Please wait for the current answer (or stop it)."})
            return
        question = str(content.get("question", ""))[:4000]
        self.stop_flag = threading.Event()
        self.task = asyncio.create_task(self._stream(question, content.get("conversation_id"), self.stop_flag))

    async def _stream(self, question, conversation_id, stop_flag):
        loop = asyncio.get_running_loop()
        events: asyncio.Queue = asyncio.Queue()
        user = self.user

        def produce():
            close_old_connections()
            try:
                conversation = None
                if conversation_id:
                    conversation = Conversation.objects.filter(pk=conversation_id, user=user).first()
                    if conversation is None:
                        loop.call_soon_threadsafe(events.put_nowait, {"type": "error", "message": "Conversation not found."})
                        return
                for event in answer(question, user=user, conversation=conversation, should_stop=stop_flag.is_set):
                    loop.call_soon_threadsafe(events.put_nowait, event)
            except Exception:
                log.exception("answer failed")
                loop.call_soon_threadsafe(
                    events.put_nowait, {"type": "error", "message": "Something went wrong while answering."}
                )
            finally:
                close_old_connections()
                loop.call_soon_threadsafe(events.put_nowait, _DONE)

        threading.Thread(target=produce, name="kbassist-answer", daemon=True).start()
        while (event := await events.get()) is not _DONE:
            if not stop_flag.is_set() or event["type"] in ("done", "error"):
                try:
                    await self.send_json(event)
                except Exception:  # the socket went away; let the generator wind down
                    stop_flag.set()
