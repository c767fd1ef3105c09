"""Reading what a client sends over the chat websocket, never trusting its shape.

``read_frame`` turns a text frame into a JSON object or raises ``BadFrame`` with a message
for the client; ``question_field`` and ``id_field`` check single fields. The consumer answers
a bad frame with an error event and keeps the socket open.
"""

from __future__ import annotations

import json

from django.conf import settings
from django.utils.translation import gettext, gettext_noop

NOT_TEXT = gettext_noop("Messages must be JSON text.")
TOO_BIG = gettext_noop("The message is too large (%(size)s bytes; the limit is %(limit)s).")
NOT_JSON = gettext_noop("The message is not valid JSON.")
NOT_OBJECT = gettext_noop("The message must be a JSON object.")
NOT_TYPE = gettext_noop("The message needs a \"type\": \"ask\", \"regenerate\" or \"stop\".")
NOT_STRING = gettext_noop("\"%(field)s\" must be text.")
NOT_ID = gettext_noop("\"%(field)s\" must be a whole number or null.")
TOO_LONG = gettext_noop("Your question is too long (%(length)s characters; the limit is %(limit)s). Please shorten it.")


class BadFrame(ValueError):
    """A frame the consumer cannot use; the message says why, for the client."""

    code = "bad_frame"

    def __init__(self, message: str, code: str = "bad_frame"):
        super().__init__(message)
        self.message, self.code = message, code

    def event(self) -> dict:
        return {"type": "error", "code": self.code, "message": self.message}


def read_frame(text: str | None, data: bytes | None = None) -> dict:
    """The JSON object in a websocket frame; ``BadFrame`` for anything else."""
    if text is None:
        raise BadFrame(gettext(NOT_TEXT))
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > settings.KB_WS_MAX_FRAME_BYTES:
        raise BadFrame(gettext(TOO_BIG) % {"size": size, "limit": settings.KB_WS_MAX_FRAME_BYTES}, "too_large")
    try:
        content = json.loads(text)
    except (ValueError, RecursionError):
        raise BadFrame(gettext(NOT_JSON)) from None
    if not isinstance(content, dict):
        raise BadFrame(gettext(NOT_OBJECT))
    if not isinstance(content.get("type"), str):
        raise BadFrame(gettext(NOT_TYPE))
    return content


def question_field(content: dict, field: str = "question") -> str:
    """The question in ``content[field]``: text, at most KB_MAX_QUESTION_CHARS characters."""
    value = content.get(field)
    if not isinstance(value, str):
        raise BadFrame(gettext(NOT_STRING) % {"field": field})
    return check_question_length(value)


def check_question_length(question: str) -> str:
    limit = settings.KB_MAX_QUESTION_CHARS
    if limit and len(question.strip()) > limit:
        raise BadFrame(gettext(TOO_LONG) % {"length": len(question.strip()), "limit": limit}, "too_long")
    return question


def id_field(content: dict, field: str) -> int | None:
    """``content[field]`` as an id: a whole number (or a string of digits), or None if absent."""
    value = content.get(field)
    if value is None:
        return None
    if isinstance(value, bool):
        raise BadFrame(gettext(NOT_ID) % {"field": field})
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if isinstance(value, int) and 0 < value < 2**63:
        return value
    raise BadFrame(gettext(NOT_ID) % {"field": field})
