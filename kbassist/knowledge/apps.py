from django.apps import AppConfig


class KnowledgeConfig(AppConfig):
    name = "kbassist.knowledge"
    verbose_name = "Knowledge base"
