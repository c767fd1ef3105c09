from django.db import models


class WorkerHeartbeat(models.Model):
    """When a Celery worker process last said it was alive (one row per worker process),
    written by a thread of the worker every ``KB_WORKER_HEARTBEAT_SECONDS``."""

    worker = models.CharField(max_length=200, unique=True)  # Celery's node name and the process id
    started_at = models.DateTimeField()
    seen_at = models.DateTimeField(db_index=True)
    stopped_at = models.DateTimeField(null=True, blank=True)  # a clean shutdown says so at once

    class Meta:
        ordering = ["-seen_at"]

    def __str__(self):
        return self.worker
