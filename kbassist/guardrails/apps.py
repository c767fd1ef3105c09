from django.apps import AppConfig
from django.db.models.signals import post_migrate


class GuardrailsConfig(AppConfig):
    name = "kbassist.guardrails"
    label = "guardrails"
    verbose_name = "Guard rails"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import words

        words.connect_signals()
        post_migrate.connect(_create_cache_table, sender=self)


def _create_cache_table(using="default", verbosity=1, **kwargs):
    """`migrate` also creates the database cache table (when the cache is the database):
    the guard rails count in it, so it must exist wherever the app runs."""
    from django.core.management import call_command

    call_command("createcachetable", database=using, verbosity=0)
