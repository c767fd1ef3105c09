"""The embeddable chat widget: who is asking through it, from where, and what it may ask.

A page embeds the widget with a script tag; the script puts a bubble on the page and opens a
frame served by this server (``widget_views``). Inside the frame everything is same-origin:
the visitor's session cookie (when the page is on the same site and they are signed in here)
or a *widget key* (``models.WidgetKey``: public, ask-only, bound to its origins, collections
and rate). Which pages may show the frame is the browser's business, told by CSP
``frame-ancestors``: the key's allowed origins, or ``KB_WIDGET_ORIGINS`` for signed-in
visitors. No CORS header is ever sent, and a question posted from any other origin than this
server's own (the frame) is refused, so a page elsewhere can neither frame nor call it.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

from django.conf import settings
from django.core import signing
from django.templatetags.static import static
from django.utils.translation import gettext as _
from django_ratelimit.core import get_usage

from kbassist.chat.models import Conversation
from kbassist.guardrails.limits import Refusal, check_question_rate
from kbassist.knowledge.models import Collection

from . import present
from .models import WidgetKey
from .origins import normalize_origin, parse_origins

TOKEN_SALT = "kbassist.widget.conversation"
TOKEN_MAX_AGE = 7 * 24 * 3600  # a conversation in an open frame continues for a week at most


class WidgetRefused(Exception):
    """The widget may not be used this way: an HTTP status and a message for the visitor."""

    def __init__(self, status: int, message: str, code: str):
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code


@dataclass
class Caller:
    """Who asks through the widget: a signed-in user, or a widget key (answering as its user)."""

    user: object
    key: WidgetKey | None
    collection_ids: list[int] | None  # None: every collection the user may see
    collection_names: list[str]

    @property
    def origins(self) -> list[str]:
        """The origins whose pages may embed this widget."""
        return self.key.origins if self.key else session_origins()


def session_origins() -> list[str]:
    return parse_origins(",".join(settings.KB_WIDGET_ORIGINS))[0]


def caller_for(user, key_value: str = "", collection_slug: str = "") -> Caller:
    """The caller of a widget request; ``WidgetRefused`` when the key is not valid (403), the
    visitor is not signed in and brought no key (401), or the collection is not theirs (404)."""
    key = None
    if key_value:
        key = WidgetKey.objects.find(key_value)
        if key is None:
            raise WidgetRefused(403, _("This widget key is not valid (unknown or switched off)."), "bad_key")
        user = key.user
        collections = list(Collection.objects.visible_to(user).filter(pk__in=key.collections.values("pk")))
        if not collections:
            raise WidgetRefused(404, _("This widget has no collection to ask."), "no_collection")
    else:
        if user is None or not user.is_authenticated:
            raise WidgetRefused(401, _("Sign in to ask the knowledge base."), "sign_in")
        collections = list(Collection.objects.visible_to(user))
    if collection_slug:
        slugs = present.collection_slugs(Collection.objects.all())
        chosen = [c for c in collections if slugs.get(c.pk) == collection_slug]
        if not chosen:
            raise WidgetRefused(404, _("This collection does not exist or is not available here."), "no_collection")
        collections = chosen
    ids = [c.pk for c in collections] if key or collection_slug else None
    return Caller(user=user, key=key, collection_ids=ids, collection_names=[c.name for c in collections])


def own_origin(request) -> str:
    return f"{request.scheme}://{request.get_host()}".lower()


def from_own_origin(request) -> bool:
    """Whether a request was sent by a page of this server (the widget's frame): browsers send
    ``Origin`` with every POST, and nothing outside a browser needs this endpoint. Behind a
    proxy that ends TLS, this server's outside address is one of ``KB_CSRF_TRUSTED_ORIGINS``
    (as for Django's own CSRF check)."""
    origin = normalize_origin(request.headers.get("Origin", ""))
    if origin is None:
        return False
    trusted = parse_origins(",".join(settings.CSRF_TRUSTED_ORIGINS))[0]
    return origin == normalize_origin(own_origin(request)) or origin in trusted


def check_rate(caller: Caller, ip: str | None) -> Refusal | None:
    """The usual per-person question limits (a visitor with a widget key counts by address),
    and the key's own limit for all its visitors together."""
    if caller.key is None:
        return check_question_rate(caller.user, ip)
    refusal = check_question_rate(None, ip)
    if refusal is not None:
        return refusal
    limit = caller.key.questions_per_minute
    if limit:
        request = SimpleNamespace(META={"REMOTE_ADDR": ip or "0.0.0.0"}, method="POST")
        usage = get_usage(request, group="kb.widget.key", key=lambda group, request: f"widget:{caller.key.pk}",
                          rate=(limit, 60), increment=True)
        if usage and usage["should_limit"] and usage["time_left"] >= 0:
            seconds = max(1, int(usage["time_left"]))
            return Refusal("rate_limited", _("This widget is busy. Please wait about %(seconds)s s and try again.") % {"seconds": seconds}, seconds)
    return None


def script_tag(base_url: str, key: WidgetKey) -> str:
    """The tag to paste into a page to embed the widget with ``key`` (with its collection, when
    it has just one)."""
    collections = list(key.collections.all())
    slug = present.collection_slugs(Collection.objects.all())[collections[0].pk] if len(collections) == 1 else ""
    src = base_url.rstrip("/") + static("kbassist/widget.js")
    return f'<script src="{src}" data-key="{key.key}"' + (f' data-collection="{slug}"' if slug else "") + " defer></script>"


def conversation_token(caller: Caller, conversation_id: int) -> str:
    """A signed handle on the conversation, valid only for this caller: visitors sharing one
    widget key (one user) cannot continue each other's conversations by guessing ids."""
    return signing.dumps({"c": conversation_id, "u": caller.user.pk, "k": caller.key.pk if caller.key else None}, salt=TOKEN_SALT)


def conversation_from(caller: Caller, token: str) -> int | None:
    """The conversation a token names, when it is this caller's; None for no token or a bad one."""
    if not token:
        return None
    try:
        data = signing.loads(token, salt=TOKEN_SALT, max_age=TOKEN_MAX_AGE)
    except signing.BadSignature:
        return None
    if data.get("u") != caller.user.pk or data.get("k") != (caller.key.pk if caller.key else None):
        return None
    if not Conversation.objects.filter(pk=data.get("c"), user=caller.user).exists():
        return None
    return data["c"]


def shown_event(caller: Caller, event: dict) -> dict:
    """An answer event as the widget shows it: the conversation as a signed token, and, for a
    widget key's visitors (who are not signed in here), no links to files they could not open."""
    if event["type"] == "conversation":
        return {"type": "conversation", "token": conversation_token(caller, event["id"]), "title": event.get("title", "")}
    if caller.key is not None and event["type"] in ("sources", "done"):
        field = "sources" if event["type"] == "sources" else "citations"
        event = {**event, field: [{**s, "url": None} for s in event.get(field) or []]}
    return event
