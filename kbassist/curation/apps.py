from django.apps import AppConfig


class CurationConfig(AppConfig):
    name = "kbassist.curation"
    verbose_name = "Curation"

    def ready(self):
        from kbassist.knowledge import freshness

        from . import reviews, signals  # noqa: F401  (connects the receivers)

        freshness.provide_review_dates(reviews.review_by_of)  # citations show when a source is due
