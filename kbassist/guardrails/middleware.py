"""Requests from visitors who are not signed in (the login page, the language switch, and
any other page reached anonymously) count per IP address: KB_RATE_ANONYMOUS_PER_MINUTE.
The probes of load balancers and Prometheus (``/healthz``, ``/readyz``, ``/metrics``) do not."""

from .limits import check_anonymous_rate, client_ip, refusal_response


PROBES = ("/healthz", "/readyz", "/metrics")  # kbassist/health: polled every few seconds, never limited


class AnonymousRateLimitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (user is None or not user.is_authenticated) and request.path not in PROBES:
            if refusal := check_anonymous_rate(client_ip(request)):
                return refusal_response(request, refusal)
        return self.get_response(request)
