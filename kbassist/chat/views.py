"""The chat page and its small JSON endpoints; the streaming itself is the websocket's."""

import json

from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from kbassist.guardrails.limits import limit_requests

from .access import withhold_unseen
from .models import Conversation, Feedback, Message
from .rendering import render_markdown
from .routing import WS_PATH

_ID = 987654321  # stands for an object id in the URL patterns handed to chat.js


def url_pattern(name: str) -> str:
    """The URL of view ``name`` with ``{id}`` where the object id goes, for chat.js."""
    return reverse(name, args=[_ID]).replace(str(_ID), "{id}")


def chat_config(conversation) -> dict:
    """What chat.js needs from the server: the conversation, and every URL it calls."""
    return {
        "conversationId": conversation.pk if conversation else None,
        "wsPath": "/" + WS_PATH,
        "urls": {
            "home": reverse("chat:index"),
            "conversation": url_pattern("chat:conversation"),
            "rename": url_pattern("chat:rename"),
            "delete": url_pattern("chat:delete"),
            "feedback": url_pattern("chat:feedback"),
        },
    }


def message_data(message: Message) -> dict:
    data = {"id": message.pk, "role": message.role, "content": message.content, "kind": message.kind, "status": message.status}
    if message.role == Message.Role.ASSISTANT:
        data.update(
            # Citations keep their numbers when some are withheld (chat.access): link up to the highest.
            html=render_markdown(message.content, max((c.get("n", 0) for c in message.citations), default=0)),
            citations=message.citations,
            evidence=message.evidence,
            verification=message.verification_for_asker,
            query=message.search_query,
            feedback=getattr(getattr(message, "feedback", None), "helpful", None),
        )
    return data


@login_required
@limit_requests
def index(request, conversation_id=None):
    conversation = None
    messages = []
    if conversation_id is not None:
        conversation = get_object_or_404(Conversation, pk=conversation_id, user=request.user)
        messages = [message_data(m) for m in withhold_unseen(conversation.messages.select_related("feedback"), request.user)]
    return render(
        request,
        "chat/index.html",
        {
            "conversation": conversation,
            "conversations": request.user.conversations.all()[:100],
            "messages_data": messages,
            "chat_config": chat_config(conversation),
        },
    )


def _json_body(request) -> dict:
    try:
        data = json.loads(request.body or b"{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


@login_required
@limit_requests
@require_POST
def rename_conversation(request, pk):
    conversation = get_object_or_404(Conversation, pk=pk, user=request.user)
    title = str(_json_body(request).get("title", "")).strip()[:200]
    if not title:
        return JsonResponse({"error": "The title cannot be empty."}, status=400)
    conversation.title = title
    conversation.save(update_fields=["title", "updated_at"])
    return JsonResponse({"id": conversation.pk, "title": conversation.title})


@login_required
@limit_requests
@require_POST
def delete_conversation(request, pk):
    get_object_or_404(Conversation, pk=pk, user=request.user).delete()
    return JsonResponse({"deleted": pk})


@login_required
@limit_requests
@require_POST
def feedback(request, pk):
    message = get_object_or_404(Message, pk=pk, role=Message.Role.ASSISTANT, conversation__user=request.user)
    data = _json_body(request)
    if not isinstance(data.get("helpful"), bool):
        return JsonResponse({"error": "Say whether the answer was helpful (true or false)."}, status=400)
    item = Feedback.objects.give(message, request.user, data["helpful"], data.get("comment", ""))
    return JsonResponse({"message": message.pk, "helpful": item.helpful, "comment": item.comment})
