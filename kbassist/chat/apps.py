from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "kbassist.chat"
    verbose_name = "Chat"
