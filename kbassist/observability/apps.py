from django.apps import AppConfig


class ObservabilityConfig(AppConfig):
    name = "kbassist.observability"
    verbose_name = "Health and metrics"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import heartbeat

        heartbeat.connect_worker_signals()
