"""Supporting sentences: which units of the retrieved passages answer a question.

Pure Python over plain inputs (no database, no Django): a question, a list of sources
(number ``n``, ``text``, optional ``heading``/``section`` and ``title``), and optionally an
``encode`` callable (``list[str] -> np.ndarray`` of unit vectors) for semantic scoring.
The text analysis is in ``kbassist.chat.facts``: sources are split into units (sentences,
list items, table rows with their header or lead-in; ``facts.units``), each with the
condition its label states (``facts.conditions``) and the values it holds
(``facts.quantities``).

* **Scores.** Lexical overlap with the question, each question token weighted by its rarity
  among the given sources (numbers and named terms weigh more), blended with the cosine of
  the embeddings when ``encode`` is given; a unit that holds the kind of value the question
  asks for ("how many", "how long", "when") gains a little. A word only the asker's setup uses
  ("I'm on call starting Monday.") weighs half as much as one of what is asked (``SETUP_WEIGHT``).
* **Conditions.** Rows and list items often hold one value per condition ("Fewer than 3
  years: 4 hours per pay period"). The question's condition (years of service, "new
  employee", grade, trip length, full-time/part-time, or the label of one row of a list,
  such as a city) is compared with each unit's: a unit whose condition contradicts the
  question's is demoted, one whose condition matches is promoted.
  :meth:`EvidenceIndex.condition_state` is what ``chat/verification.py`` reuses.
* **Answerability.** :func:`answerability` says how well the best units cover what the
  question asks: its key words, and a value of the right kind when it asks for one.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Callable, Iterable, Sequence

from kbassist.chat.facts.conditions import Condition, compare_conditions, condition_phrases, parse_condition
from kbassist.chat.facts.markup import plain
from kbassist.chat.facts.numbers import EN_NUMBER
from kbassist.chat.facts.quantities import Quantity, compatible_values, parse_quantities
from kbassist.chat.facts.questions import GENERIC, asked_unit, asking_part, fits_wanted, is_yes_no, name_tokens, states_name, wanted_name, wanted_value
from kbassist.chat.facts.terms import acronym_definitions
from kbassist.chat.facts.units import Unit, split_units
from kbassist.retrieval.tokenize import tokenize
from kbassist.text import CJK, is_chinese

Encode = Callable[[list[str]], "object"]  # list[str] -> np.ndarray of unit vectors



# =============================================================================================
# Sources and the index over their units
# =============================================================================================
@dataclass
class Source:
    n: int
    text: str
    heading: str = ""
    title: str = ""


def as_source(item, position: int = 1) -> Source:
    """A source from a ``Source``, a dict (``n``, ``text``, ``heading``/``section``,
    ``title``), an object with those attributes, an ``(n, text)`` tuple or a bare string."""
    if isinstance(item, Source):
        return item
    if isinstance(item, str):
        return Source(position, item)
    if isinstance(item, (tuple, list)):
        return Source(int(item[0]), str(item[1]), *(str(x or "") for x in item[2:4]))
    get = item.get if isinstance(item, dict) else (lambda key, default=None: getattr(item, key, default))
    return Source(
        int(get("n", position) or position),
        str(get("text", "") or ""),
        str(get("heading", None) or get("section", None) or ""),
        str(get("title", None) or ""),
    )


@dataclass
class EvidenceSentence:
    """A supporting unit: ``text`` is exactly ``source.text[start:end]``; ``quote`` is the
    same with Markdown made readable; ``context`` the table header or list lead-in it belongs
    to; ``condition`` whether its condition matches the question's ("match", "mismatch", None)."""

    source_n: int
    text: str
    score: float
    start: int
    end: int
    context: str = ""
    kind: str = "sentence"
    condition: str | None = None
    heading: str = ""
    semantic: float | None = None  # cosine with the question, when it was embedded

    @property
    def quote(self) -> str:
        return plain(self.text)




