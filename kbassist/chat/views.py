"""The chat page: a thin view; the streaming happens over the websocket (consumers.py)."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, render

from .models import Conversation
from .rendering import render_markdown


@login_required
def index(request, conversation_id=None):
    conversation = None
    messages = []
    if conversation_id is not None:
        conversation = get_object_or_404(Conversation, pk=conversation_id, user=request.user)
        for message in conversation.messages.all():
            messages.append(
                {
                    "role": message.role,
                    "content": message.content,
                    "html": render_markdown(message.content, len(message.citations)) if message.role == "assistant" else "",
                    "citations": message.citations,
                    "status": message.status,
                }
            )
    return render(
        request,
        "chat/index.html",
        {
            "conversation": conversation,
            "conversations": request.user.conversations.all()[:50],
            "messages_data": messages,
        },
    )
