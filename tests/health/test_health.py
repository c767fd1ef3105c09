"""/healthz and /readyz: what a load balancer asks, answered without signing in, each
readiness check named with its reason, 200 only when every one is ok."""

import datetime as dt

import pytest
from django.utils import timezone

from kbassist.health import checks
from kbassist.observability.heartbeat import beat
from kbassist.retrieval import embedder as embedders

from tests.fakes import ScriptedBackend

pytestmark = pytest.mark.django_db


@pytest.fixture
def warm(handbook, backend, settings):
    """A warmed-up process: the embedder and a model loaded, a worker seen just now."""
    settings.KB_LLM_BACKEND = "llamacpp"
    embedders.get_embedder()
    backend(ScriptedBackend())
    beat("celery@test pid 1")


def test_healthz_answers_anyone_without_touching_anything(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_is_200_with_every_check_named_when_all_are_ok(client, warm):
    response = client.get("/readyz")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "ready"
    assert set(body["checks"]) == {"database", "broker", "indexes", "embedder", "model", "worker"}
    assert all(c["ok"] for c in body["checks"].values())
    assert body["checks"]["indexes"]["reason"] == "1 collections, 3 passages"
    assert body["checks"]["model"]["reason"] == "scripted"


def test_readyz_is_503_naming_a_model_not_loaded_yet(client, warm):
    from kbassist.llm import set_backend

    set_backend(None)
    response = client.get("/readyz")
    assert response.status_code == 503
    model = response.json()["checks"]["model"]
    assert model["ok"] is False and "not loaded yet" in model["reason"]
    assert response.json()["checks"]["database"]["ok"] is True


def test_readyz_asks_a_remote_model_server_and_says_when_it_does_not_answer(client, warm, settings, backend):
    from kbassist.llm.openai_compat import OpenAICompatibleBackend

    settings.KB_LLM_BACKEND = "openai"
    settings.KB_READY_TIMEOUT = 1
    backend(OpenAICompatibleBackend("http://user:secret@127.0.0.1:9/v1"))  # nothing listens on port 9
    response = client.get("/readyz")
    assert response.status_code == 503
    model = response.json()["checks"]["model"]
    assert model == {"name": "model", "ok": False, "reason": "The model server could not be reached (APIConnectionError)."}
    assert "secret" not in response.content.decode()


def test_readyz_reports_a_worker_not_seen_for_a_while(client, warm):
    from kbassist.observability.models import WorkerHeartbeat

    WorkerHeartbeat.objects.update(seen_at=timezone.now() - dt.timedelta(minutes=7))
    response = client.get("/readyz")
    assert response.status_code == 503
    worker = response.json()["checks"]["worker"]
    assert worker["ok"] is False
    assert worker["reason"].startswith("No worker has run for 7 minutes")


def test_a_check_that_fails_reveals_no_path_or_secret(monkeypatch, settings):
    from kbassist.retrieval import store

    def unreadable(collection_id, wait=False):
        raise FileNotFoundError(f"{settings.INDEX_DIR}/collection-1/v7/dense.faiss")

    from kbassist.knowledge.models import Collection

    Collection.objects.create(name="HR")
    monkeypatch.setattr(store.index_cache, "get", unreadable)
    result = checks.indexes()
    assert result.ok is False
    assert str(settings.INDEX_DIR) not in result.reason
    assert result.reason.endswith("cannot be read (FileNotFoundError)")


def test_readiness_and_metrics_probes_are_never_rate_limited(client, settings):
    settings.KB_RATE_ANONYMOUS_PER_MINUTE = 2
    assert [client.get("/healthz").status_code for _ in range(5)] == [200] * 5
    assert client.get("/accounts/login/").status_code == 200
    assert client.get("/accounts/login/").status_code == 200
    assert client.get("/accounts/login/").status_code == 429