# A word that only the asker's setup uses ("I'm on the on-call rotation in OpsGenie starting
# Monday.") weighs this much in the sentence ranking, against 1 for a word of what is asked ("how
# long do I have to acknowledge a page?"): the setup's rare words pulled the sentences that
# repeat them ("Each shift starts on Monday") above the one that answers. Measured with
# bench/replay_refusals.py on both handbooks' sets (session 13): the key fact is in the answer
# check's evidence for 344 of 436 answerable questions instead of 334, refusals unchanged.
SETUP_WEIGHT = 0.5

# A unit's score: this share of its lexical score (idf-weighted question words it uses) plus the
# rest of its cosine to the question, where an embedder is given. Replayed over our sets (session
# 22, data/exp/s23/blend.py, a git-ignored experiment script): the key fact is in the quotes for
# 201/197/194 of 269 18F answerable questions at 0.6/0.5/0.4 (198/196 at 0.7/0.8), and for 132
# of 202 Sourcegraph ones at 0.6 and 0.5 (130, 130, 126 at 0.4, 0.7, 0.8); the answerability of
# unanswerable ones barely moves.
LEXICAL_SHARE = 0.6
# Added to a unit's score when the question asks for a name (``wanted_name``: a website, a
# #channel, a code, a law or tool) and the unit gives one the question does not use, as a value
# of the kind asked is (+0.08).
NAME_BONUS = 0.08


def setup_tokens(question: str) -> set[str]:
    """The tokens of ``question`` that only its setup uses, not its asking part
    (``asking_part``); none when all of it asks."""
    asking = asking_part(question)
    if asking.strip() == question.strip():
        return set()
    return set(tokenize(plain(question))) - set(tokenize(plain(asking)))


_NAME_LIKE = re.compile(rf"[A-Z]|[{CJK}]")  # a label that names something: "Chicago, IL", "Full-time", "兼职"


