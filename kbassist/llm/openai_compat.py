"""Generation by a remote OpenAI-compatible server (llama.cpp server, vLLM, TGI, ...).

Streams ``/chat/completions`` through the official ``openai`` client. Token counts are
estimated (about 3 characters a token), which is enough to budget the prompt.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import openai

from .base import ChatMessage, GenerationError, LLMBackend, yes_share

# The client refuses to start without a key; servers run without one (llama.cpp's default)
# get this placeholder, and the Authorization header is left out of their requests.
_NO_KEY = "no-key"


class OpenAICompatibleBackend(LLMBackend):
    def __init__(self, base_url: str, api_key: str = "", model: str = "local", context_size: int = 4096, timeout=120,
                 extra_body: dict | None = None):
        self.base_url = base_url.rstrip("/")
        self.extra_body = extra_body  # fields this server understands beyond OpenAI's (llama-server: cache_prompt)
        self.api_key = api_key
        self.model = model
        self.name = f"{model} @ {self.base_url}"
        self.context_size = context_size
        self.timeout = timeout
        # No retries: a server that is down should turn into the passages answer at once,
        # not after back-off. ``timeout`` applies to connecting and to each read.
        self.client = openai.OpenAI(
            base_url=self.base_url, api_key=api_key or _NO_KEY, timeout=timeout, max_retries=0
        )
        self._headers = {} if api_key else {"Authorization": openai.omit}

    def check_reachable(self, timeout: float) -> None:
        """The server lists its models (``GET /models``) within ``timeout`` seconds."""
        try:
            self.client.with_options(timeout=timeout).models.list(extra_headers=self._headers)
        except openai.APIStatusError as exc:
            raise GenerationError(f"The model server answered HTTP {exc.status_code}.") from exc
        except openai.OpenAIError as exc:
            raise GenerationError(f"The model server could not be reached ({exc.__class__.__name__}).") from exc

    def count_tokens(self, text: str) -> int:
        return max(1, len(text) // 3)

    def yes_probability(self, messages: list[ChatMessage]) -> float | None:
        """From the log-probabilities of the reply's first token (``logprobs``, the top 20),
        which llama.cpp's server and vLLM return; None from a server that returns none."""
        try:
            response = self.client.chat.completions.create(
                model=self.model,
                messages=[{"role": m.role, "content": m.content} for m in messages],
                max_tokens=1,
                temperature=0.0,
                logprobs=True,
                top_logprobs=20,
                extra_headers=self._headers,
                extra_body=self.extra_body,
            )
        except openai.APIStatusError as exc:
            if exc.status_code in (400, 422):  # a server that does not take logprobs
                return None
            raise GenerationError(f"The model server at {self.base_url} answered HTTP {exc.status_code}: {_reason(exc)}") from exc
        except openai.OpenAIError as exc:
            raise GenerationError(f"The model server at {self.base_url} failed: {exc}") from exc
        choice = response.choices[0] if response.choices else None
        first = choice and choice.logprobs and choice.logprobs.content and choice.logprobs.content[0]
        if not first:
            return None
        return yes_share((t.token, math.exp(t.logprob)) for t in (first.top_logprobs or [first]))

    def stream(self, messages: list[ChatMessage], *, max_tokens: int, temperature: float,
               should_stop: Callable[[], bool] = lambda: False) -> Iterator[str]:
        if should_stop():
            return
        try:
            response = self.client.chat.completions.create(
                model=self.model,
                messages=[{"role": m.role, "content": m.content} for m in messages],
                max_tokens=max_tokens,
                temperature=temperature,
                stream=True,
                extra_headers=self._headers,
                extra_body=self.extra_body,
            )
        except openai.APITimeoutError as exc:
            raise GenerationError(f"The model server at {self.base_url} did not answer within {self.timeout} s.") from exc
        except openai.APIConnectionError as exc:
            raise GenerationError(
                f"The model server at {self.base_url} could not be reached: {exc.__cause__ or exc}"
            ) from exc
        except openai.APIStatusError as exc:
            raise GenerationError(
                f"The model server at {self.base_url} answered HTTP {exc.status_code}: {_reason(exc)}"
            ) from exc
        except openai.OpenAIError as exc:
            raise GenerationError(f"The model server at {self.base_url} failed: {exc}") from exc
        # Leaving this block, by stopping, finishing or failing, closes the connection,
        # which tells the server to stop generating.
        with response:
            finished = False
            try:
                for chunk in response:
                    if should_stop():
                        return
                    if not chunk.choices:
                        continue
                    choice = chunk.choices[0]
                    finished = finished or choice.finish_reason is not None
                    if choice.delta and choice.delta.content:
                        yield choice.delta.content
            except openai.APIConnectionError as exc:  # also a read timeout
                raise GenerationError(f"The model server stopped answering: {exc.__cause__ or exc}") from exc
            except openai.APIError as exc:  # an error event in the stream
                raise GenerationError(f"The model server failed: {_reason(exc)}") from exc
            except (OSError, ValueError) as exc:  # a reply that is not the stream it should be
                raise GenerationError(f"The model server stopped answering: {exc or exc.__class__.__name__}") from exc
            if not finished:
                # Every reply ends with a finish reason; a stream that ends without one was cut
                # short (llama.cpp's server, failing after it started streaming, just ends it).
                raise GenerationError("The model server ended the reply before it was complete (see the server's log).")


def _reason(exc: openai.APIError) -> str:
    """The server's own words: the message of its error body (OpenAI's ``{"error": {"message"}}``,
    FastAPI's ``{"detail"}``), else the HTTP reason phrase."""
    body = exc.body
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict):
            error = error.get("message") or error.get("detail")
        if error:
            return str(error)
    elif isinstance(body, str) and body.strip():
        return body.strip()[:300]
    response = getattr(exc, "response", None)
    if response is not None and response.reason_phrase:
        return response.reason_phrase
    return exc.message
