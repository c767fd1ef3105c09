"""Conversations and the answer cache in the Django admin. The answers themselves, with
their feedback, are curation's (``kbassist.curation.admin``)."""

from django.contrib import admin

from .models import CachedAnswer, Conversation


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    list_display = ["__str__", "user", "updated_at"]
    search_fields = ["title", "user__username"]


@admin.register(CachedAnswer)
class CachedAnswerAdmin(admin.ModelAdmin):
    list_display = ["question", "hits", "created_at"]
    search_fields = ["question"]