class EvidenceIndex:
    """The units of a list of sources, with the statistics scoring needs. Build it once per
    answer and share it between :func:`rank_evidence`, :func:`answerability` and
    ``verification.verify``."""

    max_encoded = 48  # units embedded per question (the lexically best ones); MiniLM: ~1.5 s on 2 cores

    def __init__(self, sources: Iterable):
        self.sources = [as_source(s, k) for k, s in enumerate(sources, start=1)]
        self.by_n = {s.n: s for s in self.sources}
        self.units: list[Unit] = []
        self.acronyms = acronym_definitions(" \n".join(f"{s.title}\n{s.heading}\n{s.text}" for s in self.sources))
        self.repeated_headings: set[int] = set()  # ids of units that only repeat a heading
        for source in self.sources:
            head = " ".join(p for p in (source.title, source.heading) if p)
            names = {_heading_key(part) for part in (source.title, *re.split(r"\s*›\s*", source.heading or "")) if part}
            for unit in split_units(source.text, source.n, source.heading):
                if _heading_key(unit.text) in names:
                    self.repeated_headings.add(id(unit))
                unit.tokens = self._expand(tokenize(plain(unit.text)))
                unit.context_tokens = self._expand(tokenize(unit.context))
                unit.heading_tokens = self._expand(tokenize(f"{head} {unit.heading}"))
                unit.label_tokens = frozenset(t for t in tokenize(unit.label) if not t.isdigit() and len(t) > 1)
                self.units.append(unit)
        self.df: dict[str, int] = {}
        for unit in self.units:
            for token in unit.tokens | unit.context_tokens:
                self.df[token] = self.df.get(token, 0) + 1
        self.groups: dict[int, list[Unit]] = {}
        for unit in self.units:
            if unit.group >= 0:
                self.groups.setdefault(unit.group, []).append(unit)
        self._quantities: dict[int, list[Quantity]] = {}

    def _expand(self, tokens: list[str]) -> frozenset:
        """``tokens`` plus the words of each acronym they contain that the sources define."""
        out = set(tokens)
        for token in tokens:
            out.update(self.acronyms.get(token, ()))
        return frozenset(out)

    # -- statistics --------------------------------------------------------------------------
    def idf(self, token: str) -> float:
        n = max(1, len(self.units))
        return math.log(1 + (n + 1) / (self.df.get(token, 0) + 0.5))

    def quantities(self, unit: Unit) -> list[Quantity]:
        key = id(unit)
        if key not in self._quantities:
            self._quantities[key] = parse_quantities(unit.text)
        return self._quantities[key]

    def unit_at(self, source_n: int, offset: int) -> Unit | None:
        """The unit of source ``source_n`` that contains ``offset``."""
        for unit in self.units:
            if unit.source_n == source_n and unit.start <= offset < unit.end:
                return unit
        return None

    # -- conditions --------------------------------------------------------------------------
    @staticmethod
    def named_label(unit: Unit) -> bool:
        """Whether ``unit`` is a row or item labelled by a short name ("Chicago, IL",
        "Full-time", "Civilian"), not by a number or a phrase."""
        return bool(unit.label_tokens) and len(unit.label_tokens) <= 3 and not unit.condition.ranges and bool(_NAME_LIKE.match(unit.label))

    def label_hits(self, question_tokens: set[str], group: int) -> set[int]:
        """Ids of the units of ``group`` whose name label the question names (at least half of
        the label's idf weight)."""
        hits = set()
        for unit in self.groups.get(group, []):
            if not self.named_label(unit):
                continue
            weight = sum(self.idf(t) for t in unit.label_tokens)
            found = sum(self.idf(t) for t in unit.label_tokens if t in question_tokens)
            if weight and found / weight >= 0.5:
                hits.add(id(unit))
        return hits

    def condition_state(self, unit: Unit, asked: Condition, question_tokens: set[str] | None = None) -> str | None:
        """Whether ``unit``'s condition fits ``asked``: "match", "mismatch" or None. Beyond the
        parsed conditions, rows or items labelled by name (cities, employee types) match when
        the question names their label, and mismatch when it names only siblings' labels."""
        state = compare_conditions(asked, unit.condition)
        if state == "mismatch" or question_tokens is None or unit.group < 0 or not self.named_label(unit):
            return state
        hits = self.label_hits(question_tokens, unit.group)
        named = {id(u) for u in self.groups.get(unit.group, []) if self.named_label(u)}
        if not hits or hits == named:
            return state
        return "match" if id(unit) in hits else "mismatch"

    # -- scoring -----------------------------------------------------------------------------
    def numbers_of(self, unit: Unit, asked: list[Quantity]) -> bool:
        """Whether ``unit`` states one of the ``asked`` values with its unit ("3 weeks", "21
        days"), not merely the same number ("three colleagues")."""
        return any(q.unit is not None and compatible_values(a, q) for a in asked for q in self.quantities(unit))

    def question_weights(self, question: str) -> dict[str, float]:
        tokens = tokenize(plain(question))
        named = name_tokens(question)
        setup = setup_tokens(question)
        weights: dict[str, float] = {}
        for token in tokens:
            w = self.idf(token)
            if token in GENERIC:
                w *= 0.1
            if token.isdigit():
                w *= 2.0
            if token in named:
                w *= 1.5
            if token in setup:
                w *= SETUP_WEIGHT
            weights[token] = max(weights.get(token, 0.0), w)
        return weights

    def rank(self, question: str, encode: Encode | None = None, *, only: int | None = None, asked: str = "") -> list[EvidenceSentence]:
        """Every unit (of source ``only``), best first, scored against ``question``; the kind
        and unit of value wanted are read from ``asked`` where it is given (the asker's own
        words, of which ``question`` is a translation)."""
        units = [u for u in self.units if only is None or u.source_n == only]
        if not units:
            return []
        weights = self.question_weights(question)
        total = sum(weights.values()) or 1.0
        q_tokens = set(weights)
        condition = parse_condition(question, "question")
        wanted = wanted_value(asked or question)
        unit_asked = asked_unit(asked or question)
        name_asked = None if wanted else wanted_name(asked or question) or wanted_name(question)
        stated = set_aside(question) if wanted else []
        # "3 nights: can I claim laundry?" is answered by the rule for 4 nights: for a yes/no
        # question a contradicting condition is the answer ("no"), not a misreading
        mismatch_factor = 1.0 if is_yes_no(question) else 0.4
        bound = bound_numbers(question)
        lexicals = []
        for unit in units:
            lexical = 0.0
            for token, w in weights.items():
                if token in bound and not self.numbers_of(unit, bound[token]):
                    continue
                if token in unit.tokens:
                    lexical += w
                elif token in unit.context_tokens:
                    lexical += 0.6 * w
                elif token in unit.heading_tokens:
                    lexical += 0.3 * w
            lexicals.append(lexical / total)
        if wanted:  # "Call them at ...", "… respond to them within 48 hrs.": the value's sentence names its subject in the one before
            for k in range(1, len(units)):
                if units[k].source_n == units[k - 1].source_n and fits_wanted(wanted, self.quantities(units[k]), units[k].text) and (
                        wanted == "phone" or (units[k].kind == units[k - 1].kind == "sentence"
                                              and not fits_wanted(wanted, self.quantities(units[k - 1]), units[k - 1].text))):
                    lexicals[k] = max(lexicals[k], 0.8 * lexicals[k - 1])
        semantic: list[float | None] = [None] * len(units)
        if encode is not None:
            # only the lexically best units are embedded (in source order when none matches:
            # a question in another language than the sources): embedding is the slow part
            chosen = sorted(range(len(units)), key=lambda k: (-lexicals[k], k))[: self.max_encoded]
            for k, cos in zip(chosen, _cosines(encode, question, [_embed_text(units[k]) for k in chosen])):
                semantic[k] = cos
        ranked = []
        for unit, lexical, cos in zip(units, lexicals, semantic):
            score = LEXICAL_SHARE * lexical + (1 - LEXICAL_SHARE) * max(0.0, cos or 0.0) if encode is not None else lexical
            if wanted:
                quantities = answer_values(self.quantities(unit), stated)
                fits = fits_wanted(wanted, quantities, unit.text)
                # a sentence without a phone number cannot answer "what's the number to call?"
                # (nor one without an address "what's their email address?")
                score = score + 0.08 if fits else score * (0.5 if wanted in ("phone", "email") else 0.85)
                if unit_asked and any(q.unit == unit_asked for q in quantities):
                    score += 0.08
            elif name_asked and states_name(name_asked, unit.text, question):
                score += NAME_BONUS
            if len(unit.tokens) < 2:
                score *= 0.5
            if unit.text.rstrip().endswith(("?", "？")):  # a question ("Q: Is the stipend taxable?") answers nothing
                score *= 0.6
            if id(unit) in self.repeated_headings:
                # the page's or section's heading repeated in the text (a PDF's "2. Booking
                # Rules: Flights, Trains, Cars and Taxis") names the topic but answers nothing
                score *= 0.3
            state = self.condition_state(unit, condition, q_tokens)
            if state == "match":
                score = score * 1.25 + 0.1
            elif state == "mismatch":
                score *= mismatch_factor
            ranked.append(
                EvidenceSentence(unit.source_n, unit.text, round(score, 6), unit.start, unit.end, unit.context, unit.kind, state, unit.heading, cos)
            )
        order = sorted(range(len(ranked)), key=lambda k: (-ranked[k].score, ranked[k].source_n, ranked[k].start))
        return [ranked[k] for k in order]



