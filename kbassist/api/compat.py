"""An OpenAI-compatible endpoint (``/v1/models``, ``/v1/chat/completions``), so that any OpenAI
client library or chat front end can ask the knowledge base.

The model ``kb-assist`` asks every collection the key may see; ``kb-assist/<slug>`` asks one
of them. The last user message is the question and the earlier user/assistant messages are
the conversation (system messages are ignored: the assistant has its own instructions). The
answer comes through the same ``answer()`` as the chat (cache, curated FAQ, refusal,
generated, passages), with its citations twice: as ``[n]`` markers and a "Sources:" footer in
the text, so that plain clients show them, and as an extra ``sources`` field (in the final
chunk when streaming) that OpenAI clients ignore.

A conversation continues where it left off: when the earlier messages are exactly one of the
user's conversations (as this endpoint returned it), the question is added to it; otherwise
a new conversation is made from them.
"""

from __future__ import annotations

import json
import re
import threading
import time

from asgiref.sync import sync_to_async
from django.http import JsonResponse, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt

from kbassist.chat.models import Conversation, Message
from kbassist.chat.streaming import MAX_QUESTION, AskRequest, stream_events
from kbassist.chat.turn import sources_listed
from kbassist.chat.attribution import attribute
from kbassist.text import CITATION, sentence_spans

from . import present
from .access import ApiError, authenticate

FOOTER = "\n\nSources:\n"
CHECKED = "Checked against the sources, the answer is:"
HISTORY_MESSAGES = 40  # earlier messages kept when a conversation is made from a request


def error_response(exc: ApiError) -> JsonResponse:
    """OpenAI's error shape: ``{"error": {"message", "type", "code", "param"}}``."""
    body = {"error": {"message": exc.message, "type": exc.type, "code": exc.code or exc.type, "param": None}}
    response = JsonResponse(body, status=exc.status, json_dumps_params={"ensure_ascii": False})
    for name, value in exc.headers.items():
        response[name] = value
    return response


def _method(request, allowed: str):
    if request.method != allowed:
        raise ApiError(405, f"Use {allowed} for {request.path}.")


# --- models ---------------------------------------------------------------------------------------------


async def _key_and_model_names(request):
    """The key a GET request carries and the model names it may use (ApiError: neither)."""
    _method(request, "GET")
    key = await sync_to_async(authenticate)(request)
    return key, await sync_to_async(present.model_names)(key.user)


@csrf_exempt
async def models(request):
    try:
        key, names = await _key_and_model_names(request)
    except ApiError as exc:
        return error_response(exc)
    created = int(key.created_at.timestamp())
    return JsonResponse({"object": "list", "data": [_model(name, created) for name in names]})


def _model(name: str, created: int) -> dict:
    return {"id": name, "object": "model", "created": created, "owned_by": "kb-assist"}


@csrf_exempt
async def model(request, name):
    try:
        key, names = await _key_and_model_names(request)
    except ApiError as exc:
        return error_response(exc)
    if name not in names:
        return error_response(_no_model(name))
    return JsonResponse(_model(name, int(key.created_at.timestamp())))


def _no_model(name) -> ApiError:
    return ApiError(404, f"The model {name!r} does not exist or this key may not use it (GET /v1/models lists them).",
                    code="model_not_found")


# --- chat completions -------------------------------------------------------------------------------------


