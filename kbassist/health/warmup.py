"""The web process's warm-up: load what the first question would otherwise wait for.

``warm_up()`` loads the embedders, reads every collection's indexes, runs one search through
them, and, with the in-process model (KB_LLM_BACKEND=llamacpp), loads the chat model (and
the answer check's model, KB_CHECK_MODEL) and generates a few tokens. Every model is a
process-wide object built once under a lock (``kbassist.process.ProcessWide``), so the
questions that come later share them. ``kbassist/asgi.py`` calls ``warm_up_web_process()``
while Daphne imports the application, before it opens its port: ``./kb start`` says
"running" only once the port answers ``/readyz``. Tests and management commands never import
``asgi.py``'s warm-up (and the test settings turn it off).
"""

from __future__ import annotations

import logging
import time

from django.conf import settings

log = logging.getLogger(__name__)
QUERY = "How many vacation days do I get?"


def warm_up() -> dict[str, float]:
    """Load and exercise the models and indexes; returns the milliseconds of each step. A
    step that fails is logged and skipped: the process still starts (a question then gets
    the passages answer, and ``/readyz`` says what is missing)."""
    timings: dict[str, float] = {}

    def step(name, work):
        started = time.perf_counter()
        try:
            work()
        except Exception:
            log.exception("warm-up: %s failed", name)
        timings[name] = round((time.perf_counter() - started) * 1000, 1)

    step("embedder", _embedder)
    step("indexes", _indexes)
    if settings.KB_GENERATE and settings.KB_LLM_BACKEND == "llamacpp":
        step("model", _model)
        if settings.KB_CHECK_MODEL:
            step("answer_check_model", _checker)
    return timings


def _embedder():
    from kbassist.retrieval.embedder import get_crosslingual_embedder, get_embedder

    embedder = get_embedder()
    embedder.encode_query(QUERY)  # the query path (one thread)
    embedder.encode([QUERY, "Full-time staff get 28 vacation days per year."])  # the passages path
    if crosslingual := get_crosslingual_embedder():  # what a Chinese question over English pages searches with
        crosslingual.encode_query(QUERY)


def _indexes():
    from kbassist.knowledge.models import Collection
    from kbassist.retrieval.search import hybrid_rank
    from kbassist.retrieval.store import CROSSLINGUAL, index_cache

    collections = list(Collection.objects.values_list("pk", flat=True))
    indexes = [index_cache.get(pk, wait=True) for pk in collections]
    for pk in collections:  # the cross-lingual indexes, where there are any
        index_cache.get(pk, wait=True, space=CROSSLINGUAL)
    if indexes := [ix for ix in indexes if len(ix)]:
        hybrid_rank(QUERY, indexes, top_k=settings.KB_TOP_K, depth=settings.KB_CANDIDATES, rrf_k=settings.KB_RRF_K)


def _model():
    from kbassist.llm import ChatMessage, get_backend

    backend = get_backend()
    messages = [ChatMessage("system", "Answer in one word."), ChatMessage("user", QUERY)]
    for _ in backend.stream(messages, max_tokens=4, temperature=0.0):
        pass


def _checker():
    from kbassist.llm import get_checker

    get_checker()


def warm_up_web_process():
    """The warm-up, when KB_WARMUP is on, logged (called once, by ``kbassist/asgi.py``)."""
    if not settings.KB_WARMUP:
        return
    started = time.perf_counter()
    log.info("warming up: loading the models and indexes before taking traffic")
    timings = warm_up()
    log.info("warmed up in %.1f s (%s)", time.perf_counter() - started,
             ", ".join(f"{name} {ms / 1000:.1f} s" for name, ms in timings.items()))
