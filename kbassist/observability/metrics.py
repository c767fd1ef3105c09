"""The project's own Prometheus metrics, and the one place that records them.

Each process keeps its figures in prometheus_client's registry; with
``PROMETHEUS_MULTIPROC_DIR`` set (``./kb start`` sets it), every process (Daphne, the Celery
worker) writes them to files in that folder and ``/metrics`` on any web process reports the
sum over all of them (``kbassist/health/views.py``). The calls elsewhere are one line each:
``answer_finished`` when an answer is saved, ``queue_joined`` / ``queue_left`` around the wait
for the model, ``retrieval_timed`` after a search, ``model_error``, and an ``IngestTimer``
through the stages of one document.
"""

from __future__ import annotations

import time

from prometheus_client import Counter, Gauge, Histogram, disable_created_metrics

disable_created_metrics()  # no *_created series beside each counter and histogram: noise on a dashboard

# Seconds, from a cached answer (milliseconds) to a long generation on a busy CPU (minutes).
LATENCY = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120, 300)
FAST = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)
SLOW = (0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)

ANSWERS = Counter("kb_answers", "Answers saved, by kind (generated, curated, cached, refused, ...) and status", ["kind", "status"])
TTFT = Histogram("kb_answer_ttft_seconds", "Time from the question to the first piece of the answer", ["kind"], buckets=LATENCY)
ANSWER_TIME = Histogram("kb_answer_duration_seconds", "Time from the question to the saved answer", ["kind"], buckets=LATENCY)
TOKENS_PER_S = Histogram("kb_generation_tokens_per_second", "Tokens per second of each generated answer",
                         buckets=(1, 2, 4, 6, 8, 12, 16, 24, 32, 48, 64, 128, 256))
TOKENS = Counter("kb_generated_tokens", "Tokens generated for answers")
QUEUE_WAIT = Histogram("kb_generation_queue_wait_seconds", "Time an answer waited in line for the model", buckets=LATENCY)
QUEUE_LENGTH = Gauge("kb_generation_queue_length", "Answers waiting in line for (or holding) the model",
                     multiprocess_mode="livesum")
RETRIEVAL = Histogram("kb_retrieval_stage_seconds", "Retrieval latency per stage (bm25, embed, dense, fusion, total; "
                      "answer_check: the answer check's model)", ["stage"], buckets=FAST)
MODEL_ERRORS = Counter("kb_model_errors", "The language model failed (could not load, or failed while generating)", ["where"])
INGEST_STAGE = Histogram("kb_ingest_stage_seconds", "Ingestion time per stage of one document", ["stage"], buckets=SLOW)
INGESTED = Counter("kb_documents_ingested", "Documents whose ingestion ended, by the status it ended in", ["status"])


def answer_finished(kind: str, status: str, timings: dict):
    """One answer was saved; ``timings`` are the answer's own (``ttft_ms``, ``total_ms``,
    ``tokens``, ``tokens_per_s``, ``answer_check``), as the done event carries them."""
    kind, status = str(kind), str(status)
    ANSWERS.labels(kind, status).inc()
    if (ttft := timings.get("ttft_ms")) is not None:
        TTFT.labels(kind).observe(ttft / 1000)
    if (total := timings.get("total_ms")) is not None:
        ANSWER_TIME.labels(kind).observe(total / 1000)
    if timings.get("tokens"):
        TOKENS.inc(timings["tokens"])
    if timings.get("tokens_per_s"):
        TOKENS_PER_S.observe(timings["tokens_per_s"])
    if isinstance(check := timings.get("answer_check"), dict) and check.get("ms") is not None:
        RETRIEVAL.labels("answer_check").observe(check["ms"] / 1000)


def queue_joined() -> float:
    """An answer joined the line for the model; returns the time to hand to ``queue_left``."""
    QUEUE_LENGTH.inc()
    return time.perf_counter()


def queue_left(joined: float):
    """The answer got its turn (or gave up) after joining at ``joined``."""
    QUEUE_LENGTH.dec()
    QUEUE_WAIT.observe(time.perf_counter() - joined)


def retrieval_timed(timings_ms: dict):
    """The stage timings of one search, in milliseconds (``search.hybrid_rank``'s)."""
    for stage, ms in timings_ms.items():
        RETRIEVAL.labels(stage).observe(ms / 1000)


def model_error(where: str):
    """The model failed: ``where`` is "generation", "rewrite", "answer_check", ..."""
    MODEL_ERRORS.labels(where).inc()


class IngestTimer:
    """The stages of one document's ingestion: ``stage(name)`` ends the stage before (its
    time is recorded) and starts ``name``; ``finished(status)`` ends the last one."""

    def __init__(self):
        self.current: str | None = None
        self.since = time.perf_counter()

    def stage(self, name: str | None):
        now = time.perf_counter()
        if self.current is not None:
            INGEST_STAGE.labels(self.current).observe(now - self.since)
        self.current, self.since = name, now

    def drop(self):
        """Forget the stage under way without recording it (it did not happen after all)."""
        self.current, self.since = None, time.perf_counter()

    def finished(self, status: str):
        self.stage(None)
        INGESTED.labels(str(status)).inc()
