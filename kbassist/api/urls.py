"""The API's URLs: the REST API (/api/v1/), the OpenAI-compatible endpoint (/v1/), the API
keys page, and the chat-bot callbacks."""

from django.urls import path, re_path

from . import bots, compat, rest, views

app_name = "api"
urlpatterns = [
    path("api-keys/", views.keys, name="keys"),
    path("api-keys/<int:pk>/revoke", views.revoke, name="revoke"),
    path("v1/models", compat.models, name="openai_models"),
    path("v1/models/<path:name>", compat.model, name="openai_model"),
    path("v1/chat/completions", compat.chat_completions, name="openai_chat_completions"),
    path("bots/wecom", bots.wecom, name="wecom"),
    path("bots/dingtalk", bots.dingtalk, name="dingtalk"),
]

# Outside the "api" namespace: django-ninja names its own URLs (namespace "api-v1").
api_urlpatterns = [
    path("api/v1/", rest.api.urls),
    re_path(r"^api/v1/(?P<rest>.*)$", rest.not_found_view),
]
