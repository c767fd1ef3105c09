"""Warm start: a shared model is built once per process, whatever the burst of first
questions; the web process loads its models and indexes before it takes traffic."""

import threading

import pytest

from kbassist.process import ProcessWide
from kbassist.retrieval import embedder as embedders
from kbassist.retrieval.store import CROSSLINGUAL, index_cache

from tests.conftest import running_app
from tests.fakes import ScriptedBackend


def burst(function, n=50):
    """Call ``function`` from ``n`` threads released at the same moment; their results."""
    start, results = threading.Barrier(n), [None] * n

    def call(i):
        start.wait()
        results[i] = function()

    threads = [threading.Thread(target=call, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def test_a_burst_of_first_calls_builds_a_process_wide_value_once():
    builds = []
    entered = threading.Event()

    def build():
        builds.append(1)
        entered.set()
        threading.Event().wait(0.2)  # a slow load: every other thread arrives meanwhile
        return object()

    shared = ProcessWide(build)
    results = burst(shared.get)
    assert len(builds) == 1
    assert all(r is results[0] for r in results)


def test_a_failed_build_is_not_kept_and_the_next_call_builds_again():
    attempts = []

    def build():
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("the model file is being copied")
        return "model"

    shared = ProcessWide(build)
    with pytest.raises(RuntimeError):
        shared.get()
    assert shared.peek() is None
    assert shared.get() == "model" and shared.get() == "model"
    assert len(attempts) == 2


def test_fifty_concurrent_first_questions_load_the_embedder_once(monkeypatch):
    """What the 50 threads of a burst of questions call (search, the FAQ match and the
    evidence all go through ``get_embedder()``), on a process that has not loaded it yet."""
    loads = []
    real = embedders.get_embedder()

    def counting_build():
        loads.append(threading.current_thread().name)
        threading.Event().wait(0.2)
        return real

    monkeypatch.setattr(embedders, "build_embedder", counting_build)
    embedders.set_embedder(None)
    try:
        vectors = burst(lambda: embedders.get_embedder().encode_query("How many vacation days do I get?"))
    finally:
        embedders.set_embedder(real)
    assert len(loads) == 1
    assert all(v.shape == vectors[0].shape for v in vectors)


@pytest.mark.django_db
def test_warm_up_loads_the_embedder_and_the_model_and_reads_every_index(handbook, backend, settings):
    from kbassist.health.warmup import warm_up

    settings.KB_CHECK_MODEL = ""
    scripted = backend(ScriptedBackend("Ready."))
    embedders.set_embedder(None)  # a process that has loaded nothing yet
    index_cache.clear()
    timings = warm_up()
    assert set(timings) == {"embedder", "indexes", "model"}
    assert embedders.loaded_embedder() is not None
    assert (handbook.collection_id, "") in index_cache._loaded  # read before any question
    assert len(index_cache._loaded[(handbook.collection_id, CROSSLINGUAL)])  # and the one a Chinese question searches
    assert embedders._crosslingual.peek() is not None  # with its model loaded
    assert len(scripted.calls) == 1  # one short generation


@pytest.mark.django_db
def test_warm_up_with_a_remote_model_leaves_generation_to_its_server(handbook, backend, settings):
    from kbassist.health.warmup import warm_up

    settings.KB_LLM_BACKEND = "openai"
    scripted = backend(ScriptedBackend("Ready."))
    assert set(warm_up()) == {"embedder", "indexes"}
    assert scripted.calls == []


@pytest.mark.django_db(transaction=True)
def test_daphne_loads_the_embedder_before_its_port_answers(handbook):
    """The very first request Daphne answers already finds the embedder loaded: the warm-up
    ran while the application was imported, before the port opened. (The chat model is a
    remote one here, so no model is loaded: /readyz names that check as failing.)"""
    import json
    import urllib.error
    import urllib.request

    with running_app("/healthz", "daphne-warmup.log", KB_WARMUP="1", KB_LLM_BACKEND="openai",
                     KB_OPENAI_BASE_URL="http://127.0.0.1:9/v1", KB_READY_TIMEOUT="1") as url:
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(url + "/readyz", timeout=30)
    checks = json.loads(refused.value.read())["checks"]
    assert refused.value.code == 503
    assert checks["embedder"]["ok"] is True and checks["embedder"]["reason"] == "minilm-l6-v2"
    assert checks["indexes"] == {"name": "indexes", "ok": True, "reason": "1 collections, 3 passages"}
    assert checks["model"]["ok"] is False
