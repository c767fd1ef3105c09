"""The sensitive-word filter: questions that name a listed term are refused, answers that
contain one are withheld (KB_SENSITIVE_WORDS, on by default; the lists start empty).

English terms match whole words in any case; Chinese terms (or any with CJK characters)
match wherever they occur. Each process keeps the compiled list and reloads it when the
list's version in the shared cache changes (any save or delete in the admin bumps it).

An answer is screened while it streams (``AnswerScreen``): the end of the text that could
still grow into a listed term is held back until it is clear, so a withheld answer never
shows the term, even in part.
"""

from __future__ import annotations

import logging
import re
import threading
import uuid

from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext_noop

log = logging.getLogger(__name__)

QUESTION_REFUSED = gettext_noop(
    "I can't help with this question here. If you think this is a mistake, please contact the people who maintain the knowledge base."
)
ANSWER_WITHHELD = gettext_noop(
    "This answer has been withheld because it touches on a restricted topic. If you think this is a mistake, "
    "please contact the people who maintain the knowledge base."
)

VERSION_KEY = "guardrails:sensitive-words:version"
_LATIN = "0-9A-Za-z\u00c0-\u024f"  # what an English term must not touch on either side
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]")


class Matcher:
    """A compiled list of terms."""

    def __init__(self, terms: list[str]):
        self.terms = sorted({" ".join(t.split()) for t in terms if t.strip()}, key=len, reverse=True)
        self.prefixes = {t.casefold()[:i] for t in self.terms for i in range(1, len(t) + 1)}
        self.longest = max((len(t) for t in self.terms), default=0)
        parts = [self._pattern(t) for t in self.terms]
        self.pattern = re.compile("|".join(parts), re.IGNORECASE) if parts else None

    @staticmethod
    def _pattern(term: str) -> str:
        body = r"\s+".join(re.escape(word) for word in term.split())
        if _CJK.search(term):
            return f"(?:{body})"
        return f"(?<![{_LATIN}])(?:{body})(?![{_LATIN}])"

    def __bool__(self):
        return self.pattern is not None

    def find(self, text: str, final: bool = True) -> list[str]:
        """The listed terms in ``text``, as written there. Unless ``final``, a term that ends the
        text and could still grow into a longer word ("secret" -> "secretary") does not count yet."""
        if self.pattern is None or not text:
            return []
        found = []
        for match in self.pattern.finditer(text):
            if not final and match.end() == len(text) and re.match(f"[{_LATIN}]", text[-1]):
                continue
            found.append(match.group())
        return list(dict.fromkeys(found))

    def hold_back(self, text: str) -> int:
        """How many characters at the end of ``text`` could be the start of a listed term."""
        for k in range(min(len(text), self.longest), 0, -1):
            if text[-k:].casefold() in self.prefixes:
                return k
        return 0


_lock = threading.Lock()
_current: tuple[str | None, Matcher] = ("", Matcher([]))


def current_matcher() -> Matcher:
    """The enabled terms of both lists, reloaded when an editor changed them (in any process)."""
    global _current
    if not settings.KB_SENSITIVE_WORDS:
        return Matcher([])
    try:
        version = cache.get(VERSION_KEY)
        if version is None:
            cache.add(VERSION_KEY, uuid.uuid4().hex, None)
            version = cache.get(VERSION_KEY)
    except Exception:  # no shared cache: read the list every time
        log.exception("the sensitive-word list's version could not be read")
        version = None
    with _lock:
        if version is not None and _current[0] == version:
            return _current[1]
    from .models import SensitiveWord

    matcher = Matcher(list(SensitiveWord.objects.filter(enabled=True).values_list("term", flat=True)))
    with _lock:
        _current = (version, matcher)
    return matcher


def list_changed(**kwargs):
    try:
        cache.set(VERSION_KEY, uuid.uuid4().hex, None)
    except Exception:
        log.exception("the sensitive-word list's version could not be bumped")


def connect_signals():
    from django.db.models.signals import post_delete, post_save

    from .models import SensitiveWord

    post_save.connect(list_changed, sender=SensitiveWord, dispatch_uid="guardrails-words-saved")
    post_delete.connect(list_changed, sender=SensitiveWord, dispatch_uid="guardrails-words-deleted")


def find_sensitive(text: str) -> list[str]:
    """The listed terms ``text`` contains (none when KB_SENSITIVE_WORDS is off)."""
    return current_matcher().find(text)


class AnswerScreen:
    """Screens an answer as it streams: ``feed(piece)`` returns what may be shown now;
    ``flush()`` what is left at the end. Once a listed term appears, ``matched`` names it
    and nothing more is shown."""

    def __init__(self, matcher: Matcher):
        self.matcher = matcher
        self.text = ""
        self.shown = 0
        self.matched: list[str] = []

    @classmethod
    def start(cls) -> AnswerScreen | None:
        """A screen for one answer, or None when there is nothing to screen for."""
        matcher = current_matcher()
        return cls(matcher) if matcher else None

    def feed(self, piece: str) -> str:
        if self.matched:
            return ""
        self.text += piece
        self.matched = self.matcher.find(self.text, final=False)
        if self.matched:
            return ""
        return self._release(len(self.text) - self.matcher.hold_back(self.text))

    def flush(self) -> str:
        if self.matched:
            return ""
        self.matched = self.matcher.find(self.text)
        return "" if self.matched else self._release(len(self.text))

    def check(self, text: str) -> list[str]:
        """Screen the final text of the answer (what is saved may differ from what streamed)."""
        if not self.matched:
            self.matched = self.matcher.find(text)
        return self.matched

    def _release(self, upto: int) -> str:
        if upto <= self.shown:
            return ""
        out, self.shown = self.text[self.shown : upto], upto
        return out
