"""What ties an answer to its sources: the evidence to quote, whether the sources answer the
question at all, and the generated answer checked fact by fact before it is shown.

Glue between the answer pipeline (sources as the numbered dicts the chat sends) and the
plain text analysis in ``evidence.py`` and ``verification.py``. One ``Grounding`` is built
per answer and shared by the refusal decision, the prompt, verification and the ``done``
event, so the sources are split and scored once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

from django.conf import settings

from kbassist.retrieval.embedder import get_embedder
from kbassist.text import CITATION, is_chinese, sentence_spans

from .facts.quantities import parse_quantities
from .facts.questions import VALUE_KINDS, fits_wanted, is_yes_no, value_in_words, wanted_value
from .evidence import Answerability, EvidenceIndex, EvidenceSentence, answer_values, answerability, best_evidence, circumstance, missing_words, named_elsewhere, rank_evidence, set_aside
from .verification import SUPPORTED, Verification, evidence_answer, quoted_from, says_no_to, verify, yes_against_evidence

# A generated reply that says the sources do not answer (the prompt asks the model to say so).
_MODEL_DECLINES = re.compile(
    r"(knowledge base|sources?|documents?|context|information provided)\b[^.]{0,40}\b(does not|do not|doesn't|don't)"
    r"\s+(cover|contain|mention|say|include|provide|specify)|\bno information (about|on)\b|\bnot (mentioned|covered|specified)\b"
    r"|没有(涵盖|提及|提到|相关信息|说明)|未(提及|涵盖|说明)|无法(回答|找到)",
    re.I,
)


def model_declined(text: str) -> bool:
    """The model itself said that its sources do not answer the question."""
    return bool(_MODEL_DECLINES.search(text[:400]))


@dataclass
class Checked:
    """A generated answer after verification: the text to show, and what was checked."""

    text: str
    verification: dict
    from_evidence: bool  # nothing generated could be trusted: the quoted evidence is the answer

    @property
    def passed_over(self) -> bool:
        """Asked for a value, the model stated none, though the evidence it was given states
        values of that kind: it read them and found none that answers. Over the quote-only
        answers of our end-to-end runs (sessions 6-16, each question's latest) this was so for
        8 unanswerable questions and 4 answerable ones (3 of whose quotes hold the fact);
        where the evidence states no such value, 1 and 7."""
        return self.from_evidence and bool(self.verification.get("passed_over"))

    @property
    def invented(self) -> bool:
        """Every fact the model stated is one that no source states (none found, none merely
        read for another condition; a value or name the question itself states, which the
        answer repeats, is no finding): the model had to make its answer up, which is what a
        small model does when its sources do not answer. Over the generated answers of our
        runs (sessions 6-16) this was so for 6 unanswerable questions and 2 answerable ones."""
        v = self.verification
        found = v.get("claims_supported", 0) - v.get("claims_restating_question", 0)
        # a "yes" the evidence says no to is answered by that evidence, however it is worded
        return v.get("claims_removed", 0) > 0 and not found and not v.get("claims_misread") and not v.get("yes_against_evidence")


class Grounding:
    """The evidence for one question over its numbered sources (dicts with ``n``, ``text``,
    ``section``, ``title``)."""

    def __init__(self, question: str, sources: list[dict], term_share=None, asked: str = "", page_words=None):
        self.question = question
        # the asker's own words where ``question`` is their translation: the kind of value
        # wanted is read from them ("哪几个角色", which roles, translated as "What are the
        # minimum roles …?", asks for no number)
        self.asked = asked
        self.sources = sources
        self.source_by_n = {s["n"]: s for s in sources}
        self.term_share = term_share  # tokens -> share of the knowledge base's chunks with each
        self.page_words = page_words  # source dict -> the tokens of the whole page it comes from
        self.index = EvidenceIndex(sources)
        self._supporting: dict[str, list[EvidenceSentence]] = {}  # by answer text
        self._verified: dict[str, Verification] = {}  # by answer text

    @cached_property
    def ranked(self) -> list[EvidenceSentence]:
        return rank_evidence(self.question, index=self.index, encode=_encode, asked=self.asked)

    @cached_property
    def best(self) -> list[EvidenceSentence]:
        return best_evidence(self.question, index=self.index, ranked=self.ranked, wanted=self.answerability.wanted)

    @cached_property
    def answerability(self) -> Answerability:
        return answerability(self.question, index=self.index, ranked=self.ranked, encode=_encode, asked=self.asked)

    @property
    def answers_question(self) -> bool:
        return self.answerability.score >= settings.KB_MIN_ANSWERABILITY

    @property
    def weak(self) -> bool:
        """The evidence may answer, but weakly (below KB_WEAK_ANSWERABILITY): answered only
        when the answer check is confident that it does."""
        return self.answerability.score < settings.KB_WEAK_ANSWERABILITY

    def _check_sentences(self, k: int = 3) -> list[EvidenceSentence]:
        chosen = [self.answerability.best] if self.answerability.best is not None else []
        chosen += [ev for ev in self.best if all((ev.source_n, ev.start) != (c.source_n, c.start) for c in chosen)]
        return chosen[:k]

    def check_evidence(self, k: int = 3) -> list[str]:
        """The sentences the answer check reads (with their table header or list lead-in):
        first the one the answerability rests on (it may rank below the quoted ones: a
        sentence naming more of the question's words can still lack its answer), then the
        quoted evidence."""
        return [_check_text(ev) for ev in self._check_sentences(k)]

    @cached_property
    def says_no(self) -> str:
        """The sentence of the check's evidence that says no (or "only") to a yes/no question
        (``verification.says_no_to``); "" when none does, or when the evidence is weak (weak
        evidence is answered only on the check's confident "yes")."""
        if self.weak:
            return ""
        return says_no_to(self.question, self.check_evidence(), idf=self.index.idf) or ""

    def titled_check_evidence(self, k: int = 3) -> list[str]:
        """``check_evidence`` with each sentence after the page and section it comes from
        ("[Travel FAQ › Securing approvals] Ensure this is complete by 3:30 PM …"), as the
        answer check's yes/no question reads it: told whose table row or which process a value
        belongs to, the 1.5B says "yes" less often to another thing's value (session 12, 355
        questions of both handbooks' sets whose check decides: AUC 0.908 against 0.885; at the
        0.6 bar, 3 more unanswerable questions refused and 1 fewer answerable one)."""
        return [_titled(self.source_by_n.get(ev.source_n, {}), _check_text(ev)) for ev in self._check_sentences(k)]

    @cached_property
    def _unused_words(self) -> list[str]:
        if self.term_share is None or self.asked:  # a translation's words are the translator's
            return []
        return missing_words(self.question, self._check_sentences(), self.index, self.term_share, limit=10)

    @cached_property
    def _by_circumstance(self) -> dict[bool, list[str]]:
        """The unused words split once: the asker's circumstances (``evidence.circumstance``)
        and the rest."""
        split: dict[bool, list[str]] = {True: [], False: []}
        for word in self._unused_words:
            split[circumstance(word, self.question)].append(word)
        return split

    @property
    def missing_words(self) -> list[str]:
        """Words of what the question asks that neither the check's evidence nor any chunk of
        the knowledge base uses (see ``evidence.missing_words``), the asker's circumstances
        aside; empty without a ``term_share``."""
        return self._by_circumstance[False][:3]

    @property
    def circumstances(self) -> list[str]:
        """Words no chunk uses that tell the asker's circumstances, not what is asked
        (``evidence.circumstance``: "Denver", "Thanksgiving", "flew" in the setup before the
        asking clause): they make the answerability unsure (the answer check reads the whole
        question) rather than being asked about like ``missing_words``."""
        return self._by_circumstance[True][:3]

    @cached_property
    def named_elsewhere(self) -> list[str]:
        """For a question asking for a value: the rare names it uses that the sources use, but
        not the page of the sentence whose value would answer (``evidence.named_elsewhere``):
        that value is another thing's, so the question is refused. Empty without ``term_share``
        and ``page_words``."""
        best, asked = self.answerability.best, self.asked or self.question
        if best is None or self.answerability.wanted not in VALUE_KINDS or self.term_share is None or self.page_words is None:
            return []
        source = self.source_by_n.get(best.source_n)
        if source is None:
            return []
        return named_elsewhere(asked, best, self.index, self.term_share, lambda: self.page_words(source))

    def evidence(self, answer: str = "") -> list[dict]:
        """The quoted evidence as the chat shows it: each sentence with its source. For an
        answer, the source sentence that supports what it says, and the sentence that best
        answers the question if that is another; without an answer (or support), the best
        one or two sentences for the question."""
        chosen = self.supporting(answer)[:1] if answer else []
        # ...and the sentence that best answers the question, when it is another one: a
        # wrong answer must not hide the right sentence.
        chosen += [ev for ev in self.best[:1] if all((ev.source_n, ev.start) != (c.source_n, c.start) for c in chosen)]
        return self.as_evidence(chosen or self.best)

    def closest(self, k: int = 2) -> list[EvidenceSentence]:
        """The sentences that come closest to answering, for a refusal on the topic to quote:
        the answer check's first ``k`` (the one the answerability rests on, then the best
        quoted). Replayed over both handbooks' 684 questions, the first two hold the key fact
        for 25 of the 53 answerable questions refused (the first alone, for 20)."""
        return self._check_sentences(k)

    def where(self, *, chinese: bool = False) -> dict[int, str]:
        """Before each source's quotes, where they come from (``verification.quoted_from``)."""
        return {n: quoted_from(source, chinese=chinese) for n, source in self.source_by_n.items()}

    def quoted_answer(self, *, chinese: bool = False) -> str:
        """The best evidence quoted as the answer, each sentence after where it comes from."""
        return evidence_answer(self.best, chinese=chinese, where=self.where(chinese=chinese))

    def as_evidence(self, sentences: list[EvidenceSentence]) -> list[dict]:
        """``sentences`` as the chat shows quoted evidence: each with its source."""
        by_n = self.source_by_n
        return [
            {
                "n": ev.source_n,
                "quote": ev.quote,
                "context": ev.context,
                "start": ev.start,
                "end": ev.end,
                "title": by_n[ev.source_n]["title"],
                "location": by_n[ev.source_n]["location"],
                "page": by_n[ev.source_n].get("page"),
                "section": by_n[ev.source_n].get("section"),
            }
            for ev in sentences
            if ev.source_n in by_n
        ]

    def check(self, answer: str) -> Checked:
        """Verify ``answer`` against the sources: sentences whose facts no source states (or
        states for another condition) are taken out; with nothing verified left, or no value
        at all when the question asks for one, the quoted evidence becomes the answer."""
        verification = self.verification(answer)
        shown = verification.shown()
        details = verification.as_dict()
        # Asked for a number, a duration, an amount or a date, and none of that kind stated
        # but the question's own ("1-1s should be weekly" for "How long should my 1-1s be?"):
        # no answer (a small model sometimes restates the question or answers another one).
        wanted = wanted_value(self.asked or self.question)
        values = answer_values([c.quantity for c in verification.claims if c.quantity is not None], set_aside(self.question))
        states_nothing = wanted is not None and not fits_wanted(wanted, values, answer)
        # A "yes" that the evidence it is shown with says "not" or "only" to: the quote answers.
        if yes_against := is_yes_no(self.question) and yes_against_evidence(answer, [ev.quote for ev in self.best]):
            details["yes_against_evidence"] = True
        said = CITATION.sub("", answer).strip()  # an empty reply is the model failing, not reading
        if said and states_nothing and not yes_against and not self._any_number(answer, verification) and self._quotes_give(wanted):
            details["passed_over"] = True
        if (shown.use_evidence or states_nothing or yes_against) and self.best:
            return Checked(self.quoted_answer(chinese=is_chinese(answer) or is_chinese(self.question)), details, True)
        return Checked(shown.text or answer, details, False)

    def _any_number(self, answer: str, verification: Verification) -> bool:
        """Whether ``answer`` states any number the question does not: in digits ("from day
        4", which no kind of value reads, is still read from the evidence), or as a claim
        ("两次"; not the "一" of "一共")."""
        asked = set(re.findall(r"\d+", self.question))
        return bool(set(re.findall(r"\d+", CITATION.sub("", answer))) - asked) or any(
            c.quantity is not None and not c.given for c in verification.claims)

    @cached_property
    def states_no_value_asked(self) -> bool:
        """For a question asking for a count, an amount or a duration: whether none of the
        sentences the answer check reads states one (other than the question's own). Such
        evidence cannot answer it, whatever the check says: asked the maximum number of
        responses the Qualtrics contract allows, over "… the contract has a max number of
        audible responses", the 1.5B said "yes" (p 0.93; 18f-s8-23). Not for a date: "when" is
        often answered by an event ("on your last day")."""
        wanted = self.answerability.wanted
        if wanted not in ("number", "amount", "duration") or is_yes_no(self.question):
            return False  # "Is there a limit on how many days …?" is answered by "… are not limited"
        texts = self.check_evidence()
        return bool(texts) and not any(self._gives(wanted, t) or value_in_words(t) for t in texts)

    def _quotes_give(self, wanted: str) -> bool:
        """Whether the best evidence states a value of the kind ``wanted`` (not one of the
        question's own)."""
        return self._gives(wanted, " ".join(ev.quote for ev in self.best))

    def _gives(self, wanted: str, text: str) -> bool:
        """Whether ``text`` states a value of the kind ``wanted`` other than the question's own."""
        return fits_wanted(wanted, answer_values(parse_quantities(text), set_aside(self.question)), text)

    def verification(self, answer: str) -> Verification:
        """``answer`` checked claim by claim against the sources; once per answer text (the
        check of the generated text and, when it kept every sentence, the attribution of the
        same text read the same verification)."""
        if answer not in self._verified:
            self._verified[answer] = verify(answer, question=self.question, index=self.index)
        return self._verified[answer]

    def facts_found(self, answer: str) -> list[tuple[int, int]]:
        """``(offset in answer, source n)`` of each fact of ``answer`` that a source states for
        the question's condition: what attribution cites where the answer's words differ from
        the source's (another language, other wording)."""
        verification = self.verification(answer)
        return [(c.start, c.source_n) for c in verification.claims if c.status == SUPPORTED and c.source_n is not None]

    def rests_on(self, answer: str) -> int | None:
        """The source of the evidence sentence an answer was judged on (the one quoted beside
        it), for ``attribution.attribute`` to cite when nothing else can be; None when a fact
        of the answer was not found as stated, or there is no evidence. Whether a claimless
        answer ("No.") agrees with that evidence is not judged here (a "yes" against it is,
        in ``check``)."""
        if not self.best or any(c.status != SUPPORTED for c in self.verification(answer).claims):
            return None
        return self.best[0].source_n

    def supporting(self, answer: str) -> list[EvidenceSentence]:
        """For each answer sentence that cites ``[n]``, the sentence of source n that best
        supports it; best first, each once. Computed once per answer (the citations and the
        quote both need it)."""
        if answer in self._supporting:
            return self._supporting[answer]
        found: dict[tuple[int, int], EvidenceSentence] = {}
        for start, end in sentence_spans(answer):
            sentence = answer[start:end]
            for n in sorted({int(m.group(1)) for m in CITATION.finditer(sentence)}):
                ranked = rank_evidence(CITATION.sub("", sentence), index=self.index, only=n, limit=1)
                if ranked and ranked[0].score > 0:
                    key = (n, ranked[0].start)
                    if key not in found or found[key].score < ranked[0].score:
                        found[key] = ranked[0]
        self._supporting[answer] = sorted(found.values(), key=lambda ev: -ev.score)
        return self._supporting[answer]

    def support(self, answer: str) -> dict[int, list[list[int]]]:
        """For each source, the ``[start, end]`` spans of its sentences that support the
        answer (to highlight inside the opened passage)."""
        spans: dict[int, list[list[int]]] = {}
        for ev in self.supporting(answer):
            spans.setdefault(ev.source_n, []).append([ev.start, ev.end])
        return spans


def _check_text(ev: EvidenceSentence) -> str:
    """A sentence as the answer check reads it: after its table header or list lead-in."""
    return ev.quote if not ev.context or ev.quote.startswith(ev.context) else f"{ev.context} {ev.quote}"


def _titled(source: dict, text: str) -> str:
    where = " › ".join(part for part in (source.get("title"), source.get("location")) if part)
    return f"[{where}] {text}" if where else text


def _encode(texts: list[str]):
    return get_embedder().encode(texts)
