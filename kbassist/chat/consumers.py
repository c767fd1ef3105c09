"""The chat websocket: thin glue between the browser and ``answering.answer``.

Client -> server:  {"type": "ask", "question": "...", "conversation_id": 12 | null}
                   {"type": "regenerate", "conversation_id": 12}
                   {"type": "stop"}
Server -> client:  the events of ``answer()`` as they happen (see answering.py).

``answer()`` is synchronous (database, llama.cpp), so it runs in a thread of its own
(``streaming.stream_events``, shared with the HTTP API's streams); events cross back to the
event loop as they happen. A stop message or a closed socket sets a flag that the generator
checks between tokens.
"""

from __future__ import annotations

import asyncio
import logging
import threading

from channels.generic.websocket import AsyncJsonWebsocketConsumer

from .streaming import MAX_QUESTION, AskRequest, stream_events

log = logging.getLogger(__name__)


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
        request = AskRequest(
            question=str(content.get("question", ""))[:MAX_QUESTION],
            conversation_id=content.get("conversation_id"),
            regenerate=kind == "regenerate",
            address=(self.scope.get("client") or [None])[0],
            via="websocket",
        )
        self.task = asyncio.create_task(self._stream(request, self.stop_flag))

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
