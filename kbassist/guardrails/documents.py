"""The per-document cap: one file must not exhaust the worker's memory or time.

Ingestion asks ``too_large`` once it knows a document's pages (a PDF, before its text is
extracted) and again once it has its text, and fails the document with the reason.
"""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext, gettext_noop

TOO_MANY_PAGES = gettext_noop(
    "The document has %(count)s pages; the limit is %(limit)s (KB_MAX_DOCUMENT_PAGES). Split it into smaller files."
)
TOO_MANY_CHARS = gettext_noop(
    "The document has %(count)s characters of text; the limit is %(limit)s (KB_MAX_DOCUMENT_CHARS). Split it into smaller files."
)


def too_large(pages: int | None = None, chars: int | None = None) -> str | None:
    """Why a document with ``pages`` pages and ``chars`` characters is refused, or None."""
    page_limit, char_limit = settings.KB_MAX_DOCUMENT_PAGES, settings.KB_MAX_DOCUMENT_CHARS
    if pages and page_limit and pages > page_limit:
        return gettext(TOO_MANY_PAGES) % {"count": f"{pages:,}", "limit": f"{page_limit:,}"}
    if chars and char_limit and chars > char_limit:
        return gettext(TOO_MANY_CHARS) % {"count": f"{chars:,}", "limit": f"{char_limit:,}"}
    return None
