"""Figures read from the database when ``/metrics`` is scraped (they are the same whichever
process is asked): documents by status, and the age of the newest worker heartbeat."""

from __future__ import annotations

import logging

from django.db.models import Count
from prometheus_client.core import GaugeMetricFamily

log = logging.getLogger(__name__)


class DatabaseCollector:
    def collect(self):
        from kbassist.knowledge.models import Document
        from kbassist.observability.heartbeat import worker_status

        documents = GaugeMetricFamily("kb_documents", "Documents by ingestion status", labels=["status"])
        try:
            counts = dict(Document.objects.values_list("status").annotate(n=Count("pk")).order_by())
        except Exception:
            log.exception("metrics: documents could not be counted")
            counts = {}
        for status in Document.Status.values:
            documents.add_metric([status], counts.get(status, 0))
        yield documents
        try:
            status = worker_status()
        except Exception:
            log.exception("metrics: the worker heartbeat could not be read")
            return
        yield GaugeMetricFamily("kb_worker_up", "1 when a worker's heartbeat is fresh (KB_WORKER_STALE_SECONDS)",
                                value=1 if status.alive else 0)
        if status.age_s is not None:
            yield GaugeMetricFamily("kb_worker_heartbeat_age_seconds", "Seconds since a worker last wrote its heartbeat",
                                    value=status.age_s)
