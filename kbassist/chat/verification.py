"""Verification of a generated answer against its sources, before it is shown.

Pure Python over plain inputs (no database, no Django): the answer, the sources it was
generated from (number ``n``, ``text``, optional ``heading``/``section`` and ``title``, as
for ``chat/evidence.py``) and the question.

* **Claims.** Each answer sentence's checkable facts: numbers, amounts ("$1,500", "1500
  dollars", "1.5k"), durations ("twelve weeks", "12-week", "12 周", "十二周"), dates,
  times, percentages ("50%", "百分之五十"), phone numbers, form and grade ids ("SF-71",
  "GS-13"), acronyms, and capitalised names of forms, systems and programs ("HR Links",
  "Voluntary Leave Transfer Program"). Numbers are normalised (English number words, Chinese
  numerals, thousands separators) and units made canonical (weeks/周/星期, days/天/日,
  hours/小时, months/个月, years/年, %, $/美元), with exact conversions (2 weeks = 14 days,
  1 year = 12 months). Number words and Chinese numerals count only with a unit ("one of
  them" is not a claim) or when the question asks for a number ("两次", "two sessions");
  ordinals and list numbering are not claims.
* **Support.** A claim is *supported* when a source states the same value with a compatible
  unit (or the same term, case and spacing aside); values the question itself states count
  as given. Presence is not enough for conditional rows: when the value sits in a table row
  or list item with a condition ("Between 3 and 15 years: 6 hours per pay period"), that
  condition must fit the one in force for the claim: the condition stated in the answer's
  own clause (or an earlier clause of its sentence), else the question's. When every place
  the value appears contradicts it, the claim is *misread* (and the row that fits is given
  as ``expected``). Otherwise it is *unsupported*.
* **A "yes" the evidence says no to.** A small model answers "Yes, you can archive it
  yourself" over a page that says to ask the admins, or "Yes, it is safe to ask their
  pronouns" over one that says it is not allowed: no number to check, so no claim catches it.
  :func:`yes_against_evidence` flags an answer to a yes/no question that opens with "yes"
  while the evidence it is shown with restricts ("not", "only", "no longer", "cannot"); the
  quoted evidence, where the reader sees the rule itself, is the answer then. Measured on the
  generated answers of sessions 10 and 11 (held-out questions): 4 such "yes" answers, all
  wrong; the 3 right "yes" answers had no such word in their evidence.
* **What is shown.** :func:`shown_answer` drops every sentence with an unsupported or
  misread claim, keeping the others verbatim with their ``[n]`` markers; sentences with no
  checkable claim are kept and not counted. When sentences were dropped and no verified
  fact remains, ``use_evidence`` says the quoted evidence should be the answer
  (:func:`evidence_answer` writes it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Sequence

from kbassist.chat.evidence import EvidenceIndex, EvidenceSentence
from kbassist.chat.facts.conditions import Condition, clause_condition, compare_conditions, condition_at, parse_condition
from kbassist.chat.facts.markup import mask, plain
from kbassist.chat.facts.questions import GENERIC, asking_part, is_yes_no, wanted_value
from kbassist.chat.facts.quantities import UNIT_WORDS, Quantity, compatible_values, parse_quantities
from kbassist.chat.facts.spans import overlaps
from kbassist.chat.facts.terms import TermIndex, chinese_names, named_terms
from kbassist.chat.facts.units import Unit, sentences
from kbassist.retrieval.tokenize import tokenize
from kbassist.text import CITATION

SUPPORTED, UNSUPPORTED, MISREAD = "supported", "unsupported", "misread"


@dataclass
class Claim:
    """One checkable fact of an answer. ``start``/``end``: offsets in the answer. ``kind``:
    number, money, percent, duration, date, time, phone, code or term. ``source_n`` and
    ``evidence``: where it was found (the source unit, verbatim; ``source_n`` is None when the
    question itself states it). ``expected``: for a misread claim, the unit whose condition
    fits (what the answer should have read)."""

    text: str
    kind: str
    start: int
    end: int
    quantity: Quantity | None = None
    status: str = UNSUPPORTED
    source_n: int | None = None
    evidence: str = ""
    expected: str = ""
    expected_source_n: int | None = None
    # the question states it too (a value ``compatible_values`` with one of the question's, a
    # name as a whole word): repeating it finds nothing in the sources
    given: bool = False


@dataclass
class SentenceCheck:
    text: str
    start: int
    end: int
    claims: list[Claim] = field(default_factory=list)

    @property
    def status(self) -> str:
        """"unchecked" (no claims), "supported", "misread" or "unsupported" (worst claim wins)."""
        if not self.claims:
            return "unchecked"
        statuses = {c.status for c in self.claims}
        if UNSUPPORTED in statuses:
            return UNSUPPORTED
        if MISREAD in statuses:
            return MISREAD
        return SUPPORTED

    @property
    def kept(self) -> bool:
        return self.status in ("unchecked", SUPPORTED)


@dataclass
class ShownAnswer:
    """The answer to display. ``removed``: the sentences dropped, verbatim. ``use_evidence``:
    sentences were dropped and no verified fact remains: show the quoted evidence instead."""

    text: str
    removed: list[str]
    use_evidence: bool


@dataclass
class Verification:
    answer: str
    sentences: list[SentenceCheck]

    @property
    def claims(self) -> list[Claim]:
        return [c for s in self.sentences for c in s.claims]

    @property
    def claims_checked(self) -> int:
        return len(self.claims)

    @property
    def claims_supported(self) -> int:
        return sum(c.status == SUPPORTED for c in self.claims)

    @property
    def claims_misread(self) -> int:
        return sum(c.status == MISREAD for c in self.claims)

    @property
    def claims_restating_question(self) -> int:
        """Supported claims that the question states too (``Claim.given``)."""
        return sum(c.status == SUPPORTED and c.given for c in self.claims)

    @property
    def claims_unsupported(self) -> int:
        return sum(c.status == UNSUPPORTED for c in self.claims)

    @property
    def claims_removed(self) -> int:
        """Unsupported and misread claims: each one took its sentence out of the answer."""
        return self.claims_unsupported + self.claims_misread

    @property
    def all_supported(self) -> bool:
        return self.claims_removed == 0

    def shown(self) -> ShownAnswer:
        return shown_answer(self)

    def as_dict(self) -> dict:
        """Counts and the claims that were taken out, for storing with the message."""
        return {
            "claims_checked": self.claims_checked,
            "claims_supported": self.claims_supported,
            "claims_removed": self.claims_removed,
            "claims_misread": self.claims_misread,
            "claims_restating_question": self.claims_restating_question,
            "removed": [
                {"sentence": s.text, "status": s.status, "claims": [
                    {"text": c.text, "kind": c.kind, "status": c.status, "expected": c.expected}
                    for c in s.claims if c.status != SUPPORTED
                ]}
                for s in self.sentences if not s.kept
            ],
        }


# =============================================================================================
# Sentences of an answer
# =============================================================================================
_MARKERS_AFTER = re.compile(r"(?:[ \t]*\[\d{1,2}\](?!\())+")
_LIST_NUMBER = re.compile(r"^\s*(?:\d{1,2}[.)]|[-*+•])\s*$")


def answer_sentences(answer: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence of ``answer``. ``[n]`` markers written after a sentence's
    full stop belong to that sentence; a list number on its own ("1.") joins the next one."""
    spans = []
    for start, end in sentences(mask(answer)):
        after = _MARKERS_AFTER.match(answer, end)
        if after:
            end = after.end()
        if spans and _LIST_NUMBER.match(answer[spans[-1][0] : spans[-1][1]]):
            start = spans.pop()[0]
        if spans and start < spans[-1][1]:
            start = spans[-1][1]
        if not spans and re.fullmatch(r"(?:\s*\[\d{1,2}\])+\s*", answer[:start]):
            start = 0  # markers before the first sentence stay with it
        piece = answer[start:end]
        if piece.strip():
            lead = len(piece) - len(piece.lstrip())
            spans.append((start + lead, end))
    return spans


