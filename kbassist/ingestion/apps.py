from django.apps import AppConfig


class IngestionConfig(AppConfig):
    name = "kbassist.ingestion"
    verbose_name = "Ingestion"

    def ready(self):
        from . import signals  # noqa: F401  (connects the receivers)
