"""Makes the request being served known to ``audit.record`` (for events recorded by signals
and admin hooks, which are not handed the request)."""

from .recording import _current_request


class AuditMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _current_request.set(request)
        try:
            return self.get_response(request)
        finally:
            _current_request.reset(token)