# =============================================================================================
# Claims
# =============================================================================================
_LIST_MARKER = re.compile(r"^\s*(?:[-*+•]|\d{1,2}[.)])\s+")


# What a number word counts, when the question asks how many: a Chinese classifier ("两次",
# "三个级别"), or an English word other than "of" ("two sessions", not "two of them"). One is
# left out ("一共", "一般", "the one you need" are no counts).
_CLASSIFIER = re.compile(r"\s*(?:次|个|名|位|项|条|种|级|人|份|张|门|轮|件|类|步|部分|阶段|层|场|期|批)")
_COUNTED_WORD = re.compile(r"\s+(?!of\b)[a-z]", re.I)


def _counted(scan: str, q) -> bool:
    """Whether the number word ``q`` of ``scan`` counts something (see ``_CLASSIFIER``)."""
    if q.value is None or q.value < 2:
        return False
    follow = _CLASSIFIER if q.written == "chinese" else _COUNTED_WORD
    return bool(follow.match(scan, q.end))


def extract_claims(sentence: str, offset: int = 0, *, counts: bool = False) -> list[Claim]:
    """The checkable claims of one answer sentence (offsets shifted by ``offset``). A number
    written in words counts only with a unit ("one of them", "一些" state nothing), unless the
    question asks for a number (``counts``: how many, a maximum, 多少, 几 …) and the word counts
    something (``_counted``): then "两次" and "two times" are the answer, and a source must
    state them (18f-s17-19: "at most two free coaching sessions", in no source). A count the
    model worked out from a list ("three rating levels" over three bullets) is then in no
    source too, as a count in digits already was."""
    scan = mask(sentence)
    marker = _LIST_MARKER.match(scan)
    if marker:
        scan = " " * marker.end() + scan[marker.end() :]
    claims: list[Claim] = []
    taken: list[tuple[int, int]] = []
    for q in parse_quantities(scan, masked=True):
        if q.ordinal:
            continue
        if q.kind == "code":
            claims.append(Claim(q.text, "term", q.start + offset, q.end + offset))
            taken.append((q.start, q.end))
            continue
        if q.kind == "number" and q.written != "digits" and not (counts and _counted(scan, q)):
            continue
        claims.append(Claim(sentence[q.start : q.end], q.kind, q.start + offset, q.end + offset, q))
        taken.append((q.start, q.end))
    for start, end, term in named_terms(scan) + chinese_names(scan):
        if not overlaps(taken, start, end):
            claims.append(Claim(term, "term", start + offset, end + offset))
    claims.sort(key=lambda c: c.start)
    return claims