def _heading_key(text: str) -> str:
    """``text`` as a heading compares: Markdown, numbering ("2.", "3.1") and punctuation aside."""
    return re.sub(r"[\W_]+", " ", re.sub(r"^\s*(?:\d+(?:\.\d+)*\.?|[A-Z]\.)\s+", "", plain(text))).strip().lower()


def _embed_text(unit: Unit) -> str:
    body = plain(unit.text)
    return f"{unit.context}: {body}" if unit.kind in ("row", "item") and unit.context else body


def _cosines(encode: Encode, question: str, texts: list[str]) -> list[float]:
    vectors = encode([question, *texts])
    q = vectors[0]
    return [float(sum(a * b for a, b in zip(q, v))) if not hasattr(v, "dot") else float(v.dot(q)) for v in vectors[1:]]


# =============================================================================================
# Public functions
# =============================================================================================
def rank_evidence(question: str, sources: Sequence | None = None, encode: Encode | None = None, *, index: EvidenceIndex | None = None, only: int | None = None, limit: int | None = None, asked: str = "") -> list[EvidenceSentence]:
    """Every unit of the sources, best first, scored against ``question`` (``only``: the
    units of one source, e.g. to highlight what supports an answer sentence in source n;
    ``asked``: see ``EvidenceIndex.rank``)."""
    index = index or EvidenceIndex(sources or [])
    ranked = index.rank(question, encode, only=only, asked=asked)
    return ranked[:limit] if limit else ranked


