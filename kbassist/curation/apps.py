from django.apps import AppConfig


class CurationConfig(AppConfig):
    name = "kbassist.curation"
    verbose_name = "Curation"

    def ready(self):
        from . import signals  # noqa: F401  (connects the receivers)
