"""Conversations as employees see them, with what each answer cited and how long it took."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Conversation(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="conversations")
    title = models.CharField(_("title"), max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]

    def __str__(self):
        return self.title or f"Conversation {self.pk}"

    def history(self, limit_turns: int) -> list["Message"]:
        """The last ``limit_turns`` question/answer pairs, oldest first (complete answers only)."""
        messages = list(self.messages.exclude(status=Message.Status.ERROR).order_by("-created_at", "-id")[: limit_turns * 2])
        return messages[::-1]


class Message(models.Model):
    class Role(models.TextChoices):
        USER = "user", _("user")
        ASSISTANT = "assistant", _("assistant")

    class Status(models.TextChoices):
        COMPLETE = "complete", _("complete")
        STOPPED = "stopped", _("stopped")
        ERROR = "error", _("error")

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    role = models.CharField(max_length=10, choices=Role.choices)
    content = models.TextField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.COMPLETE)
    search_query = models.TextField(blank=True)  # what retrieval was asked, for follow-ups
    citations = models.JSONField(default=list, blank=True)  # [{n, title, page, section, ...}]
    timings = models.JSONField(default=dict, blank=True)  # retrieval_ms, ttft_ms, tokens_per_s, ...
    model_name = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self):
        return f"{self.role}: {self.content[:60]}"


class Feedback(models.Model):
    message = models.OneToOneField(Message, on_delete=models.CASCADE, related_name="feedback")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    helpful = models.BooleanField()
    comment = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"{'👍' if self.helpful else '👎'} on message {self.message_id}"