def best_evidence(question: str, sources: Sequence | None = None, encode: Encode | None = None, *, k: int = 2, index: EvidenceIndex | None = None, ranked: list[EvidenceSentence] | None = None, wanted: str | None = None) -> list[EvidenceSentence]:
    """The one or two units to quote under the answer: the best, and the runner-up when it
    scores nearly as well (>= 70%), does not contradict the question's condition and is no near
    copy of the best (``_near_copy``; ``wanted``: the kind of value the question asks for, as
    ``wanted_value`` reads it)."""
    ranked = ranked if ranked is not None else rank_evidence(question, sources, encode, index=index)
    if not ranked or ranked[0].score <= 0:
        return []
    best = [ranked[0]]
    for candidate in ranked[1:]:
        if len(best) >= k or candidate.score < 0.7 * ranked[0].score:
            break
        if candidate.condition == "mismatch" or any(_near_copy(candidate.text, b.text, values_asked=bool(wanted)) for b in best):
            continue
        best.append(candidate)
    return best


def _near_copy(a: str, b: str, *, values_asked: bool = False) -> bool:
    """Whether two units say nearly the same words (a template repeated with another number:
    "Calibrate `1` Ratings: Managers will explain …" and "Calibrate `5` Ratings: …"): quoting or
    checking the second shows nothing the first does not. Not so, for a question asking for a
    value, where they state different values: "full-time employees accrue 4 hours …" and
    "part-time employees accrue 2 hours …" are the two answers to choose from."""
    if a == b:
        return True
    x, y = set(tokenize(plain(a))), set(tokenize(plain(b)))
    if values_asked and {t for t in x if _is_number(t)} != {t for t in y if _is_number(t)}:
        return False
    return bool(x and y) and len(x & y) / len(x | y) >= NEAR_COPY


def _is_number(token: str) -> bool:
    return token.isdigit() or bool(EN_NUMBER.fullmatch(token))


NEAR_COPY = 0.8  # share of the words two units have in common (Jaccard) above which one is the other's copy


ANSWERABLE = 0.5  # default threshold on Answerability.score; calibrate on an evaluation set


@dataclass
class Answerability:
    """How well the evidence answers the question (not just its topic).

    ``coverage``: idf-weighted share of the question's key words found in the best unit (its
    context and heading count); ``wanted``: the kind of value asked for, if any;
    ``has_value``: the best unit holds one; ``condition``: the best unit's condition state;
    ``score``: the coverage, halved when a wanted value is missing or the condition
    contradicts the question (unless it is a yes/no question: "only from 4 nights on" answers
    "can I claim it for 3 nights?"); ``missing``: key words of the question found nowhere in it."""

    score: float
    coverage: float
    wanted: str | None
    has_value: bool
    condition: str | None
    missing: list[str]
    best: EvidenceSentence | None

    @property
    def answered(self) -> bool:
        return self.score >= ANSWERABLE


