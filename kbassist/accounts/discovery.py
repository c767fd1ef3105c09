"""The OpenID Connect provider's metadata (``/.well-known/openid-configuration``), fetched
when first needed and kept for an hour. ``KB_OIDC_DISCOVERY_URL`` is either the issuer
(``https://login.example.com/realms/acme``) or the full discovery URL."""

from __future__ import annotations

import threading
import time

import requests
from django.conf import settings

WELL_KNOWN = "/.well-known/openid-configuration"
TTL = 3600.0
REQUIRED = ("issuer", "authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri")

_cache: dict[str, tuple[float, dict]] = {}
_lock = threading.Lock()


class DiscoveryError(Exception):
    """The provider's metadata could not be read, or does not describe this provider."""


def discovery_url(configured: str) -> str:
    return configured if WELL_KNOWN in configured else configured.rstrip("/") + WELL_KNOWN


def verify_ssl():
    """``KB_OIDC_VERIFY_SSL``: true, false, or the path of a CA bundle (requests' ``verify``)."""
    value = settings.KB_OIDC_VERIFY_SSL
    lowered = str(value).lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    return value


def provider_metadata(configured: str | None = None) -> dict:
    configured = configured or settings.KB_OIDC_DISCOVERY_URL
    if not configured:
        raise DiscoveryError("KB_OIDC_DISCOVERY_URL is not set")
    with _lock:
        hit = _cache.get(configured)
        if hit and hit[0] > time.monotonic():
            return hit[1]
    url = discovery_url(configured)
    try:
        response = requests.get(url, timeout=settings.KB_OIDC_TIMEOUT, verify=verify_ssl())
        response.raise_for_status()
        metadata = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise DiscoveryError(f"cannot read {url}: {exc}") from exc
    if not isinstance(metadata, dict):
        raise DiscoveryError(f"{url} is not a JSON object")
    missing = [key for key in REQUIRED if not metadata.get(key)]
    if missing:
        raise DiscoveryError(f"{url} lacks {', '.join(missing)}")
    if WELL_KNOWN not in configured and metadata["issuer"].rstrip("/") != configured.rstrip("/"):
        raise DiscoveryError(f"{url} names the issuer {metadata['issuer']!r}, not {configured!r}")
    with _lock:
        _cache[configured] = (time.monotonic() + TTL, metadata)
    return metadata


def forget():
    """Drop the cached metadata (tests; a provider that moved)."""
    with _lock:
        _cache.clear()
