"""``/healthz``, ``/readyz`` and ``/metrics``: thin views over ``checks`` and the Prometheus
registry. None needs a signed-in user: a load balancer and Prometheus call them. ``/metrics``
is served only to ``KB_METRICS_ALLOWED_IPS`` or a request bearing ``KB_METRICS_TOKEN``."""

from __future__ import annotations

import hmac
import ipaddress
import os

import prometheus_client
from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import multiprocess

from .checks import readiness
from .collectors import DatabaseCollector


@never_cache
@require_GET
def healthz(request):
    """The process is alive and answers (nothing else is checked: it must stay cheap)."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request):
    ready, checks = readiness()
    return JsonResponse({"status": "ready" if ready else "not ready", "checks": {c.name: c.as_dict() for c in checks}},
                        status=200 if ready else 503)


PROXY_HEADERS = ("X-Forwarded-For", "X-Real-IP", "Forwarded")


def metrics_allowed(request) -> bool:
    """A request bearing KB_METRICS_TOKEN, or one straight from KB_METRICS_ALLOWED_IPS. A
    request that came through a proxy is admitted by the token only: behind a reverse proxy
    on the same machine every request would otherwise come "from" loopback."""
    token = settings.KB_METRICS_TOKEN
    header = request.headers.get("Authorization", "")
    if token and header.startswith("Bearer ") and hmac.compare_digest(header[7:].strip().encode(), token.encode()):
        return True
    if any(name in request.headers for name in PROXY_HEADERS):
        return False
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    for allowed in settings.KB_METRICS_ALLOWED_IPS:
        try:
            if address in ipaddress.ip_network(allowed.strip(), strict=False):
                return True
        except ValueError:
            continue
    return False


def registry() -> prometheus_client.CollectorRegistry:
    """This process's figures, or with PROMETHEUS_MULTIPROC_DIR every process's, plus the
    database figures."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        merged = prometheus_client.CollectorRegistry()
        multiprocess.MultiProcessCollector(merged)
        merged.register(DatabaseCollector())
        return merged
    global _registered
    if not _registered:  # once per process, into the default registry
        prometheus_client.REGISTRY.register(DatabaseCollector())
        _registered = True
    return prometheus_client.REGISTRY


_registered = False


@never_cache
@require_GET
def metrics(request):
    if not metrics_allowed(request):
        return HttpResponse("Forbidden: /metrics is for KB_METRICS_ALLOWED_IPS or a KB_METRICS_TOKEN bearer.\n",
                            status=403, content_type="text/plain")
    return HttpResponse(prometheus_client.generate_latest(registry()), content_type=prometheus_client.CONTENT_TYPE_LATEST)
