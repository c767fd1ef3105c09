"""How old a source is, for its citation: the date it was last updated (a document's last
import, an FAQ's last edit) and, when the curation app keeps review dates, the date it should
be reviewed by and whether that date has passed.

Review dates live in the curation app, a layer above this one: it registers the function
that finds them (``provide_review_dates``) when it starts, so citations name them without
this layer importing it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from django.utils import timezone

# (kind, id, added) -> the date the source should be reviewed by, or None
ReviewDates = Callable[[str, int, object], "date | None"]
_review_dates: ReviewDates | None = None


def provide_review_dates(function: ReviewDates | None):
    """Set (or, with None, clear) the function that gives a source's review-by date."""
    global _review_dates
    _review_dates = function


def updated_of(source) -> date:
    """The date a document was last imported (added, or replaced by a changed file) or an FAQ
    last edited, in the server's time zone."""
    moment = getattr(source, "ingested_at", None) or getattr(source, "updated_at", None) or source.created_at
    return timezone.localdate(moment)


def of(source, kind: str, today: date | None = None) -> dict:
    """``updated`` (ISO date), ``review_by`` (ISO date or None) and ``past_review`` for a
    document or FAQ, as a citation carries them."""
    data = {"updated": updated_of(source).isoformat(), "review_by": None, "past_review": False}
    if _review_dates is not None:
        due = _review_dates(kind, source.pk, source.created_at)
        if due is not None:
            data["review_by"] = due.isoformat()
            data["past_review"] = due < (today or timezone.localdate())
    return data