# =============================================================================================
# Support
# =============================================================================================
@dataclass
class _Place:
    quantity: Quantity
    unit: Unit | None
    source_n: int
    text: str  # the unit's text, or the source title/heading where the value was found


class _Sources:
    def __init__(self, index: EvidenceIndex, question: str):
        self.index = index
        self.places: list[_Place] = []
        for source in index.sources:
            for q in parse_quantities(source.text):
                if q.kind == "code":
                    continue
                unit = index.unit_at(source.n, q.start)
                if unit is not None:
                    q = replace(q, start=q.start - unit.start, end=q.end - unit.start)
                self.places.append(_Place(q, unit, source.n, unit.text if unit else source.text[max(0, q.start - 80) : q.end + 80]))
            for extra in (source.title, source.heading):
                for q in parse_quantities(extra or ""):
                    self.places.append(_Place(q, None, source.n, extra))
        self.question_quantities = [q for q in parse_quantities(question) if q.kind != "code"]
        self.terms = TermIndex([question] + [f"{s.title}\n{s.heading}\n{s.text}" for s in index.sources])


def _unit_words_present(unit_name: str, place: _Place) -> bool:
    haystack = place.text.lower()
    if place.unit is not None:
        haystack += " " + place.unit.context.lower() + " " + place.unit.heading.lower()
    return any(word in haystack for word in UNIT_WORDS.get(unit_name, (unit_name,)))


