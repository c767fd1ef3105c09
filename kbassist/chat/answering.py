"""``answer()``: one question in, a stream of events out. Every door into the assistant uses it.

The websocket consumer, the ``ask`` command and the tests all iterate this same generator.
Events are plain dicts with a ``type``:

  conversation  {"id", "title"}                   the conversation the exchange belongs to
  queued        {"position"}                      waiting for the model; 1 = next in line
  sources       {"query", "query_how", "sources"} what was searched and found, numbered from 1
  evidence      {"evidence"}                      the best sentences, quoted before the model writes
  token         {"text"}                          a piece of the answer
  done          {"message_id", "kind", "status", "answer", "html", "citations", "timings", ...}
  error         {"message", "code"?}              something failed; what could be shown, is. Refused
                                                  before anything was stored: code "too_long" or
                                                  "answer_in_progress" (guard rails)

An answer takes the first of these paths that applies; each is a small generator that
yields its events and returns an ``Outcome`` (or None when it does not apply):
  cached     the same question over the same, unchanged collections was answered before
  curated    an FAQ entry asks the same thing: its answer is returned as written
  refused    nothing retrieved is relevant enough: say so, suggest the closest FAQs
  generated  the model answers from the retrieved sources (follow-ups are first rewritten)
  passages   the model is unavailable or failed: the passages, with citations

Guard rails (``kbassist.guardrails``) around them: one answer at a time per user, questions
naming a sensitive word refused and answers containing one withheld (screened as they
stream), a full generation line answered at once with "busy" (kind ``busy``), and questions
stored with personal data masked when KB_REDACT_PII is on.

Many askers at once (``flights``, README "Serving many users"): a first question that an
identical one in flight is being answered for waits for that answer instead of a place in the
line, and when the model is busy a follow-up that names nothing earlier is answered as a
question of its own (no rewrite, no history).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import chain, zip_longest

from django.conf import settings
from django.utils.translation import gettext, gettext_noop

from kbassist.guardrails.frames import BadFrame, check_question_length
from kbassist.guardrails.pii import for_storage
from kbassist.guardrails.record import record_guard
from kbassist.guardrails.slots import AnswerInProgress, AnswerSlot, answer_slot
from kbassist.guardrails.words import ANSWER_WITHHELD, QUESTION_REFUSED, AnswerScreen, find_sensitive
from kbassist.llm import GenerationError, LLMBackend, get_checker
from kbassist.llm.line import GenerationLine, LineFull, generation_line
from kbassist.observability import metrics
from kbassist.retrieval.search import Hit, SearchExplanation, crosslingual_search, explain_search, search
from kbassist.text import cited_numbers, is_chinese

from . import flights, policy
from .answer_check import answer_probability, copied_answer, copies_a_value, evidence_mentions
from .access import withhold_unseen
from .attribution import attribute
from .drafts import Draft, save_answer
from .facts.questions import VALUE_KINDS
from .auditing import record_question
from .grounding import Checked, Grounding, model_declined
from .verification import quote_lines
from .models import CachedAnswer, Conversation, Message, for_asker
from .prompt import FenceFilter, build_messages, without_fences
from .relay import relay
from .rendering import render_markdown
from .rewrite import concatenated, is_follow_up, leans_on_conversation, standalone_question, to_english
from .turn import Found, Outcome, Turn, source_dict

log = logging.getLogger(__name__)
Kind, Status = Message.Kind, Message.Status

EMPTY = gettext_noop("Please type a question.")
NOTHING_TO_REGENERATE = gettext_noop("There is no answer to regenerate.")
REFUSED = gettext_noop("The knowledge base does not cover this question, so I would rather not guess.")
CLOSEST = gettext_noop("The closest FAQ entries:")
CURATORS = gettext_noop("Your question has been passed on to the people who maintain the knowledge base.")
NOT_ANSWERED = gettext_noop(
    "The knowledge base has passages on this topic, but I could not confirm that any of them answers this question, so I would rather not guess."
)
NEAREST = gettext_noop("The closest they come (read it to judge for yourself):")
COVERS = gettext_noop("What it does cover:")
UNAVAILABLE = gettext_noop(
    "The language model is unavailable right now. These passages from the knowledge base are the closest match:"
)
BUSY = gettext_noop(
    "The assistant is busy right now: too many questions are waiting for the model. Please try again in about %(seconds)s s."
)


def answer(
    question: str,
    *,
    user,
    conversation: Conversation | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    backend: LLMBackend | None = None,
    line: GenerationLine | None = None,
    regenerate: bool = False,
    collection_ids: list[int] | None = None,
    address: str | None = None,
    via: str = "",
) -> Iterator[dict]:
    """Answer ``question`` for ``user``; ``regenerate`` re-answers the conversation's last
    question with the model (no cache, no curated answer) without saving the question again.
    ``collection_ids`` narrows the search to those of the user's collections (never widens it).
    ``address`` (the asker's network address) and ``via`` (the door: "websocket", "command
    line", ...) go into the audit event every answer records. A user has at most one answer on
    its way at a time (across tabs and processes)."""
    question = question.strip()
    if not question:
        yield {"type": "error", "message": gettext(EMPTY)}
        return
    try:
        check_question_length(question)
        slot = answer_slot(user).acquire()
    except (BadFrame, AnswerInProgress) as refused:
        yield refused.event()
        return
    options = _Options(should_stop, backend, line, collection_ids, address, via)
    try:
        yield from _answer(question, user, conversation, regenerate, slot, options)
    finally:
        slot.release()


def regenerate(conversation: Conversation, *, user, should_stop: Callable[[], bool] = lambda: False,
               backend: LLMBackend | None = None, line: GenerationLine | None = None,
               collection_ids: list[int] | None = None, address: str | None = None, via: str = "") -> Iterator[dict]:
    """Answer the conversation's last question again; the new answer replaces the old one."""
    if conversation.user_id != user.pk:
        raise PermissionError("This conversation belongs to someone else.")
    try:
        slot = answer_slot(user).acquire()  # before the old answer goes
    except AnswerInProgress as refused:
        yield refused.event()
        return
    try:
        last = conversation.messages.last()
        asked = last.replies_to() if last is not None and last.role == Message.Role.ASSISTANT else None
        if asked is None:
            yield {"type": "error", "message": gettext(NOTHING_TO_REGENERATE)}
            return
        last.delete()
        options = _Options(should_stop, backend, line, collection_ids, address, via)
        yield from _answer(asked.content, user, conversation, True, slot, options)
    finally:
        slot.release()


@dataclass
class _Options:
    """How a question came in and what may answer it, passed through to its ``Turn``."""

    should_stop: Callable[[], bool]
    backend: LLMBackend | None
    line: GenerationLine | None
    collection_ids: list[int] | None
    address: str | None
    via: str


def _answer(question, user, conversation, regenerate: bool, slot: AnswerSlot, options: _Options):
    if conversation is None:
        conversation = Conversation.objects.create(user=user, title=for_storage(question)[:80])
    elif conversation.user_id != user.pk:
        raise PermissionError("This conversation belongs to someone else.")
    history = withhold_unseen(conversation.history(settings.KB_HISTORY_TURNS), user)
    if regenerate and history and history[-1].role == Message.Role.USER:
        history = history[:-1]  # the question being answered again is not its own history
    if not regenerate:
        Message.objects.create(conversation=conversation, role=Message.Role.USER, kind="", content=for_storage(question))
    screen = AnswerScreen.start()

    def stop() -> bool:  # the user stopped, or the answer is being withheld; the slot stays alive
        slot.keep_alive()
        return bool(screen and screen.matched) or options.should_stop()

    turn = Turn(question, user, conversation, history, stop, options.backend, options.line or generation_line, regenerate,
                options.collection_ids, options.address, options.via)
    yield {"type": "conversation", "id": conversation.pk, "title": conversation.title}
    if terms := find_sensitive(question):
        record_guard("sensitive_question", user=user, conversation=conversation.pk, terms=terms)
        outcome = Outcome(Kind.WITHHELD, text=turn.say(QUESTION_REFUSED), guard={"name": "sensitive_words", "question_terms": terms})
        yield {"type": "token", "text": outcome.text}
        done = _finish(turn, outcome)
        slot.release()  # before the last event: the user may ask again the moment it arrives
        yield done
        return
    try:
        outcome = yield from _screened(turn, _noting_sources(turn, _paths(turn)), screen)
    except LineFull as full:
        outcome = _busy(turn, full)
    except (Exception, GeneratorExit):
        _record_failure(turn)
        if turn.draft is not None:
            turn.draft.interrupt()  # the text so far stays, marked as cut short
        raise
    finally:
        turn.release()
    done = _finish(turn, outcome)
    slot.release()  # before the last event: the user may ask again the moment it arrives
    yield done


def _paths(turn: Turn):
    _standalone_under_load(turn)
    return (yield from _cached(turn)) or (yield from _in_flight(turn))


# --- many colleagues at once (README, "Serving many users": the line under load) -----------------
def _standalone_under_load(turn: Turn):
    """When a new answer would wait more than KB_REWRITE_MAX_WAIT s for the model, a follow-up
    that names nothing earlier in the conversation is answered as a question of its own: no
    place in the line for a rewrite, no history in the prompt, and the answer cache and the
    answers in flight serve it."""
    limit = settings.KB_REWRITE_MAX_WAIT
    if not turn.history or turn.regenerate or not limit or leans_on_conversation(turn.question):
        return
    if turn.line.expected_wait() > limit:
        turn.history = []
        turn.timings["history"] = "set aside: the model was busy and the question names nothing earlier"


def _in_flight(turn: Turn):
    """A first question that another asker's identical question is being answered for waits
    for that answer instead of taking a place of its own in the line (``flights``)."""
    if not turn.use_cache:
        return (yield from _from_sources(turn))
    flight, leading = flights.board(turn.cache_key)
    if leading:
        outcome = None
        try:
            outcome = yield from flight.record(_from_sources(turn))
            flight.found = turn.found
            return outcome
        finally:
            flights.land(flight, outcome, outcome is not None and outcome.status == Status.COMPLETE)
    pieces: list[str] = []
    shared = yield from _following(turn, flight, pieces)
    if shared is flights.STOPPED:
        return Outcome(Kind.GENERATED, Status.STOPPED, "".join(pieces).strip(), query=turn.question)
    if shared is None:  # the leader ended without a complete answer: answer it here
        return (yield from _from_sources(turn))
    turn.found = flight.found
    turn.timings["shared"] = True  # answered with an identical question in flight
    return shared


def _following(turn: Turn, flight: flights.Flight, pieces: list[str]):
    """The leader's events, the answer's words kept in ``pieces`` and saved as they come (a
    dying process loses nothing); returns what ``Flight.follow`` returns."""
    def keep(event: dict):
        if event["type"] == "token":
            pieces.append(event["text"])
            turn.timings.setdefault("ttft_ms", turn.ms())
            turn.draft = turn.draft or Draft(turn.conversation)
            turn.draft.update(pieces)

    return (yield from relay(flight.follow(turn.should_stop), keep))


def _screened(turn: Turn, events: Iterator[dict], screen: AnswerScreen | None):
    """The events of ``events`` with each answer token screened for sensitive words (held
    back while it could still become one); the outcome, replaced by the withheld message
    when the answer contains one."""
    if screen is None:
        return (yield from events)
    try:
        while True:
            try:
                event = next(events)
            except StopIteration as end:
                outcome = end.value
                break
            if event["type"] != "token":
                yield event
            elif shown := screen.feed(event["text"]):
                yield {**event, "text": shown}
    finally:
        events.close()
    if rest := screen.flush():
        yield {"type": "token", "text": rest}
    if not screen.check(outcome.text):
        return outcome
    record_guard("answer_withheld", user=turn.user, conversation=turn.conversation.pk, kind=outcome.kind, terms=screen.matched)
    text = turn.say(ANSWER_WITHHELD)
    yield {"type": "token", "text": text}
    return Outcome(Kind.WITHHELD, text=text, query=outcome.query, model_name=outcome.model_name,
                   guard={"name": "sensitive_words", "answer_terms": screen.matched, "withheld_kind": outcome.kind})


def _busy(turn: Turn, full: LineFull) -> Outcome:
    """The generation line is full: say so at once, with the expected wait."""
    record_guard("busy", user=turn.user, waiting=full.waiting, retry_after=full.retry_after)
    text = turn.say(BUSY) % {"seconds": full.retry_after}
    return Outcome(Kind.BUSY, Status.ERROR, text, query=turn.question, extra={"retry_after": full.retry_after})


def _noting_sources(turn: Turn, events: Iterator[dict]):
    """Pass ``events`` through, noting each source sent to the asker (for the audit trail);
    returns what ``events`` returns."""

    def note(event: dict):
        if event["type"] == "sources":
            turn.shown.extend(event["sources"])

    return (yield from relay(events, note))


def _record_failure(turn: Turn):
    """Answering failed (or was abandoned): what was shown until then is still recorded."""
    try:
        record_question(turn, None)
    except Exception:
        log.exception("could not record the audit event of a failed answer")


def _cached(turn: Turn):
    cached = CachedAnswer.objects.lookup(turn.cache_key) if turn.use_cache else None
    if cached is None:
        return None
    yield {"type": "sources", "query": cached.search_query, "query_how": "cached", "sources": cached.citations}
    turn.timings["ttft_ms"] = turn.ms()
    yield {"type": "token", "text": cached.answer}
    return Outcome(Kind.CACHED, text=cached.answer, citations=cached.citations, query=cached.search_query)


def _from_sources(turn: Turn):
    query, how, asked = yield from _search_query(turn)
    if query is None:
        return Outcome(Kind.GENERATED, Status.STOPPED, query=turn.question)
    found = turn.found = Found(query, how, found_hits(query, how, asked, turn.user, turn.collection_ids), turn.question)
    turn.timings["retrieval_ms"] = turn.ms()
    return (yield from _curated(turn, found)) or (yield from _refused(turn, found)) or (yield from _generated(turn, found))


def _search_query(turn: Turn):
    """``(query, how, asked)``: what to search for, and the question it stands for in the
    asker's words (a follow-up rewritten, before any translation). A follow-up is rewritten by
    the model, and a Chinese question is translated into English (the documents may be
    English); both need the generation slot. ``(None, "", "")`` if the user stopped while
    waiting for it."""
    query, how = turn.question, "as asked"
    if is_follow_up(turn.history):
        query, how = concatenated(turn.question, turn.history), "concatenated"
    wants_model = (how != "as asked" and settings.KB_QUERY_REWRITE) or (is_chinese(turn.question) and settings.KB_TRANSLATE_QUERIES)
    if not wants_model:
        return query, how, query
    if not (yield from turn.wait_for_model()):
        return None, "", ""
    asked = query
    try:
        if how != "as asked" and settings.KB_QUERY_REWRITE:
            query, how = standalone_question(turn.question, turn.history, turn.model())
            asked = query
        if is_chinese(query) and settings.KB_TRANSLATE_QUERIES and (english := to_english(query, turn.model())):
            query, how = english, "translated"
    except GenerationError:
        pass  # the model cannot load: search without it
    return query, how, asked


def found_hits(query: str, how: str, question: str, user, collection_ids=None) -> list[Hit]:
    """What the search finds for a turn: the hits of ``query``; for a translated question,
    alternating with the hits of the question as asked that are in its own language (Chinese
    passages, which the English translation may miss). Its hits in English passages are left
    out: the translation searched those, and a Chinese question matched against English text
    by its few Latin words ("IAA") pushed the page that answers out of the five (18f-s11-13).
    For a Chinese question the last ``KB_CROSSLINGUAL_HITS`` places go to the passages nearest
    it in the cross-lingual index (a multilingual model's vectors), which find a page the
    translation names otherwise than the handbook ("新主管手册" translated "the new manager's
    manual", not the New Supervisor Playbook). ``question`` is the question in the asker's words
    (a follow-up rewritten into a standalone one, not yet translated)."""
    hits = search(query, user, collection_ids=collection_ids).hits
    as_asked = search(question, user, collection_ids=collection_ids).hits if how == "translated" else []
    nearest = crosslingual_search(question, user, collection_ids=collection_ids) if is_chinese(question) else []
    return _merged(hits, how, question, as_asked, nearest)


def _merged(hits: list[Hit], how: str, question: str, as_asked: list[Hit], nearest: list[Hit]) -> list[Hit]:
    """The sources of a turn from its searches (``found_hits``; the try page's ``explain``):
    a translated question's hits with those of the question as asked in its own language, and
    a Chinese question's (translated or not: the model may be down) with the cross-lingual
    index's nearest passages in the last places."""
    if how == "translated":
        hits = _with_own_language(hits, as_asked, question)
    return _with_crosslingual(hits, nearest) if nearest else hits


def _with_crosslingual(hits: list[Hit], nearest: list[Hit]) -> list[Hit]:
    """The first ``KB_TOP_K - KB_CROSSLINGUAL_HITS`` of ``hits``, then the best of ``nearest``
    not among them in the places left, then the rest of ``hits``: ``KB_TOP_K`` hits, each chunk once. On our sets' 173 answerable
    Chinese questions over English pages the translation ranks the right page within its first
    three for 167; the cross-lingual index, searched with the question as asked, within its
    first two for 125, and for 4 of the 6 the translation misses."""
    k = settings.KB_TOP_K
    places = min(k, settings.KB_CROSSLINGUAL_HITS)
    head = hits[: k - places]
    seen = {h.chunk.pk for h in head}
    added = [h for h in nearest if h.chunk.pk not in seen][:places]
    seen |= {h.chunk.pk for h in added}
    return [*head, *added, *(h for h in hits[k - places :] if h.chunk.pk not in seen)][:k]


def _with_own_language(translated: list[Hit], as_asked: list[Hit], question: str) -> list[Hit]:
    own = [h for h in as_asked if is_chinese(h.chunk.text) == is_chinese(question)]
    return _interleave(translated, own, settings.KB_TOP_K)


def _interleave(first: list[Hit], second: list[Hit], k: int) -> list[Hit]:
    """Hits of two searches, alternating, each chunk once, at most ``k``."""
    merged: dict[int, Hit] = {}
    for hit in chain.from_iterable(zip_longest(first, second)):
        if hit is not None:
            merged.setdefault(hit.chunk.pk, hit)
    return list(merged.values())[:k]


def _curated(turn: Turn, found: Found):
    if turn.regenerate:
        return None
    asked = found.query if turn.history or found.how == "translated" else turn.question
    match = policy.find_curated(asked, found.hits)
    if match is None and asked != turn.question:  # the question as typed may match an FAQ too
        match = policy.find_curated(turn.question, found.hits)
    if match is None:
        return None
    sources = [source_dict(1, match.hit)]
    yield found.event(sources)
    text = f"{match.hit.chunk.faq.answer.strip()} [1]"
    turn.timings.update(ttft_ms=turn.ms(), faq_similarity=round(match.similarity, 3))
    yield {"type": "token", "text": text}
    return Outcome(Kind.CURATED, text=text, citations=_cite(sources, text), query=found.query)


def _refused(turn: Turn, found: Found):
    """Refuse when nothing retrieved is on the topic, or when passages are on the topic but
    no sentence of theirs answers the question itself (evidence answerability), or the value
    that would answer comes from a page that never names what the question names
    (``Grounding.named_elsewhere``)."""
    relevance = policy.judge_relevance(found.query, found.hits)
    turn.timings["relevance"] = {"dense": round(relevance.dense, 3), "coverage": round(relevance.coverage, 3), "by": relevance.measure}
    if relevance.relevant:
        grounding = found.grounding
        turn.timings["answerability"] = round(grounding.answerability.score, 3)
        if grounding.answers_question:
            if grounding.named_elsewhere:  # the value is another thing's: no check can make it this one's
                turn.timings["named_elsewhere"] = grounding.named_elsewhere
            elif _check_answers((yield from _evidence_states_answer(turn, found)), found):
                return None
    suggestions = [source_dict(n, h) for n, h in enumerate([h for h in found.hits if h.chunk.faq_id][:3], start=1)]
    if relevance.relevant:
        text, covered, extra = _not_answered(turn, found, found.sources)
    else:
        covered, extra = [], {}
        text = turn.say(REFUSED)
        if suggestions:
            text += "\n\n" + turn.say(CLOSEST) + "\n" + "\n".join(f"- {s['faq_question']}" for s in suggestions)
        text += "\n\n" + turn.say(CURATORS)
    yield found.event(covered)
    turn.timings["ttft_ms"] = turn.ms()
    yield {"type": "token", "text": text}
    return Outcome(Kind.REFUSED, text=text, citations=covered, query=found.query, extra={**extra, "suggestions": suggestions}, shown=suggestions)


def _not_answered(turn: Turn, found: Found, sources: list[dict]) -> tuple[str, list[dict], dict]:
    """The refusal on the topic, as ``(text, sources listed, extra)``: quote the sentences that
    come closest, say what the knowledge base does cover, and give those passages as sources
    (none cited) so the asker can open them and read for themselves. The check that refuses
    can be wrong (a 1.5B model: 53 of 460 answerable questions of our sets refused); the
    quotes then still hold the fact for about half of them, and for the others show why it
    was not taken as the answer."""
    quoted, extra = _nearest(turn, found, sources)
    shown = max([3, *(e["n"] for e in extra.get("evidence", []))])
    covered = _cite(sources[:shown], "")
    # numbered, so that a door without the sources beside the text (a chat bot, the
    # OpenAI-compatible reply) still says what each quote's [n] is
    text = turn.say(NOT_ANSWERED) + quoted + "\n\n" + turn.say(COVERS) + "\n" + _listed(covered) + "\n\n" + turn.say(CURATORS)
    return text, covered, extra


def _listed(sources: list[dict]) -> str:
    """The passages as a numbered list, "- [n] Title (location)", one a line."""
    return "\n".join(f"- [{s['n']}] {s['title']}" + (f" ({s['location']})" if s["location"] else "") for s in sources)


def _nearest(turn: Turn, found: Found, sources: list[dict]) -> tuple[str, dict]:
    """For a refusal on the topic: the sentences that come closest to answering, quoted
    (``Grounding.closest``, from ``sources`` only), as text to append and as its evidence."""
    closest = [ev for ev in found.grounding.closest() if ev.source_n <= len(sources)]
    if not closest:
        return "", {}
    where = found.grounding.where(chinese=is_chinese(turn.question))
    text = "\n\n" + turn.say(NEAREST) + "\n" + "\n".join(quote_lines(closest, where))
    return text, {"evidence": found.grounding.as_evidence(closest), "verification": {"from_evidence": True}}


def _evidence_states_answer(turn: Turn, found: Found):
    """Where the evidence answerability is unsure, the answer check's verdict (True / False);
    and whatever the answerability, False when the question has a word no chunk of the
    knowledge base uses and the model says the evidence does not say it in other words either ("sabbatical" over
    passages on care leave). True, without asking the model, when the evidence says no to a
    yes/no question (``Grounding.says_no``; ``turn.evidence_verdict`` stays None, so a
    model that then declines is believed); False, without asking it, when a question asking for
    a count, an amount or a duration is unsure and the check's evidence states none
    (``Grounding.states_no_value_asked``). None when nothing runs (sure enough and no such
    word, turned off, nothing to show it, or no model)."""
    grounding = found.grounding
    if not settings.KB_CHECK_MODEL or not grounding.best or not needs_check(found):
        return None
    if not (yield from turn.wait_for_model()):
        return None
    started = time.perf_counter()
    try:
        checker = get_checker()
    except GenerationError as exc:
        log.warning("answer check unavailable: %s", exc)
        return None
    evidence, record, verdict = grounding.check_evidence(), {}, None
    if grounding.missing_words:
        word = grounding.missing_words[0]
        record = {"missing": word, "mentioned": evidence_mentions(word, evidence, checker)}
        verdict = False if record["mentioned"] is False else None
    if verdict is None and unsure(found) and grounding.states_no_value_asked:
        record["no_value"], verdict = True, False  # no count, amount or duration to answer with
    # the evidence answers "no": nothing for the check to hear a "yes" to
    says_no = verdict is None and unsure(found) and grounding.says_no
    if says_no:
        record["says_no"] = says_no[:200]
    elif verdict is None and unsure(found):
        probability = answer_probability(turn.question, grounding.titled_check_evidence(), checker)
        if probability is not None:
            verdict = probability >= min_yes(grounding)
            record["p_yes"] = round(probability, 3)
            if verdict and needs_value_copy(found, probability):
                copied = copied_answer(turn.question, evidence, checker)
                if copied is not None:
                    record["copied"] = copied
                    verdict = copies_a_value(copied, evidence, found.grounding.answerability.wanted)
    turn.timings["answer_check"] = {"verdict": True if says_no else verdict, "ms": round((time.perf_counter() - started) * 1000, 1), **record}
    # Answered on the evidence's "no", but not judged to answer: a model that declines is believed.
    turn.evidence_verdict = verdict
    return True if says_no else verdict


def _check_answers(verdict: bool | None, found: Found) -> bool:
    """Whether the answer check's ``verdict`` (``_evidence_states_answer``) lets the question
    be answered: its "yes", or no verdict at all; weak evidence is answered only on a
    confident "yes", never unchecked."""
    return verdict is True or (verdict is None and not found.grounding.weak)


def _trusted(turn: Turn, found: Found) -> bool:
    """Whether the evidence was judged to answer before anything was generated, so firmly
    that a model declining is overruled: the answer check's confident "yes" over evidence that
    is not weak, or evidence sure enough that nothing needed checking. Over weak evidence the
    decline is believed: "How many days does an RFC stay open for comments?" (18f-s20-17,
    answerability 0.33) was checked "yes" (p 0.82) over another process's "three business
    days", and the model rightly said the sources do not say; the two declines overruled
    rightly before (18f-en-045, 18f-s8-09) had answerability 0.57 and 0.73."""
    verdict, grounding = turn.evidence_verdict, found.grounding
    return bool(grounding.best) and ((verdict is True and not grounding.weak) or (verdict is None and not unsure(found)))


def min_yes(grounding) -> float:
    """How likely the answer check's "yes" must be for this evidence: KB_CHECK_MIN_YES, or
    KB_CHECK_MIN_YES_WEAK when the answerability is weak (below KB_WEAK_ANSWERABILITY)."""
    return settings.KB_CHECK_MIN_YES_WEAK if grounding.weak else settings.KB_CHECK_MIN_YES


def unsure(found: Found) -> bool:
    """Whether the evidence answerability leaves it unsure that the passages answer: below
    KB_CHECK_BELOW, or whatever it is for a translated question (its words were matched through
    a machine translation; replayed on both sets, checking these caught the Chinese sabbatical
    question and refused no answerable one) or for one whose setup uses what no chunk uses ("Denver", "flew")."""
    grounding = found.grounding
    return grounding.answerability.score < settings.KB_CHECK_BELOW or found.how == "translated" or bool(grounding.circumstances)


def needs_value_copy(found: Found, probability: float) -> bool:
    """Whether a "yes" is hesitant enough (below KB_CHECK_CONFIRM_BELOW) to be confirmed by a
    copy of the answer, for a question asking for a value (session 8, replayed on both
    handbooks' sets: 5 more of 68 unanswerable questions refused, none of 240 answerable ones;
    session 10, the copy's value must be the evidence's: 3 more of 136 unanswerable refused, 3
    of 332 answerable). The kind of value is the evidence answerability's (``Grounding.asked``'s
    for a translated question)."""
    return probability < settings.KB_CHECK_CONFIRM_BELOW and found.grounding.answerability.wanted in VALUE_KINDS


def needs_check(found: Found) -> bool:
    """Whether the answer check's model is asked: where the evidence answerability is unsure,
    and at any answerability when the question has a word that no chunk of the knowledge base
    uses (``Grounding.missing_words``)."""
    return unsure(found) or bool(found.grounding.missing_words)


def _generated(turn: Turn, found: Found):
    sources = found.sources
    yield found.event(sources)
    if not settings.KB_GENERATE:
        return (yield from _quoted(turn, found))
    # The best sentences, quoted while the model is still to write (on 2 cores its first word
    # takes seconds); the ``done`` event carries the final evidence for the answer written.
    if early := found.grounding.evidence():
        yield {"type": "evidence", "evidence": early}
    if not (yield from turn.wait_for_model()):
        return Outcome(Kind.GENERATED, Status.STOPPED, citations=_cite(sources, ""), query=found.query)
    turn.timings["queue_ms"] = round(turn.ms() - turn.timings["retrieval_ms"], 1)
    pieces: list[str] = []
    model_name, status = "", Status.COMPLETE
    try:
        backend = turn.model()
        model_name = backend.name
        budget = backend.context_size - settings.KB_LLM_MAX_TOKENS - 16
        evidence = found.grounding.best if settings.KB_PROMPT_EVIDENCE else []
        messages, n_used = build_messages(turn.question, [h.chunk for h in found.hits], turn.history, backend.count_tokens, budget, evidence)
        sources = sources[:n_used]  # the ones that fitted in the model's context
        yield from _stream(turn, backend, messages, pieces)
        if turn.should_stop():
            status = Status.STOPPED
    except GenerationError as exc:
        log.warning("generation failed: %s", exc)
        metrics.model_error("generation")
        yield {"type": "error", "message": f"{turn.say(UNAVAILABLE)} ({exc})"}
        # Before or in the middle of the reply (a model server that died): the passages replace
        # the unchecked beginning of an answer.
        return _passages(turn, found)
    finally:
        turn.release()
    return _as_shown(turn, found, "".join(pieces).strip(), sources, model_name, status)


def _as_shown(turn: Turn, found: Found, text: str, sources: list[dict], model_name: str = "", status=Status.COMPLETE) -> Outcome:
    """What the model wrote (``text``, from ``sources``), as the asker is to see it: checked
    against the sources, attributed, or replaced by a refusal or the quoted evidence. The chat
    and the curators' try page (``explain``) both end here, so they cannot drift apart."""
    text = without_fences(text)
    if status == Status.COMPLETE and model_declined(text):
        if not _trusted(turn, found):
            quoted, extra = _nearest(turn, found, sources)  # as the refusal before generating quotes them
            return Outcome(Kind.REFUSED, text=text + quoted, citations=_cite(sources, ""), query=found.query, model_name=model_name, extra=extra)
        # The model says its sources do not answer, but the evidence was judged to before it
        # wrote: the quoted evidence is the answer (both model declines of our generated runs
        # were such answerable questions, 18f-en-045 and 18f-s8-09).
        declined, text = text, found.grounding.quoted_answer(chinese=is_chinese(turn.question))
        extra = {"evidence": found.grounding.evidence(), "verification": {"from_evidence": True, "model_declined": True, "model_answer": for_storage(declined)}}
        return Outcome(Kind.GENERATED, status, text, _cite(sources, text), found.query, model_name, extra)
    verify = status == Status.COMPLETE and settings.KB_VERIFY
    checked = found.grounding.check(text) if verify else Checked(text, {}, False)
    # what the model wrote, kept for curators where the asker is shown something else
    written = {"model_answer": for_storage(text)} if checked.from_evidence or checked.invented or checked.passed_over else {}
    if checked.invented or checked.passed_over:
        # Not an answer with its facts taken out, or without the value asked for, but a
        # question the sources do not answer: say so, quoting what comes closest (as the
        # refusal before generating does).
        text, covered, extra = _not_answered(turn, found, sources)
        extra["verification"] = {**checked.verification, **extra.get("verification", {}), "invented": checked.invented, **written}
        return Outcome(Kind.REFUSED, text=text, citations=covered, query=found.query, model_name=model_name, extra=extra)
    text = checked.text if checked.from_evidence else _attributed(checked.text, sources, found.grounding, checked=verify)
    citations = _cite(sources, text, found.grounding.support(text))
    evidence = found.grounding.evidence("" if checked.from_evidence else text)
    extra = {"evidence": evidence, "verification": {**checked.verification, "from_evidence": checked.from_evidence, **written}}
    return Outcome(Kind.GENERATED, status, text, citations, found.query, model_name, extra)


def _stream(turn: Turn, backend: LLMBackend, messages, pieces: list[str]):
    """Stream the model's reply as ``token`` events into ``pieces``, timing it."""
    first = last = None
    turn.draft = turn.draft or Draft(turn.conversation)  # saved as it streams: a dying process loses nothing
    fences = FenceFilter()  # a fence tag copied from the prompt is never shown, not even while it streams
    for piece in backend.stream(
        messages, max_tokens=settings.KB_LLM_MAX_TOKENS, temperature=settings.KB_LLM_TEMPERATURE, should_stop=turn.should_stop
    ):
        last = time.perf_counter()
        if first is None:
            first = last
            turn.timings["ttft_ms"] = turn.ms()
        pieces.append(piece)
        turn.draft.update(pieces)
        if shown := fences.feed(piece):
            yield {"type": "token", "text": shown}
    if rest := fences.flush():
        yield {"type": "token", "text": rest}
    turn.timings["tokens"] = len(pieces)
    if first is not None and len(pieces) > 1 and last > first:
        turn.timings["tokens_per_s"] = round((len(pieces) - 1) / (last - first), 1)


def _quoted(turn: Turn, found: Found):
    """The answer is the quoted evidence, nothing generated (KB_GENERATE off)."""
    text = found.grounding.quoted_answer(chinese=is_chinese(turn.question))
    turn.timings["ttft_ms"] = turn.ms()
    yield {"type": "token", "text": text}
    extra = {"evidence": found.grounding.evidence(), "verification": {"from_evidence": True}}
    return Outcome(Kind.QUOTED, text=text, citations=_cite(found.sources, text), query=found.query, extra=extra)


def _passages(turn: Turn, found: Found) -> Outcome:
    """The model failed: the quoted evidence, then the passages, with a clear message."""
    quoted = found.grounding.quoted_answer(chinese=is_chinese(turn.question)) + "\n\n" if found.grounding.best else ""
    text = turn.say(UNAVAILABLE) + "\n\n" + quoted + _listed(found.sources)
    extra = {"evidence": found.grounding.evidence(), "verification": {"from_evidence": True}}
    return Outcome(Kind.PASSAGES, Status.ERROR, text, _cite(found.sources, text), found.query, extra=extra)


def _cite(sources: list[dict], text: str, support: dict | None = None) -> list[dict]:
    """The sources, each marked whether the answer cites it, with the ``[start, end]`` spans
    of its text that support the answer (highlighted when the passage is opened)."""
    cited = cited_numbers(text, len(sources))
    return [{**s, "cited": s["n"] in cited, "support": (support or {}).get(s["n"], [])} for s in sources]


def _finish(turn: Turn, outcome: Outcome) -> dict:
    """Save the answer (the one place that does), remember it for the cache, record it in
    the audit trail, and say done."""
    turn.timings["total_ms"] = turn.ms()
    message = save_answer(
        turn.draft,
        conversation=turn.conversation,
        role=Message.Role.ASSISTANT,
        content=outcome.text,
        kind=outcome.kind,
        status=outcome.status,
        search_query=for_storage(outcome.query),
        citations=outcome.citations,
        timings=turn.timings,
        model_name=outcome.model_name,
        evidence=outcome.extra.get("evidence", []),
        verification={**outcome.extra.get("verification", {}), **({"guard": outcome.guard} if outcome.guard else {})},
    )
    turn.conversation.save(update_fields=["updated_at"])
    if turn.use_cache and outcome.kind == Kind.GENERATED and outcome.status == Status.COMPLETE and outcome.text:
        CachedAnswer.objects.record(turn.cache_key, for_storage(turn.question), message)
    record_question(turn, outcome, message.pk)
    metrics.answer_finished(outcome.kind, outcome.status, turn.timings)
    return {
        "type": "done",
        "message_id": message.pk,
        "kind": outcome.kind,
        "status": outcome.status,
        "answer": outcome.text,
        "html": render_markdown(outcome.text, len(outcome.citations)),
        "citations": outcome.citations,
        "timings": turn.timings,
        **outcome.extra,
        **({"verification": for_asker(outcome.extra["verification"])} if "verification" in outcome.extra else {}),
    }


# --- explaining an answer without giving it -----------------------------------------------------
@dataclass
class Explanation:
    """What ``answer()`` would do for a question, and why, without saving anything and
    without the model unless asked (the curators' hit testing)."""

    question: str
    query: str = ""
    how: str = "as asked"  # as in ``Found.how``
    model_needed: str = ""  # "translate" when the chat would have the model translate, but was not allowed to
    cached: CachedAnswer | None = None
    searches: list[SearchExplanation] = field(default_factory=list)  # the query; then the question as asked, if translated
    hits: list[Hit] = field(default_factory=list)  # what the answer paths see (interleaved when translated)
    crosslingual: list[Hit] = field(default_factory=list)  # a Chinese question's nearest passages in the cross-lingual index
    curated: policy.FAQMatch | None = None
    faq_candidates: list[dict] = field(default_factory=list)
    relevance: policy.Relevance | None = None
    answerability: object = None  # evidence.Answerability, when the passages are on the topic
    path: str = ""  # cached | curated | refused | generated | quoted
    reason: str = ""
    found: Found | None = None
    generated: str = ""  # the model's answer, checked, only when asked for
    model_answer: str = ""  # what the model wrote, where ``generated`` shows something else
    check: dict | None = None  # the answer check, run before generating as in the chat: verdict, p_yes, …


def explain(
    question: str, *, user, query: str | None = None, use_model: bool = False, generate: bool = False,
    backend: LLMBackend | None = None,
) -> Explanation:
    """Follow the answer paths of ``answer()`` for a first question by ``user`` (no history)
    with the same functions, recording the figures each decision rests on. The model is used
    only with ``use_model`` (to translate a Chinese question, as the chat does) and an answer
    is generated only with ``generate``. ``query`` is a search query made before (the
    chat's translation or rewrite, kept with its answer), used instead of making one."""
    question = question.strip()
    ex = Explanation(question)
    turn = Turn(question, user, None, [], lambda: False, backend, generation_line, False)
    if turn.use_cache:
        ex.cached = CachedAnswer.objects.filter(key=turn.cache_key).first()  # not counted as a hit
    ex.query, ex.how = question, "as asked"
    if query and query.strip() != question:
        ex.query, ex.how = query.strip(), "translated" if is_chinese(question) and not is_chinese(query) else "model"
    elif is_chinese(question) and settings.KB_TRANSLATE_QUERIES:
        if use_model or generate:
            try:
                if english := to_english(question, turn.model()):
                    ex.query, ex.how = english, "translated"
            except GenerationError:
                pass
        else:
            ex.model_needed = "translate"
    ex.searches.append(explain_search(ex.query, user))
    if ex.how == "translated":
        ex.searches.append(explain_search(question, user))
    if is_chinese(question):
        ex.crosslingual = crosslingual_search(question, user)
    hits = ex.hits = _merged(ex.searches[0].result.hits, ex.how, question,
                             ex.searches[1].result.hits if len(ex.searches) > 1 else [], ex.crosslingual)
    found = ex.found = Found(ex.query, ex.how, hits, question)
    asked = found.query if found.how != "as asked" else question
    ex.curated = policy.find_curated(asked, hits)
    if ex.curated is None and asked != question:
        ex.curated = policy.find_curated(question, hits)
    ex.faq_candidates = policy.explain_curated(asked, hits)
    ex.relevance = policy.judge_relevance(found.query, hits)
    if ex.relevance.relevant:
        ex.answerability = found.grounding.answerability
    if ex.cached is not None:
        ex.path, ex.reason = Kind.CACHED, "the same question over the same, unchanged collections was answered before"
    elif ex.curated is not None:
        ex.path, ex.reason = Kind.CURATED, f"an FAQ asks the same thing ({ex.curated.measure} {ex.curated.similarity:.3f})"
    elif not ex.relevance.relevant:
        ex.path, ex.reason = Kind.REFUSED, "nothing retrieved is on the topic"
    elif not found.grounding.answers_question or (found.grounding.weak and not settings.KB_CHECK_MODEL):
        ex.path, ex.reason = Kind.REFUSED, "the passages are on the topic, but no sentence answers the question"
    elif names := found.grounding.named_elsewhere:
        ex.path, ex.reason = Kind.REFUSED, (f"the passages name “{names[0]}”, but the page whose sentence gives the value asked for"
                                            " never does: that value is another thing's")
    elif not settings.KB_GENERATE:
        ex.path, ex.reason = Kind.QUOTED, "generation is off (KB_GENERATE): the best evidence sentences are the answer"
    else:
        ex.path, ex.reason = Kind.GENERATED, "the model answers from the retrieved sources"
    if (ex.path in (Kind.GENERATED, Kind.QUOTED) and settings.KB_CHECK_MODEL and needs_check(found) and unsure(found)
            and found.grounding.says_no and not found.grounding.missing_words):
        ex.reason += f"; the evidence says no to this yes/no question (“{found.grounding.says_no[:200]}”), so no check is needed"
    elif ex.path in (Kind.GENERATED, Kind.QUOTED) and settings.KB_CHECK_MODEL and needs_check(found):
        if ex.answerability.score < settings.KB_CHECK_BELOW:
            ex.reason += f"; but answerability {ex.answerability.score:.2f} is below KB_CHECK_BELOW ({settings.KB_CHECK_BELOW}),"
        elif found.how == "translated":
            ex.reason += "; but the question was translated for search,"
        elif found.grounding.circumstances and not found.grounding.missing_words:
            ex.reason += f"; but no chunk of the knowledge base uses “{found.grounding.circumstances[0]}” (the asker’s circumstances),"
        else:
            ex.reason += f"; but no chunk of the knowledge base uses the question's word “{found.grounding.missing_words[0]}”,"
        ex.reason += (" so the answer check's model is asked first (whether the evidence mentions that word, in other words too; whether it states the answer):"
                      f" “no”, or a “yes” less than {min_yes(found.grounding):.2f} likely, refuses")
        if found.grounding.answerability.wanted in VALUE_KINDS and settings.KB_CHECK_CONFIRM_BELOW > min_yes(found.grounding):
            ex.reason += (f"; a “yes” less than {settings.KB_CHECK_CONFIRM_BELOW:.2f} likely to this question, which asks for a value,"
                          " stands only if the model's copy of the answer holds one that the evidence states")
    if generate and ex.path == Kind.GENERATED:
        try:
            if _refused_by_check(turn, found):
                ex.check = turn.timings.get("answer_check")
                ex.path = Kind.REFUSED
                ex.reason += f"; asked here, it refuses ({_check_said(ex.check)})"
                return ex
            ex.check = turn.timings.get("answer_check")
            if ex.check:
                ex.reason += f"; asked here, it answers ({_check_said(ex.check)})"
            outcome, failed = _generate_checked(turn, found)
        finally:
            turn.release()
        if outcome is None:
            ex.generated = f"({failed})"
            return ex
        ex.generated = outcome.text
        verification = outcome.extra.get("verification", {})
        ex.model_answer = verification.get("model_answer", "")
        if outcome.kind == Kind.REFUSED:
            ex.path, ex.reason = Kind.REFUSED, (
                "the model's answer states only facts that no source states, or no value where its evidence gives some"
                if verification.get("invented") or verification.get("passed_over")
                else "the model says its sources do not answer, and the evidence was not judged to before it wrote")
    return ex


def _refused_by_check(turn: Turn, found: Found) -> bool:
    """Whether the answer check refuses before anything is generated, as ``_refused`` decides
    in the chat."""
    steps = _evidence_states_answer(turn, found)
    while True:
        try:
            next(steps)  # a place in the model's line: the try page waits
        except StopIteration as done:
            return not _check_answers(done.value, found)


def _check_said(check: dict | None) -> str:
    if not check:
        return "the check's model could not run"
    said = [f"p(yes) {check['p_yes']:.2f}"] if "p_yes" in check else []
    if "mentioned" in check:
        said.append(f"mentions “{check.get('missing')}”: {check['mentioned']}")
    if "copied" in check:
        said.append(f"copied “{check['copied']}”")
    if "says_no" in check:
        said.append("the evidence says no")
    if "no_value" in check:
        said.append("the evidence states no value of the kind asked")
    return ", ".join(said) or f"verdict {check.get('verdict')}"


def _generate_checked(turn: Turn, found: Found) -> tuple[Outcome | None, str]:
    """The model's answer from ``found`` as the chat would show it (nothing saved):
    ``(outcome, "")``, or ``(None, why)`` when the model cannot run."""
    try:
        backend = turn.model()
        budget = backend.context_size - settings.KB_LLM_MAX_TOKENS - 16
        evidence = found.grounding.best if settings.KB_PROMPT_EVIDENCE else []
        messages, n_used = build_messages(turn.question, [h.chunk for h in found.hits], [], backend.count_tokens, budget, evidence)
        text = "".join(backend.stream(messages, max_tokens=settings.KB_LLM_MAX_TOKENS, temperature=settings.KB_LLM_TEMPERATURE)).strip()
    except GenerationError as exc:
        return None, str(exc)
    return _as_shown(turn, found, text, found.sources[:n_used], backend.name), ""


def _attributed(text: str, sources: list[dict], grounding: Grounding, *, checked: bool) -> str:
    """``text`` with ``[n]`` markers where a source supports a sentence, by its words or by the
    facts verification found in that source; a ``checked`` answer that cannot be compared by
    words (Chinese over English sources, a bare "Yes.") by the evidence it was judged on."""
    if not settings.KB_VERIFY:
        return attribute(text, [s["text"] for s in sources])
    return attribute(text, [s["text"] for s in sources], grounding.facts_found(text), grounding.rests_on(text) if checked else None)
