"""Web origins (``scheme://host[:port]``) as the widget's settings name them, and the
``Content-Security-Policy`` that lets only those origins embed a page in a frame."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443}


def normalize_origin(text: str) -> str | None:
    """``https://Intranet.Example.com:443/`` -> ``https://intranet.example.com``; None if it is
    not an http(s) origin (a path, a query, credentials or a wildcard make it invalid)."""
    text = text.strip().rstrip("/")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname or parts.path or parts.query or parts.fragment:
        return None
    if parts.username or parts.password or "*" in text:
        return None
    host = parts.hostname.lower()
    if ":" in host:  # IPv6
        host = f"[{host}]"
    if port is None or port == DEFAULT_PORTS[parts.scheme]:
        return f"{parts.scheme}://{host}"
    return f"{parts.scheme}://{host}:{port}"


def parse_origins(text: str) -> tuple[list[str], list[str]]:
    """``(origins, invalid)`` from origins separated by lines, spaces or commas."""
    origins, invalid = [], []
    for item in re.split(r"[\s,]+", text or ""):
        if not item:
            continue
        origin = normalize_origin(item)
        if origin is None:
            invalid.append(item)
        elif origin not in origins:
            origins.append(origin)
    return origins, invalid


def frame_ancestors(origins: list[str]) -> str:
    """The CSP that lets this server and ``origins`` (and nothing else) frame a page."""
    return "frame-ancestors " + " ".join(["'self'", *origins])