def _matches(claim: Quantity, place: _Place) -> bool:
    source = place.quantity
    if claim.unit and source.unit is None and source.kind == "number":
        # a bare number in the source ("| 4 |" under "Hours per pay period") carries the unit
        # its row, header or lead-in names
        return compatible_values(claim, source) and _unit_words_present(claim.unit, place)
    return compatible_values(claim, source)


def _check_quantity(claim: Claim, sentence: str, sentence_offset: int, asked: Condition, label_tokens: set[str], sources: _Sources):
    q = claim.quantity
    if q is None:
        return
    places = [p for p in sources.places if _matches(q, p)]
    if q.kind == "number" and q.written != "digits":
        # a count in words ("两次", "two sessions") is a count the sources give, not any "two"
        # ("the first two weeks" says nothing of how many sessions)
        places = [p for p in places if p.quantity.kind == "number" and p.quantity.unit is None]
    if not places:
        if any(compatible_values(q, given) for given in sources.question_quantities):
            claim.status = SUPPORTED  # the question states it ("I have worked 2 years")
        return
    condition = condition_at(sentence, claim.start - sentence_offset, asked)
    best, best_rank = None, -1
    mismatched = []
    for place in places:
        unit = place.unit
        if unit is None:
            state, rank = None, 1
        elif unit.label_span and unit.label_span[0] <= unit.start + place.quantity.start < unit.label_span[1]:
            state, rank = "label", 2  # the value is the row's condition itself ("3 years")
        else:
            state = sources.index.condition_state(unit, condition, label_tokens)
            if state == "match" and not unit.label_span and (own := clause_condition(unit.text, place.quantity.start)):
                # one sentence, several cases: the case of the value's own clause decides
                state = compare_conditions(condition, own.filled_from(unit.condition)) or state
            rank = {"match": 3, None: 1, "mismatch": -1}[state]
        if rank < 0:
            mismatched.append(place)
        elif rank > best_rank:
            best, best_rank = place, rank
    if best is not None and best_rank == 1 and mismatched:
        # The value stands in a passage for another condition ("30 calendar days" of working
        # abroad) and, without one, somewhere else ("within 30 days of each purchase"): the
        # answer read it in the source its sentence cites, where it says most of what the
        # sentence says. If that is the passage for another condition, the value is misread
        # there, not supported elsewhere.
        words = set(tokenize(sentence))
        cited = {int(m.group(1)) for m in CITATION.finditer(sentence)}
        if _read_from(words, cited, mismatched, sources.index) > _read_from(words, cited, [best], sources.index):
            best = None
    if best is not None:
        claim.status, claim.source_n, claim.evidence = SUPPORTED, best.source_n, best.text
        return
    claim.status = MISREAD
    claim.source_n, claim.evidence = mismatched[0].source_n, mismatched[0].text
    expected = _expected_unit(mismatched, condition, label_tokens, sources.index)
    if expected is not None:
        claim.expected, claim.expected_source_n = expected.text, expected.source_n


def _read_from(words: set[str], cited: set[int], places: list[_Place], index: EvidenceIndex) -> tuple[bool, float]:
    """How likely an answer sentence (its words, the sources it cites) was read from one of
    ``places``: whether one is in a cited source, then how much of the sentence's words
    (weighted by rarity) the best of them states (its unit, table header or list lead-in, and
    section heading)."""
    best = (False, 0.0)
    for place in places:
        unit = place.unit
        present = unit.tokens | unit.context_tokens | unit.heading_tokens if unit is not None else set(tokenize(place.text))
        best = max(best, (place.source_n in cited, sum(index.idf(w) for w in words & present)))
    return best


