import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kbassist.settings")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

app = Celery("kbassist", include=["kbassist.ingestion.tasks"])
app.config_from_object("django.conf:settings", namespace="CELERY")
