"""Generation by a remote OpenAI-compatible server (llama.cpp server, vLLM, TGI, ...).

Uses the streaming ``/chat/completions`` endpoint with server-sent events. Token counts are
estimated (about 3 characters a token), which is enough to budget the prompt.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator

from .base import ChatMessage, GenerationError, LLMBackend


class OpenAICompatibleBackend(LLMBackend):
    def __init__(self, base_url: str, api_key: str = "", model: str = "local", context_size: int = 4096, timeout=120):
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.model = model
        self.name = f"{model} @ {self.base_url}"
        self.context_size = context_size
        self.timeout = timeout

    def count_tokens(self, text: str) -> int:
        return max(1, len(text) // 3)

    def stream(
        self,
        messages: list[ChatMessage],
        *,
        max_tokens: int,
        temperature: float,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> Iterator[str]:
        body = {
            "model": self.model,
            "messages": [{"role": m.role, "content": m.content} for m in messages],
            "max_tokens": max_tokens,
            "temperature": temperature,
            "stream": True,
        }
        headers = {"Content-Type": "application/json", "Accept": "text/event-stream"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(
            f"{self.base_url}/chat/completions", data=json.dumps(body).encode(), headers=headers, method="POST"
        )
        try:
            response = urllib.request.urlopen(request, timeout=self.timeout)
        except (urllib.error.URLError, OSError) as exc:
            raise GenerationError(f"The model server at {self.base_url} could not be reached: {exc}") from exc
        with response:
            try:
                for raw in response:
                    if should_stop():
                        return  # closing the connection tells the server to stop
                    line = raw.decode("utf-8").strip()
                    if not line.startswith("data:"):
                        continue
                    data = line[5:].strip()
                    if data == "[DONE]":
                        return
                    event = json.loads(data)
                    if event.get("error"):
                        raise GenerationError(f"The model server failed: {event['error']}")
                    choices = event.get("choices") or [{}]
                    piece = (choices[0].get("delta") or {}).get("content")
                    if piece:
                        yield piece
            except (OSError, ValueError) as exc:
                raise GenerationError(f"The model server stopped answering: {exc}") from exc