def answerability(question: str, sources: Sequence | None = None, encode: Encode | None = None, *, index: EvidenceIndex | None = None, ranked: list[EvidenceSentence] | None = None, top: int = 3, asked: str = "") -> Answerability:
    """See :class:`Answerability`. The best of the ``top`` ranked units decides; the kind of
    value wanted is read from ``asked`` where it is given (see ``EvidenceIndex.rank``)."""
    index = index or EvidenceIndex(sources or [])
    ranked = ranked if ranked is not None else index.rank(question, encode, asked=asked)
    wanted = wanted_value(asked or question)
    yes_no = is_yes_no(question)
    stated = set_aside(question) if wanted else []
    key: dict[str, float] = {}
    shown: dict[str, str] = {}
    for word in re.findall(rf"[^\W_{CJK}]+(?:['’][^\W_{CJK}]+)*|[{CJK}]+", plain(question)):
        for token in tokenize(word):
            if token not in GENERIC and not token.startswith("i'"):
                key[token] = index.idf(token)
                shown.setdefault(token, word)
    # words that state the question's condition ("new employee", "20 years of service") are
    # covered by a unit whose condition matches, whatever its own words
    condition_tokens = set()
    for phrase in condition_phrases(question):
        condition_tokens.update(tokenize(phrase))
    semantic = {(ev.source_n, ev.start): ev.semantic for ev in ranked[:top] if ev.semantic is not None}
    missing_cos = [ev for ev in ranked[:top] if ev.semantic is None]
    if encode is not None and missing_cos:
        texts = [f"{ev.context} {plain(ev.text)}" for ev in missing_cos]
        for ev, cos in zip(missing_cos, _cosines(encode, question, texts)):
            semantic[(ev.source_n, ev.start)] = cos
    best_result = Answerability(0.0, 0.0, wanted, False, None, _unique(shown[t] for t in key), None)
    total = sum(key.values())
    bound = bound_numbers(question)
    for ev in ranked[:top]:
        unit = index.unit_at(ev.source_n, ev.start)
        if unit is None:
            continue
        present = unit.tokens | unit.context_tokens | unit.heading_tokens
        present = present - {t for t in bound if not index.numbers_of(unit, bound[t])}
        if ev.condition == "match":
            present = present | condition_tokens
        coverage = sum(w for t, w in key.items() if t in present) / total if total else 0.0
        if semantic:
            cos = semantic.get((ev.source_n, ev.start), 0.0)
            coverage = max(coverage, 0.5 * coverage + 0.5 * min(1.0, max(0.0, (cos - 0.2) / 0.5)))
        has_value = fits_wanted(wanted, answer_values(index.quantities(unit), stated), unit.text) if wanted else True
        score = coverage
        if wanted and not has_value:
            score *= 0.5
        if ev.condition == "mismatch" and not yes_no:
            score *= 0.5
        if score > best_result.score or best_result.best is None:
            missing = _unique(shown[t] for t in key if t not in present)
            best_result = Answerability(round(score, 4), round(coverage, 4), wanted, has_value, ev.condition, missing, ev)
    return best_result


def bound_numbers(question: str) -> dict[str, list[Quantity]]:
    """The number tokens of the values ``question`` states with a unit ("three" of "for three
    weeks", "5" of "after 5 years"), each with those values: such a token matches a sentence
    only where it states the value with its unit. "I want to work from Spain for three weeks"
    is not about "Meet at least three colleagues" (the starter set's "work from Spain" was
    answered with the onboarding checklist that sentence is on)."""
    bound: dict[str, list[Quantity]] = {}
    for quantity in parse_quantities(question):
        if quantity.unit is None or quantity.value is None:
            continue
        for token in tokenize(quantity.text):
            if _is_number(token):
                bound.setdefault(token, []).append(quantity)
    return bound