def _expected_unit(mismatched: list[_Place], condition: Condition, label_tokens: set[str], index: EvidenceIndex) -> Unit | None:
    """The sibling row or item (same table or list) whose condition fits, for a misread value."""
    for place in mismatched:
        unit = place.unit
        if unit is None or unit.group < 0:
            continue
        for sibling in index.groups.get(unit.group, []):
            if sibling is not unit and index.condition_state(sibling, condition, label_tokens) == "match":
                return sibling
    return None


# =============================================================================================
# Public functions
# =============================================================================================
def verify(answer: str, sources: Sequence | None = None, question: str = "", *, index: EvidenceIndex | None = None) -> Verification:
    """Checks every claim of ``answer`` against ``sources`` (or a prebuilt ``index``), with the
    conditions of ``question`` (see the module docstring)."""
    index = index or EvidenceIndex(sources or [])
    support = _Sources(index, question)
    asked = parse_condition(question, "question")
    question_tokens = set(tokenize(question))
    counts = wanted_value(question) == "number"
    question_values = parse_quantities(question)
    checks = []
    for start, end in answer_sentences(answer):
        sentence = answer[start:end]
        check = SentenceCheck(sentence, start, end, extract_claims(sentence, start, counts=counts))
        label_tokens = question_tokens | set(tokenize(sentence))
        for claim in check.claims:
            if claim.kind == "term":
                parts = re.split(r"\s+(?:and|or|&)\s+", claim.text)
                if support.terms.supports(claim.text) or (len(parts) > 1 and all(support.terms.supports(p) for p in parts)):
                    claim.status = SUPPORTED
            else:
                _check_quantity(claim, sentence, start, asked, label_tokens, support)
            claim.given = _in_question(claim, question, question_values)
        checks.append(check)
    return Verification(answer, checks)


def _in_question(claim: Claim, question: str, question_values: list[Quantity]) -> bool:
    """Whether ``question`` states ``claim`` (a value, or a name: a whole word in Latin script,
    so "OPM" is not in "development"; any run in Chinese)."""
    if claim.quantity is not None:
        return any(compatible_values(claim.quantity, q) for q in question_values)
    term = re.escape(" ".join(claim.text.lower().split()))
    pattern = term if re.search(r"[^\x00-\x7f]", claim.text) else rf"(?<!\w){term}(?!\w)"
    return bool(re.search(pattern, " ".join(question.lower().split())))


def shown_answer(verification: Verification) -> ShownAnswer:
    """The answer without its unsupported and misread sentences (see :class:`ShownAnswer`)."""
    answer = verification.answer
    pieces: list[str] = []
    removed: list[str] = []
    previous_end = None
    for check in verification.sentences:
        if check.kept:
            if pieces and previous_end is not None:
                gap = answer[previous_end : check.start]
                pieces.append(gap if gap else "")
            pieces.append(check.text)
        else:
            removed.append(check.text)
        previous_end = check.end
    text = "".join(pieces).strip()
    verified_left = any(s.kept and s.status == SUPPORTED for s in verification.sentences)
    use_evidence = bool(removed) and not verified_left or not text
    return ShownAnswer(text, removed, use_evidence)


_LINE_BREAK = re.compile(r"[ \t]*\n\s*")


# An answer that opens with "yes" (是的, 可以, 需要 … followed by a pause, not 可以按照 "you can follow").
_SAYS_YES = re.compile(r"^\W*(?:yes\b|是的|是[，,。！!]|(?:可以|需要|会|对|有)[的]?[，,。！!])", re.I)
# Words by which a rule says no or narrows a yes.
_RESTRICTS = re.compile(
    r"\b(?:not|no longer|never|cannot|only|prohibited|forbidden)\b|n['’]t\b|不[能可得需会是允]|不再|没有|无需|禁止|仅[限有能]|只有|只能", re.I
)


