"""One answer in the making: who asks and where (``Turn``), what retrieval found
(``Found``), and what an answer path produced (``Outcome``)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext

from kbassist.knowledge.models import Chunk, Collection
from kbassist.llm import LLMBackend, get_backend
from kbassist.llm.line import GenerationLine
from kbassist.observability import metrics
from kbassist.retrieval.search import Hit
from kbassist.retrieval.store import chunk_shares
from kbassist.retrieval.tokenize import tokenize
from kbassist.text import is_chinese

from . import policy
from .grounding import Grounding
from .models import Conversation, Message

QUEUE_POLL_SECONDS = 0.5
WAIT_STEP_SECONDS = 5  # a waiting user is told the expected wait again when it moved this much


def sources_listed(citations: list[dict], kind: str) -> list[dict]:
    """The sources a footer or a record lists under an answer: the cited ones, or all of them
    when none is cited (quoted passages); none for a refusal, whose passages (and the sentences
    it quotes as coming closest, numbered in its own text) are given to read, not as sources of
    anything."""
    if kind == Message.Kind.REFUSED:
        return []
    return [c for c in citations if c.get("cited")] or citations


@dataclass
class Outcome:
    """What an answer path produced; ``_finish`` saves it as the answer message."""

    kind: str
    status: str = Message.Status.COMPLETE
    text: str = ""
    citations: list[dict] = field(default_factory=list)
    query: str = ""
    model_name: str = ""
    extra: dict = field(default_factory=dict)  # sent with the ``done`` event only
    # Sources the answer names beyond the ``sources`` events and its citations (a refusal's
    # FAQ suggestions): for the audit trail, they were shown too.
    shown: list[dict] = field(default_factory=list)
    guard: dict = field(default_factory=dict)  # which guard rail withheld it, and why: stored, never sent


@dataclass
class Found:
    """What retrieval found for the turn's search query, as numbered sources, and the
    evidence in them (built once, shared by the refusal decision, prompt and verification)."""

    query: str
    how: str  # "as asked", "model" (rewritten), "concatenated" or "translated"
    hits: list[Hit]
    asked: str = ""  # the question in the asker's words (the query may be its rewrite or translation)

    def event(self, sources: list[dict]) -> dict:
        return {"type": "sources", "query": self.query, "query_how": self.how, "sources": sources}

    @cached_property
    def sources(self) -> list[dict]:
        return [source_dict(n, h) for n, h in enumerate(self.hits, start=1)]

    @cached_property
    def grounding(self) -> Grounding:
        if self.how == "translated":
            # The words of a machine translation are the translator's: one that no chunk uses is
            # mostly its synonym ("subsidy" for 补贴 where the handbook says "stipend"), not a thing
            # the knowledge base lacks, so there are no missing words to ask about (the answer
            # check still reads every translated question); the asker's own names are looked up.
            return Grounding(self.query, self.sources, term_share=self._term_share, asked=self.asked, page_words=page_words)
        return Grounding(self.query, self.sources, term_share=self._term_share, page_words=page_words)

    def _term_share(self, tokens) -> dict[str, float]:
        return chunk_shares({h.chunk.collection_id for h in self.hits}, tokens)


@dataclass
class Turn:
    """One question being answered: who asks, where, what came before, the clock, and the
    turn's place in the generation line (joined at most once, released in one place)."""

    question: str
    user: object
    conversation: Conversation
    history: list[Message]
    should_stop: Callable[[], bool]
    backend: LLMBackend | None
    line: GenerationLine
    regenerate: bool
    collection_ids: list[int] | None = None  # narrows the user's collections (an API model per collection)
    address: str | None = None  # the asker's network address, for the audit trail
    via: str = ""  # the door the question came through: "websocket", "command line", ...
    found: Found | None = None  # what retrieval found, once it ran
    # The answer check's verdict on whether the evidence answers (None: it did not run or could not tell)
    evidence_verdict: bool | None = None
    shown: list[dict] = field(default_factory=list)  # every source sent to the asker
    timings: dict = field(default_factory=dict)
    started: float = field(default_factory=time.perf_counter)
    ticket: object = None
    queued_at: float | None = None  # when the turn joined the line, until its go (metrics)
    draft: object = None  # drafts.Draft: the answer saved while it streams (generated answers)

    @property
    def language(self) -> str:
        return "zh-hans" if is_chinese(self.question) else "en"

    @property
    def use_cache(self) -> bool:
        return settings.KB_ANSWER_CACHE and not self.history and not self.regenerate

    @cached_property
    def collections(self) -> list[Collection]:
        """The collections the asker may see (narrowed to ``collection_ids`` when given): what
        is searched, and what the cache key covers."""
        visible = Collection.objects.visible_to(self.user)
        if self.collection_ids is not None:
            visible = visible.filter(pk__in=list(self.collection_ids))
        return list(visible.only("pk", "name"))

    @cached_property
    def cache_key(self) -> str:
        return policy.cache_key(self.question, [c.pk for c in self.collections])

    def say(self, text: str) -> str:
        """``text`` in the language of the question (answers follow the question)."""
        with translation.override(self.language):
            return gettext(text)

    def ms(self) -> float:
        return round((time.perf_counter() - self.started) * 1000, 1)

    def model(self) -> LLMBackend:
        return self.backend or get_backend()

    def wait_for_model(self) -> Iterator[dict]:
        """Join the line (once) and yield ``queued`` events (place in line and the expected
        wait in seconds, again whenever either moves) until this turn's go; returns False if
        the user gave up meanwhile. Raises ``LineFull`` when KB_QUEUE_MAX answers are waiting
        already, or the expected wait is beyond KB_QUEUE_MAX_WAIT."""
        if self.ticket is None:
            self.ticket = self.line.join(max_waiting=settings.KB_QUEUE_MAX, max_wait=settings.KB_QUEUE_MAX_WAIT)
            self.queued_at = metrics.queue_joined()
        last = None
        try:
            while not self.ticket.wait(QUEUE_POLL_SECONDS):
                if self.should_stop():
                    return False
                position, wait = self.ticket.position, self.ticket.expected_wait()
                if position and (last is None or position != last[0] or abs(wait - last[1]) >= WAIT_STEP_SECONDS):
                    last = (position, wait)
                    yield {"type": "queued", "position": position, "wait_s": wait}
        finally:
            if self.queued_at is not None:
                metrics.queue_left(self.queued_at)
                self.queued_at = None
        return not self.should_stop()

    def release(self):
        if self.ticket is not None:
            self.ticket.release()
            self.ticket = None


def page_words(source: dict) -> frozenset[str]:
    """The retrieval tokens of the whole page a source comes from: every chunk of its document
    (title, section and text), or an FAQ entry's own text."""
    if not source.get("document_id"):
        return frozenset(tokenize(source.get("text", "")))
    chunks = Chunk.objects.filter(document_id=source["document_id"]).select_related("document")
    return frozenset(token for chunk in chunks for token in tokenize(chunk.indexed_text))


def source_dict(n: int, hit: Hit) -> dict:
    data = {"n": n, **hit.as_dict(), "text": hit.chunk.text}
    if hit.chunk.faq_id:
        data["faq_question"] = hit.chunk.faq.question
    return data
