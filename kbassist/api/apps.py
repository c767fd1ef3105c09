from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "kbassist.api"
    label = "api"
    verbose_name = "API"

    def ready(self):
        from . import signals  # noqa: F401  (the refused-question webhook)
