from django.urls import path
from django.views.i18n import JavaScriptCatalog

from . import views

app_name = "chat"
urlpatterns = [
    path("", views.index, name="index"),
    path("c/<int:conversation_id>", views.index, name="conversation"),
    path("api/conversations/<int:pk>/rename", views.rename_conversation, name="rename"),
    path("api/conversations/<int:pk>/delete", views.delete_conversation, name="delete"),
    path("api/messages/<int:pk>/feedback", views.feedback, name="feedback"),
    path("jsi18n/", JavaScriptCatalog.as_view(packages=["kbassist.chat"]), name="jsi18n"),
]