def set_aside(question: str) -> list[Quantity]:
    """The values ``question`` states itself, which no sentence answers it with (the "1" of
    "1-1s", the "5 years" of "after 5 years, how many weeks …?"; "How long should my 1-1s
    be?" wants a length, which any number fits). None for a yes/no question: "Is the
    deductible $500?" is answered by the sentence that says $500. Parsed once per question,
    not per sentence."""
    return [] if is_yes_no(question) else parse_quantities(question)


def answer_values(quantities: list[Quantity], stated: list[Quantity]) -> list[Quantity]:
    """The values of a sentence that can answer: those the question does not state (``set_aside``)."""
    return [q for q in quantities if not any(compatible_values(q, s) for s in stated)] if stated else quantities


_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*[A-Za-z]|[A-Za-z]")
# An adverb of the asker's stance says how they ask, not what: "Realistically, how long …?"
# asks about nothing the passages lack (18f-s11-02 was refused for it). Matched as the word
# itself, not in GENERIC: their stems are content words ("technically" → "technic" of
# "Technical Success", "currently" → "current"), which a replay showed GENERIC then ignores.
_STANCE_ADVERBS = frozenset(
    "realistically honestly basically generally typically actually ideally usually normally currently really "
    "seriously hopefully probably possibly personally obviously technically literally approximately roughly "
    "exactly quickly briefly simply just frankly officially practically".split()
)


def missing_words(question: str, evidence: Sequence[EvidenceSentence], index: EvidenceIndex, share: Callable[[Iterable[str]], dict], *, limit: int = 3) -> list[str]:
    """The words of ``question`` that none of the ``evidence`` sentences (with their context
    and heading) uses and that no chunk of the knowledge base uses either (``share``: tokens ->
    the share of its chunks that contain each), as the question writes them, at most ``limit``.

    A passage on the topic that never names what the question is about ("sabbatical",
    "copay", "eyeglasses") is the typical near-topic non-answer; but such a word can also be a
    paraphrase ("grandmother" for "family member", "retake" for "take again"), so it is only
    put to the answer check's model, which can tell the two apart; it is not a verdict by
    itself. Words merely rare in the knowledge base were tried and cost answerable questions:
    in a small handbook "baby", "longest", "biweekly" and "supposed" are in one or two chunks.
    English words only (Chinese questions are checked through their translation)."""
    present: set[str] = set()
    for ev in evidence:
        unit = index.unit_at(ev.source_n, ev.start)
        if unit is not None:
            present |= unit.tokens | unit.context_tokens | unit.heading_tokens
    candidates: dict[str, list[str]] = {}
    for word in _WORD.findall(plain(question)):
        if word.lower() in _STANCE_ADVERBS:
            continue
        tokens = [t for t in tokenize(word) if t not in GENERIC and len(t) > 2 and not t.isdigit() and "'" not in t]
        if tokens and not any(t in present for t in tokens) and word.lower() not in {w.lower() for w in candidates}:
            candidates[word] = tokens
    if not candidates:
        return []
    shares = share({t for tokens in candidates.values() for t in tokens})
    return [word for word, tokens in candidates.items() if all(shares.get(t, 0.0) == 0.0 for t in tokens)][:limit]


# A name the question uses is "rare" at most in this share of the knowledge base's chunks: a
# product, a programme, a vendor ("Teachback", "Cigna", "HSA"), not a word every page uses ("GSA").
RARE_NAME_SHARE = 0.005