# Words of a yes/no question that say how it asks, not what about ("Is it okay if I …").
_HOW_ASKED = frozenset(tokenize("okay ok just still also from about within without during per")) | GENERIC
SAYS_NO_SHARE = 0.6


def says_no_to(question: str, evidence: Sequence[str], idf=None) -> str | None:
    """The sentence of ``evidence`` that says no (or "only") to the yes/no ``question``: one
    that restricts (not, never, only, cannot …) and names what the question asks about (the
    content words of its asking part: all of them for three or fewer, else ``SAYS_NO_SHARE``,
    and always the rarest by ``idf``). "Do I need to tell PeopleOps?" over "… you do not need to
    notify PeopleOps": the evidence answers, "no", though a small model checking whether it
    states the answer hears no "yes". Of the 14 answerable yes/no questions of both handbooks'
    sets (≤ session 16) that the check refused, 3 have such a sentence; 2 of those have weak
    evidence, which ``Grounding.says_no`` leaves to the check, so the replay answers 1 more
    (sg-s9-14); no unanswerable question has one."""
    if not is_yes_no(question):
        return None
    asked = {t for t in tokenize(plain(asking_part(question))) if t not in _HOW_ASKED and len(t) > 1}
    if not asked:
        return None
    # a short question must be named whole: "Are contractors eligible for the bonus?" is not
    # answered by "Contractors are not eligible for health insurance."
    needed = len(asked) if len(asked) <= 3 else SAYS_NO_SHARE * len(asked)
    # and its rarest word ``idf`` gives (over the sources): "home internet" is not "home furniture"
    rarest = max(sorted(asked), key=idf) if idf else None
    for sentence in evidence:
        words = set(tokenize(plain(sentence)))
        if _RESTRICTS.search(sentence) and len(asked & words) >= needed and (rarest is None or rarest in words):
            return sentence
    return None


def yes_against_evidence(answer: str, evidence: Sequence[str]) -> bool:
    """Whether ``answer`` (to a yes/no question) opens with "yes" while one of the ``evidence``
    sentences it is shown with says "not", "only", "no longer" or the like."""
    return bool(_SAYS_YES.match(answer)) and any(_RESTRICTS.search(text) for text in evidence)


def evidence_answer(evidence: list[EvidenceSentence], *, chinese: bool = False, where: dict[int, str] | None = None) -> str:
    """The quoted evidence as the answer (when nothing generated can be trusted)."""
    return "\n".join(["资料中的相关原文：" if chinese else "Here is what the sources say:", *quote_lines(evidence, where)])


def quoted_from(source: dict, *, chinese: bool = False) -> str:
    """What goes before a quote of ``source``: "From *Leave policy › Requesting vacation*:"
    ("摘自*…*："). A sentence quoted alone can mislead: the bereavement FAQ's "3 paid working
    days for a spouse" read like the answer to a wedding-leave question."""
    place = source.get("section") or source.get("title") or ""
    return (f"摘自*{place}*：" if chinese else f"From *{place}*:") if place else ""


def quote_lines(evidence: list[EvidenceSentence], where: dict[int, str] | None = None) -> list[str]:
    """Each sentence quoted verbatim (Markdown made readable), after its table header or list
    lead-in, with its ``[n]``; after ``where[n]`` (e.g. "From *Leave › Requesting vacation*:")
    when given."""
    lines = []
    for ev in evidence:
        # A sentence hard-wrapped in its source ("through March\n15") is quoted on one line: a
        # line break would end the quote's paragraph and split its date into a month and a number.
        quote = _LINE_BREAK.sub(" ", ev.quote.strip())
        if ev.kind in ("row", "item") and ev.context:
            quote = f"{ev.context.rstrip(':：')}: {quote}"
        lead = f"{where[ev.source_n]} " if where and ev.source_n in where else ""
        lines.append(f"> {lead}{quote} [{ev.source_n}]")
    return lines
