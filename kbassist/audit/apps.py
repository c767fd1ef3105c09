from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "kbassist.audit"
    verbose_name = "Audit trail"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import signals  # noqa: F401  (connects the receivers)
