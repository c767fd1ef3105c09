"""The API keys page, the OpenAI-compatible endpoint (/v1/), the chat-bot callbacks and the widget (the
REST API's URLs are in ``rest_urls``: django-ninja names them in a namespace of its own)."""

from django.urls import path

from . import bots, compat, views, widget_views

app_name = "api"
urlpatterns = [
    path("api-keys/", views.keys, name="keys"),
    path("api-keys/<int:pk>/revoke", views.revoke, name="revoke"),
    path("v1/models", compat.models, name="openai_models"),
    path("v1/models/<path:name>", compat.model, name="openai_model"),
    path("v1/chat/completions", compat.chat_completions, name="openai_chat_completions"),
    path("bots/wecom", bots.wecom, name="wecom"),
    path("bots/dingtalk", bots.dingtalk, name="dingtalk"),
    path("widget/frame", widget_views.frame, name="widget_frame"),
    path("widget/catalog", widget_views.catalog, name="widget_catalog"),
    path("widget/ask", widget_views.ask, name="widget_ask"),
    path("widget/key/ask", widget_views.key_ask, name="widget_key_ask"),
]
