"""/metrics: Prometheus text with the project's figures after an answer and an ingestion,
served only to allowed addresses or the bearer of KB_METRICS_TOKEN."""

import pytest
from prometheus_client.parser import text_string_to_metric_families

from kbassist.chat.answering import answer
from kbassist.llm.line import GenerationLine

from tests.fakes import ScriptedBackend

pytestmark = pytest.mark.django_db


def scrape(client, **headers) -> dict:
    """{(sample name, frozenset of labels): value} from /metrics."""
    response = client.get("/metrics", **headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(response.content.decode())
        for s in family.samples
    }


def value(figures, name, **labels):
    return figures.get((name, frozenset(labels.items())), 0.0)


def test_an_answer_shows_up_in_the_figures(client, handbook, employee):
    before = scrape(client)
    events = list(answer("How many vacation days do I get?", user=employee, backend=ScriptedBackend(), line=GenerationLine()))
    done = events[-1]
    assert done["type"] == "done" and done["kind"] == "generated"
    after = scrape(client)

    def grew(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("kb_answers_total", kind="generated", status="complete") == 1
    assert grew("kb_answer_ttft_seconds_count", kind="generated") == 1
    assert grew("kb_answer_ttft_seconds_sum", kind="generated") == pytest.approx(done["timings"]["ttft_ms"] / 1000)
    assert grew("kb_generation_tokens_per_second_count") == 1
    assert grew("kb_generated_tokens_total") == done["timings"]["tokens"]
    assert grew("kb_generation_queue_wait_seconds_count") == 1
    assert value(after, "kb_generation_queue_length") == 0  # nobody waiting any more
    for stage in ("bm25", "embed", "dense", "fusion", "total"):
        assert grew("kb_retrieval_stage_seconds_count", stage=stage) == 1, stage
    # the database's figures, and django-prometheus's own
    assert value(after, "kb_documents", status="ready") == 1
    assert value(after, "kb_documents", status="queued") == 0
    assert any(name.startswith("django_http_requests") for name, _ in after)


def test_a_model_that_fails_counts_as_a_model_error_and_a_passages_answer(client, handbook, employee):
    before = scrape(client)
    list(answer("How many vacation days do I get?", user=employee, backend=ScriptedBackend(fail_after=0), line=GenerationLine()))
    after = scrape(client)
    assert value(after, "kb_model_errors_total", where="generation") - value(before, "kb_model_errors_total", where="generation") == 1
    assert (value(after, "kb_answers_total", kind="passages", status="error")
            - value(before, "kb_answers_total", kind="passages", status="error")) == 1


def test_ingestion_is_timed_per_stage(client, public_collection, make_document):
    before = scrape(client)
    make_document(public_collection, "leave.md", "# Leave\n\nFull-time staff get 28 vacation days per year.\n")
    make_document(public_collection, "empty.txt", "")
    after = scrape(client)
    # both documents were parsed; the empty one stopped there (skipped: nothing to index)
    for stage, times in (("parse", 2), ("chunk", 1), ("embed", 1), ("store", 1), ("index", 1)):
        assert (value(after, "kb_ingest_stage_seconds_count", stage=stage)
                - value(before, "kb_ingest_stage_seconds_count", stage=stage)) == times, stage
    assert value(after, "kb_documents_ingested_total", status="ready") - value(before, "kb_documents_ingested_total", status="ready") == 1
    assert value(after, "kb_documents_ingested_total", status="skipped") - value(before, "kb_documents_ingested_total", status="skipped") == 1


def test_an_outside_address_is_refused(client):
    response = client.get("/metrics", REMOTE_ADDR="203.0.113.7")
    assert response.status_code == 403
    assert b"kb_" not in response.content


def test_a_bearer_token_opens_metrics_from_anywhere_and_a_wrong_one_does_not(client, settings):
    settings.KB_METRICS_TOKEN = "s3cret-token"
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.7", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.7").status_code == 403
    assert scrape(client, REMOTE_ADDR="203.0.113.7", HTTP_AUTHORIZATION="Bearer s3cret-token")


def test_a_request_through_a_proxy_needs_the_token_even_from_loopback(client, settings):
    """nginx on the same machine forwards everyone's requests from 127.0.0.1."""
    settings.KB_METRICS_TOKEN = "s3cret-token"
    assert client.get("/metrics", HTTP_X_FORWARDED_FOR="203.0.113.7").status_code == 403
    assert client.get("/metrics", HTTP_X_REAL_IP="203.0.113.7").status_code == 403
    assert client.get("/metrics", HTTP_X_FORWARDED_FOR="203.0.113.7", HTTP_AUTHORIZATION="Bearer s3cret-token").status_code == 200


def test_allowed_addresses_may_be_networks(client, settings):
    settings.KB_METRICS_ALLOWED_IPS = ["10.0.0.0/8"]
    assert client.get("/metrics", REMOTE_ADDR="10.20.30.40").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 403


@pytest.mark.django_db(transaction=True)
def test_with_a_multiprocess_folder_the_web_process_reports_the_workers_figures(public_collection, make_document,
                                                                                  monkeypatch, tmp_path):
    """Daphne and a real Celery worker write their figures into PROMETHEUS_MULTIPROC_DIR (as
    ``./kb start`` sets it up); a document ingested by the worker shows in Daphne's /metrics."""
    import urllib.request

    from kbassist.ingestion.importing import queue_ingestion
    from kbassist.knowledge.models import Document

    from tests.conftest import running_app, running_worker, wait_until

    folder = tmp_path / "prometheus"
    folder.mkdir()
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(folder))
    document = make_document(public_collection, "leave.md", "# Leave\n\nFull-time staff get 28 vacation days.\n", ingest=False)
    with running_worker() as worker, running_app("/healthz", "daphne-metrics.log") as url:
        queue_ingestion(document)
        wait_until(lambda: Document.objects.get(pk=document.pk).status == "ready", timeout=120, what="the worker's ingestion")

        def figures():
            text = urllib.request.urlopen(url + "/metrics", timeout=10).read().decode()
            return {(s.name, frozenset(s.labels.items())): s.value
                    for family in text_string_to_metric_families(text) for s in family.samples}

        scraped = figures()
        assert worker.poll() is None
    assert value(scraped, "kb_documents_ingested_total", status="ready") == 1  # counted in the worker
    assert value(scraped, "kb_ingest_stage_seconds_count", stage="embed") == 1
    assert value(scraped, "kb_documents", status="ready") == 1  # read from the database
    assert any(name.startswith("django_http_requests") for name, _ in scraped)  # Daphne's own
    assert value(scraped, "kb_worker_up") == 1


def test_every_figure_the_grafana_dashboard_plots_is_served(client):
    import json
    import re
    from pathlib import Path

    dashboard = json.loads((Path(__file__).resolve().parents[2] / "docs" / "grafana-dashboard.json").read_text())
    plotted = {re.sub(r"_(bucket|sum|count|total)$", "", name)
               for panel in dashboard["panels"] for target in panel["targets"]
               for name in re.findall(r"\b((?:kb|django)_[a-z_]+)", target["expr"])}
    response = client.get("/metrics")
    served = {family.name for family in text_string_to_metric_families(response.content.decode())}
    assert plotted - {"kb_worker_heartbeat_age_seconds"} <= served, plotted - served  # the age: once a worker beat
    assert len(plotted) >= 12
