"""Readiness, one named check at a time: each returns ``Check(name, ok, reason)``.

``/readyz`` (``views.readyz``) answers 200 only when every check is ok. Reasons say what is
wrong in words a load balancer's log can show: never a path, a password or a URL with its
credentials (exceptions are logged here, in full, and reported by their class only).
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass

from django.conf import settings
from django.db import connection

log = logging.getLogger(__name__)


@dataclass
class Check:
    name: str
    ok: bool
    reason: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


def _failed(name: str, what: str, exc: Exception) -> Check:
    log.warning("readiness check %s failed: %s", name, exc, exc_info=True)
    return Check(name, False, f"{what} ({exc.__class__.__name__})")


def database() -> Check:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        return _failed("database", "the database does not answer", exc)
    return Check("database", True, connection.vendor)


def broker() -> Check:
    """The Celery broker accepts a connection (the filesystem broker: its folders exist)."""
    from kbassist.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, timeout=settings.KB_READY_TIMEOUT)
            transport = conn.transport_cls
    except Exception as exc:
        return _failed("broker", "the task broker cannot be reached", exc)
    return Check("broker", True, str(transport))


def indexes() -> Check:
    """Every collection's live index version can be read (they are cached once read)."""
    from kbassist.knowledge.models import Collection
    from kbassist.retrieval.store import index_cache

    chunks = 0
    ids = list(Collection.objects.values_list("pk", flat=True))
    for collection_id in ids:
        try:
            chunks += len(index_cache.get(collection_id, wait=True))
        except Exception as exc:
            return _failed("indexes", f"the index of collection {collection_id} cannot be read", exc)
    return Check("indexes", True, f"{len(ids)} collections, {chunks} passages")


def embedder() -> Check:
    from kbassist.retrieval.embedder import loaded_embedder

    loaded = loaded_embedder()
    if loaded is None:
        return Check("embedder", False, "not loaded yet (the web process loads it before taking traffic; KB_WARMUP)")
    return Check("embedder", True, loaded.name)


def model() -> Check:
    """The chat model can answer: loaded in this process (llamacpp), or its server lists its
    models (openai). Generation off (KB_GENERATE) needs no model."""
    from kbassist.llm import GenerationError, get_backend, loaded_backend

    if not settings.KB_GENERATE:
        return Check("model", True, "generation is off (KB_GENERATE)")
    if settings.KB_LLM_BACKEND == "llamacpp":
        backend = loaded_backend()
        if backend is None:
            return Check("model", False, "not loaded yet (the web process loads it before taking traffic; KB_WARMUP)")
    else:
        try:
            backend = get_backend()  # a client, nothing loaded
        except Exception as exc:
            return _failed("model", "the model backend cannot be set up", exc)
    try:
        backend.check_reachable(settings.KB_READY_TIMEOUT)
    except GenerationError as exc:
        log.warning("readiness check model failed: %s", exc)
        return Check("model", False, str(exc))
    return Check("model", True, backend.name if settings.KB_LLM_BACKEND == "llamacpp" else "the model server answers")


def worker() -> Check:
    from kbassist.observability.heartbeat import worker_status

    try:
        status = worker_status()
    except Exception as exc:
        return _failed("worker", "the worker heartbeat cannot be read", exc)
    return Check("worker", status.alive, status.message)


CHECKS = (database, broker, indexes, embedder, model, worker)


def readiness() -> tuple[bool, list[Check]]:
    """Every check, each named; ready when all are ok."""
    results = []
    for check in CHECKS:
        try:
            results.append(check())
        except Exception as exc:  # a check must never take /readyz down with it
            results.append(_failed(check.__name__, "the check itself failed", exc))
    return all(r.ok for r in results), results
