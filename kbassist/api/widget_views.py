"""The widget's URLs: the frame the script tag opens (``/widget/frame``) and the question it
posts, answered as Server-Sent Events (the websocket's events): ``/widget/ask`` for visitors
signed in here (their session cookie, so CSRF-protected like every page of the site) and
``/widget/key/ask`` for a widget key (exempt from CSRF: it never reads the session; only the
key counts). Thin glue over ``widget`` (who asks, from where) and ``chat.streaming`` (the one
answering path)."""

from __future__ import annotations

import json
import threading

from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import JsonResponse, StreamingHttpResponse
from django.shortcuts import render
from django.middleware.csrf import get_token
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET
from django.views.i18n import JavaScriptCatalog

from kbassist.chat.streaming import MAX_QUESTION, AskRequest, stream_events
from kbassist.guardrails.limits import client_ip

from . import present, widget
from .origins import frame_ancestors

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}

# What the frame itself says, in the visitor's language. The answer's words (badges, sources,
# notes) are the chat page's: render.js, shared by both, reads them from ``catalog`` below.
STRINGS = {
    "title": gettext_lazy("Ask the knowledge base"),
    "placeholder": gettext_lazy("Ask a question…"),
    "send": gettext_lazy("Send"),
    "close": gettext_lazy("Close"),
    "failed": gettext_lazy("The answer could not be fetched. Please try again."),
    "empty": gettext_lazy("Answers come from %s, with their sources."),
}
_chat_catalog = JavaScriptCatalog.as_view(packages=["kbassist.chat"])


def language_of(code: str) -> str:
    """``code`` when it is one of the site's languages (``zh`` counts as Chinese), else the
    language the request asked for (browser, or the language switch)."""
    code = (code or "").lower()
    for language, _name in settings.LANGUAGES:
        if code == language or (code and language.startswith(code.split("-")[0])):
            return language
    return translation.get_language()


@require_GET
@xframe_options_exempt  # the frame is meant to be framed: CSP frame-ancestors says by whom
def frame(request):
    language = language_of(request.GET.get("lang", ""))
    caller, refused = None, None
    try:
        caller = widget.caller_for(request.user, request.GET.get("key", ""), request.GET.get("collection", ""))
    except widget.WidgetRefused as exc:
        refused = exc
    if refused is not None and refused.code != "sign_in":
        response = render(request, "api/widget_frame.html", {"refused": refused}, status=refused.status)
    else:
        with translation.override(language):
            config = {
                "askUrl": reverse("api:widget_key_ask" if request.GET.get("key") else "api:widget_ask"),
                "csrfToken": "" if request.GET.get("key") else get_token(request),
                "key": request.GET.get("key", ""),
                "collection": request.GET.get("collection", ""),
                "language": language,
                "signedIn": caller is not None,
                "loginUrl": request.build_absolute_uri(settings.LOGIN_URL),
                "strings": {name: str(text) for name, text in STRINGS.items()},
                "names": ", ".join(caller.collection_names) if caller else "",
            }
            response = render(request, "api/widget_frame.html", {"config": config, "language": language})
    # A key's frame on its origins only; a signed-in visitor's (or the "sign in" frame shown in
    # its place) on KB_WIDGET_ORIGINS; a refused one nowhere but here.
    if caller is not None:
        origins = caller.origins
    else:
        origins = widget.session_origins() if refused.code == "sign_in" else []
    response["Content-Security-Policy"] = frame_ancestors(origins)
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "same-origin"
    return response


@require_GET
def catalog(request):
    """The chat page's JavaScript catalogue in the frame's language (``?lang=``, as the frame
    was asked for), whatever language the visitor's browser prefers."""
    with translation.override(language_of(request.GET.get("lang", ""))):
        return _chat_catalog(request)


def _refusal(status: int, message: str, code: str, retry_after: int | None = None) -> JsonResponse:
    response = JsonResponse({"error": message, "code": code}, status=status, json_dumps_params={"ensure_ascii": False})
    if retry_after:
        response["Retry-After"] = str(retry_after)
    return response


def _prepare(user, key_value: str, request, data: dict):
    """``(caller, ask_request)`` for a question from the frame; WidgetRefused when it may not be asked."""
    caller = widget.caller_for(user, key_value, str(data.get("collection") or ""))
    question = data.get("question")
    if not isinstance(question, str) or not question.strip():
        raise widget.WidgetRefused(422, _("Type a question."), "no_question")
    if len(question) > MAX_QUESTION:
        raise widget.WidgetRefused(422, _("The question is longer than %(n)s characters.") % {"n": MAX_QUESTION}, "too_long")
    refusal = widget.check_rate(caller, client_ip(request))
    if refusal is not None:
        raise widget.WidgetRefused(429, refusal.message, f"rate_limited:{refusal.retry_after}")
    if caller.key is not None:
        caller.key.record_use()
    ask = AskRequest(question=question.strip(), conversation_id=widget.conversation_from(caller, str(data.get("conversation") or "")),
                     collection_ids=caller.collection_ids, address=client_ip(request), via="widget",
                     language=language_of(str(data.get("lang") or "")))
    return caller, ask


async def _answer(request, *, with_key: bool):
    if request.method != "POST":
        return _refusal(405, "Use POST.", "method")
    if not widget.from_own_origin(request):
        return _refusal(403, "Questions are accepted only from the widget's own frame.", "origin")
    try:
        data = json.loads(request.body or b"{}")
        if not isinstance(data, dict):
            raise ValueError
    except ValueError:
        return _refusal(400, "The body must be a JSON object.", "bad_request")
    user = None if with_key else await request.auser()
    key_value = str(data.get("key") or "") if with_key else ""
    with translation.override(language_of(str(data.get("lang") or ""))):
        try:
            if with_key and not key_value:
                raise widget.WidgetRefused(401, _("This widget key is not valid (unknown or switched off)."), "bad_key")
            caller, question = await sync_to_async(_prepare)(user, key_value, request, data)
        except widget.WidgetRefused as exc:
            code, _sep, retry = exc.code.partition(":")
            return _refusal(exc.status, exc.message, code, int(retry) if retry else None)
    stop = threading.Event()

    async def events():
        async for event in stream_events(caller.user, question, stop):
            yield present.sse(widget.shown_event(caller, event), event["type"])

    return StreamingHttpResponse(events(), content_type="text/event-stream", headers=SSE_HEADERS)


async def ask(request):
    """A signed-in visitor's question (session cookie; CSRF token from the frame)."""
    return await _answer(request, with_key=False)


@csrf_exempt  # a widget key's question: the session is never read, and only the frame's origin may post
async def key_ask(request):
    return await _answer(request, with_key=True)