def _text(content) -> str:
    """A message's text: a string, or the text parts of a list of content parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") in ("text", "input_text"))
    return ""


def parse(body: bytes) -> tuple[str, str, list[tuple[str, str]], bool]:
    """``(model, question, earlier, stream)`` from a request body; ApiError 400 if malformed."""
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        raise ApiError(400, "The body must be JSON.") from None
    if not isinstance(data, dict):
        raise ApiError(400, "The body must be a JSON object.")
    name = data.get("model")
    if not isinstance(name, str) or not name:
        raise ApiError(400, "'model' is required (GET /v1/models lists them).", code="invalid_model")
    messages = data.get("messages")
    if not isinstance(messages, list) or not messages or not all(isinstance(m, dict) for m in messages):
        raise ApiError(400, "'messages' must be a non-empty list of messages.")
    turns = [(m.get("role"), _text(m.get("content")).strip()) for m in messages]
    turns = [(role, text) for role, text in turns if role in ("user", "assistant") and text]
    if not turns or turns[-1][0] != "user":
        raise ApiError(400, "The last message must be the user's question.")
    question = turns[-1][1]
    if len(question) > MAX_QUESTION:
        raise ApiError(400, f"The question is longer than {MAX_QUESTION} characters.")
    return name, question, turns[:-1][-HISTORY_MESSAGES:], bool(data.get("stream"))


def without_footer(text: str) -> str:
    return text.split(FOOTER, 1)[0].strip()


def conversation_for(user, earlier: list[tuple[str, str]]) -> Conversation | None:
    """The user's conversation that is exactly ``earlier`` (as this endpoint answered it), or a
    new one holding those messages; None when there is nothing earlier (``answer()`` makes one)."""
    if not earlier:
        return None
    wanted = [(role, without_footer(text) if role == "assistant" else text) for role, text in earlier]
    if wanted[-1][0] == "assistant":
        candidates = Conversation.objects.filter(
            user=user, messages__role=Message.Role.ASSISTANT, messages__content=wanted[-1][1]
        ).distinct()[:20]
        for conversation in candidates:
            if [(m.role, m.content.strip()) for m in conversation.messages.all()] == wanted:
                return conversation
    first_question = next((text for role, text in wanted if role == "user"), wanted[0][1])
    conversation = Conversation.objects.create(user=user, title=first_question[:80])
    Message.objects.bulk_create(
        Message(conversation=conversation, role=role, content=text, kind="" if role == "user" else Message.Kind.GENERATED)
        for role, text in wanted
    )
    return conversation


def _prepare(request, body: bytes):
    """Authenticate, resolve the model and the conversation: ``(user, model, ask_request, stream)``."""
    key = authenticate(request, scope="ask")
    name, question, earlier, stream = parse(body)
    allowed = present.model_names(key.user)
    if name not in allowed:
        raise _no_model(name)
    conversation = conversation_for(key.user, earlier)
    ask = AskRequest(question=question, conversation_id=conversation.pk if conversation else None, collection_ids=allowed[name],
                     address=request.META.get("REMOTE_ADDR"), via="openai")
    return key.user, name, ask, stream


def sources_footer(request, citations: list[dict], kind: str) -> str:
    """"Sources:" and one line per source ``sources_listed`` gives (a refusal's passages stay
    in the response's ``sources``; its text lists them by number itself)."""
    shown = sources_listed(citations, kind)
    if not shown:
        return ""
    lines = []
    for c in shown:
        line = f"[{c['n']}] {c.get('title') or ''}"
        if c.get("location"):
            line += f", {c['location']}"
        if c.get("url"):
            line += f": {request.build_absolute_uri(c['url'])}"
        lines.append(line)
    return FOOTER + "\n".join(lines)


def _extras(request, done: dict, conversation_id) -> dict:
    return {
        "sources": [present.citation(request, c) for c in done["citations"]],
        "kb_assist": {"kind": done["kind"], "status": done["status"], "conversation_id": conversation_id,
                      "message_id": done["message_id"], "answer": done["answer"], "evidence": done.get("evidence", [])},
    }


def _usage(done: dict) -> dict:
    tokens = int(done.get("timings", {}).get("tokens") or 0)
    return {"prompt_tokens": 0, "completion_tokens": tokens, "total_tokens": tokens}


# Held back at the end of what has streamed so far: a sentence's closing punctuation, space and
# markers, since a [n] marker goes before the punctuation ("28 days [1].").
_HELD = re.compile(r"(?:\s*\[\d{0,2}\]?|[\s.!?。！？；;:：])*$")


class MarkedStream:
    """The model's tokens as an OpenAI client should see them: with the ``[n]`` markers the
    chat adds after generation (``chat.attribution``) already in place. Each sentence is
    attributed to the sources as soon as the next one begins; the end of the sentence being
    written (its punctuation) is held back until then, because the marker goes before it.
    An answer that comes whole, in one piece (curated, cached, refused, quoted), is the final
    text already and is passed on as it is. What is sent always continues what was sent."""

    def __init__(self):
        self.text = ""  # the model's text so far
        self.sent = ""  # what the client has received
        self.sources: list[str] = []
        self._pieces = 0
        self._complete_end = -1
        self._complete = ""

    def feed(self, piece: str) -> str:
        """What to send now that ``piece`` has arrived ('' if nothing yet)."""
        self.text += piece
        self._pieces += 1
        spans = sentence_spans(self.text)
        end = spans[-2][1] if len(spans) > 1 else 0  # every sentence but the last is complete
        if end != self._complete_end:
            self._complete_end = end
            streamed = self._pieces > 1 and self.sources
            self._complete = attribute(self.text[:end], self.sources) if streamed else self.text[:end]
        shown = self._complete + _HELD.sub("", self.text[end:])
        if not shown.startswith(self.sent):
            return ""  # sentences were split differently: wait (the end of the answer catches up)
        new, self.sent = shown[len(self.sent):], shown
        return new


def _words(text: str) -> list[tuple[str, int]]:
    """The characters of ``text`` that are neither white space nor part of an [n] marker, each
    with the index just after it."""
    markers = [range(m.start(), m.end()) for m in CITATION.finditer(text)]
    skip = {i for r in markers for i in r}
    return [(ch, i + 1) for i, ch in enumerate(text) if i not in skip and not ch.isspace()]


def tail_after_stream(streamed: str, final: str) -> str:
    """What to send after the streamed text so that the client ends with the final answer:
    the rest of it when what streamed is its beginning (markers and spaces aside), else the
    checked answer in full (verification changed what the model wrote)."""
    if final.startswith(streamed):
        return final[len(streamed):]
    have, want = _words(streamed), _words(final)
    if [ch for ch, _ in have] == [ch for ch, _ in want[: len(have)]]:
        return final[want[len(have) - 1][1]:] if have else final
    return "\n\n" + CHECKED + "\n" + final


@csrf_exempt
async def chat_completions(request):
    try:
        _method(request, "POST")
        user, name, ask, stream = await sync_to_async(_prepare)(request, request.body)
    except ApiError as exc:
        return error_response(exc)
    stop = threading.Event()
    created = int(time.time())
    if stream:
        return StreamingHttpResponse(
            _stream(request, user, name, ask, stop, created), content_type="text/event-stream", headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        )
    whole = await present.whole_answer(stream_events(user, ask, stop), ask.conversation_id)
    done, conversation_id = whole.done, whole.conversation_id
    if done is None:
        return error_response(ApiError(500, whole.problem))
    content = done["answer"] + sources_footer(request, done["citations"], done["kind"])
    return JsonResponse(
        {
            "id": f"chatcmpl-{done['message_id']}",
            "object": "chat.completion",
            "created": created,
            "model": name,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop", "logprobs": None}],
            "usage": _usage(done),
            **_extras(request, done, conversation_id),
        },
        json_dumps_params={"ensure_ascii": False},
    )


async def _stream(request, user, name, ask, stop, created):
    ident = f"chatcmpl-{int(time.time() * 1000)}"

    def chunk(delta: dict, finish=None, **extra) -> bytes:
        body = {"id": ident, "object": "chat.completion.chunk", "created": created, "model": name,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}], **extra}
        return present.sse(body)

    yield chunk({"role": "assistant", "content": ""})
    marked, errors, done, conversation_id = MarkedStream(), [], None, ask.conversation_id
    async for event in stream_events(user, ask, stop):
        kind = event["type"]
        if kind == "sources":
            marked.sources = [source.get("text") or "" for source in event["sources"]]
        elif kind == "token":
            if text := marked.feed(event["text"]):
                yield chunk({"content": text})
        elif kind == "queued":
            yield present.sse_comment(f"waiting for the model: number {event['position']} in line")
        elif kind == "conversation":
            conversation_id = event["id"]
        elif kind == "error":
            errors.append(event["message"])
        elif kind == "done":
            done = event
    if done is None:
        yield present.sse({"error": {"message": "; ".join(errors) or "No answer.", "type": "server_error", "code": "server_error"}})
        return
    rest = tail_after_stream(marked.sent, done["answer"]) + sources_footer(request, done["citations"], done["kind"])
    if rest:
        yield chunk({"content": rest})
    yield chunk({}, "stop", usage=_usage(done), **_extras(request, done, conversation_id))
    yield present.sse("[DONE]")
