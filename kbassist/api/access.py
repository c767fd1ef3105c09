"""Who is calling and what they may do: API keys in, a user out, and the same collection
rights as everywhere else (``Collection.objects.visible_to`` / ``editable_by`` plus the
model permission, as in the admin).

Errors are ``ApiError``s with an HTTP status; each door renders them in its own format.
"""

from __future__ import annotations

from django.http import HttpRequest

from kbassist.knowledge.models import Collection

from .limits import RateLimited, check_rate_limit
from .models import APIKey

# Where a key may be sent: "Authorization: Bearer kb_..." (what OpenAI clients send) or "X-API-Key: kb_...".
BEARER = "bearer"
KEY_HEADER = "X-API-Key"


class ApiError(Exception):
    """A request that cannot be served, with the status and a message for the caller."""

    TYPES = {400: "invalid_request", 401: "authentication_error", 403: "permission_denied", 404: "not_found",
             409: "conflict", 413: "request_too_large", 422: "invalid_request", 429: "rate_limited"}

    def __init__(self, status: int, message: str, *, details=None, headers: dict | None = None, code: str | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = details
        self.headers = headers or {}
        self.code = code

    @property
    def type(self) -> str:
        return self.TYPES.get(self.status, "server_error" if self.status >= 500 else "invalid_request")

    def body(self) -> dict:
        error = {"message": self.message, "type": self.type, "status": self.status, "code": self.code}
        if self.details is not None:
            error["details"] = self.details
        return {"error": error}

    @classmethod
    def rate_limited(cls, exc: RateLimited) -> "ApiError":
        return cls(429, exc.message, headers={"Retry-After": str(exc.retry_after)})


NO_KEY = "An API key is needed: send it as 'Authorization: Bearer <key>' (or in an X-API-Key header)."
BAD_KEY = "This API key is not valid (unknown, revoked or expired, or its user is inactive)."


def key_from(request: HttpRequest) -> str:
    """The secret the request carries, or ''."""
    auth = request.headers.get("Authorization", "")
    scheme, _, value = auth.partition(" ")
    if scheme.lower() == BEARER and value.strip():
        return value.strip()
    return request.headers.get(KEY_HEADER, "").strip()


def authenticate(request: HttpRequest, *, scope: str = "api") -> APIKey:
    """The key of this request (its use recorded, its rate limit checked); ApiError 401 if none."""
    secret = key_from(request)
    if not secret:
        raise ApiError(401, NO_KEY, headers={"WWW-Authenticate": 'Bearer realm="kb-assist"'})
    key = APIKey.objects.find(secret)
    if key is None:
        raise ApiError(401, BAD_KEY, headers={"WWW-Authenticate": 'Bearer realm="kb-assist", error="invalid_token"'})
    admit(request, key.user, key=key, scope=scope)
    key.record_use()
    request.user = key.user
    request.api_key = key
    return key


def admit(request: HttpRequest, user, *, key: APIKey | None = None, scope: str = "api") -> None:
    """Every caller of the API, with a key or through a chat bot, passes here once: the single
    call of the rate limiter (``limits.check_rate_limit``)."""
    try:
        check_rate_limit(request, user, key=key, scope=scope)
    except RateLimited as exc:
        raise ApiError.rate_limited(exc) from None


# --- collection rights -----------------------------------------------------------------------------


def visible_collection(user, pk) -> Collection:
    collection = Collection.objects.visible_to(user).filter(pk=pk).first()
    if collection is None:
        raise ApiError(404, "No such collection.")  # no hint that it exists
    return collection


def may_change(user, collection_id, *permissions: str) -> bool:
    """The admin's rule: every model permission (``knowledge.add_document``, ...) and an editor
    group of the collection (superusers: all)."""
    return all(user.has_perm(p) for p in permissions) and Collection.objects.editable_by(user).filter(pk=collection_id).exists()


def require_change(user, collection_id, *permissions: str) -> None:
    """404 when the user cannot even see the collection, 403 when they see it but may not change it."""
    if may_change(user, collection_id, *permissions):
        return
    if not Collection.objects.visible_to(user).filter(pk=collection_id).exists():
        raise ApiError(404, "No such collection.")
    raise ApiError(403, "You may not change this collection (it needs an editor group of the collection and the permission).")


def editable_collection(user, pk, *permissions: str) -> Collection:
    require_change(user, pk, *permissions)
    return Collection.objects.get(pk=pk)
