import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kbassist.settings")

app = Celery("kbassist", include=["kbassist.ingestion.tasks", "kbassist.audit.tasks", "kbassist.curation.tasks", "kbassist.chat.tasks"])
app.config_from_object("django.conf:settings", namespace="CELERY")