def question_names(question: str) -> dict[str, list[str]]:
    """The names ``question`` uses, each with its retrieval tokens: a word written as a name
    (``proper_name``: "Teachback", "Cigna"), an acronym ("HSA"), or any Latin word of a
    Chinese question ("gender-affirming" in "性别确认相关的医疗（gender-affirming care）")."""
    chinese = is_chinese(question)
    names: dict[str, list[str]] = {}
    for word in _WORD.findall(plain(question)):
        if chinese or proper_name(word, question) or (word.isupper() and len(word) > 1):
            tokens = [t for t in tokenize(word) if t not in GENERIC and len(t) > 1 and not t.isdigit()]
            if tokens:
                names.setdefault(word, tokens)
    return names


def named_elsewhere(question: str, value: EvidenceSentence, index: EvidenceIndex, share: Callable[[Iterable[str]], dict],
                    page_words: Callable[[], Iterable[str]]) -> list[str]:
    """The rare names of ``question`` (``question_names``, in at most RARE_NAME_SHARE of the
    knowledge base's chunks) that the sources use but the page of the ``value`` sentence never
    does (``page_words``: the tokens of every chunk of that page): the value is another thing's.

    "How long is the CE Teachback session?" over "Plan to spend roughly 30 minutes on the
    topic" (an interview's working session; the Teachback is named only on the team-norms page,
    without a length); "How much is reimbursed for gender-affirming care?" over the dependent
    care budget's "$250". Over both handbooks' sets (session 20, the 884 questions before
    session 21's, on the topic and answerability at least KB_MIN_ANSWERABILITY): 22 unanswerable
    questions have such a name, no answerable one; a name that the value's
    page uses elsewhere is no sign ("Checkr" on the background-check page, "Superior" for a
    rating of 2, "Open Season")."""
    unit = index.unit_at(value.source_n, value.start)
    if unit is None:
        return []
    here = unit.tokens | unit.context_tokens | unit.heading_tokens
    used: set[str] = set()
    for other in index.units:
        used |= other.tokens | other.context_tokens | other.heading_tokens
    candidates = {word: tokens for word, tokens in question_names(question).items()
                  if not any(t in here for t in tokens) and any(t in used for t in tokens)}
    if not candidates:
        return []
    shares = share({t for tokens in candidates.values() for t in tokens})
    rare = {word: tokens for word, tokens in candidates.items() if max(shares.get(t, 0.0) for t in tokens) <= RARE_NAME_SHARE}
    if not rare:
        return []
    page = set(page_words())
    return [word for word, tokens in rare.items() if not any(t in page for t in tokens)]


_SENTENCE_START = re.compile(r"(?:^|[.!?。！？:;]\s+|\n\s*)[\"'“(]*$")


def proper_name(word: str, text: str) -> bool:
    """Whether ``text`` writes ``word`` as a name: capitalised where no sentence starts
    ("Thanksgiving", "Denver", "Portugal"), not an acronym ("FEGLI"). A name no chunk of the
    knowledge base uses is mostly the asker's circumstance (a holiday, a city, a country), not
    the thing asked about: of the five such questions in our sets, four were answerable (the
    fifth, "Blue Cross Blue Shield" insurance, is refused by the answer check)."""
    if not word[:1].isupper() or word.isupper():
        return False
    return any(not _SENTENCE_START.search(text[: m.start()]) for m in re.finditer(_as_word(word), text))


def circumstance(word: str, question: str) -> bool:
    """Whether ``word`` tells the asker's circumstances rather than what is asked: a name
    (``proper_name``: "Denver", "Portugal"), or a word that only the question's setup, outside
    its asking part (``asking_part``), uses ("I *flew* from DC on a Sunday. Which time zone ...?", "*Thanksgiving* is a Thursday,
    so how many hours ...?"). A word no chunk of the knowledge base uses that is what the
    question asks about ("Is there a paid *sabbatical*?") is not one."""
    if proper_name(word, question):
        return True
    return not re.search(_as_word(word), asking_part(question), re.I)


def _as_word(word: str) -> str:
    """A pattern for ``word`` as a whole Latin word, also inside Chinese text ("用VDI就")."""
    return rf"(?<![A-Za-z]){re.escape(word)}(?![A-Za-z])"


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))
