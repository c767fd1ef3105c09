"""A short yes/no question to a language model: does the best evidence state the answer to
*this* question? It decides where the evidence answerability is unsure (between
KB_MIN_ANSWERABILITY and KB_CHECK_BELOW, and for a question translated for search): a passage
on the topic that does not give the fact asked for ("the handbook covers travel cards but gives
no ATM limit") is then refused instead of being answered from the model's own knowledge.

Measured on the 18F set (README, "Knowing when the sources do not answer"): Qwen2.5-Coder-1.5B
ranks answerable above unanswerable questions in that band far better than the lexical score
(AUC 0.87 against 0.67); the 0.5B model cannot tell them apart (AUC 0.54), so the check uses
the 1.5B model by default (KB_CHECK_MODEL), whatever the chat model.

The verdict is how likely the model's "yes" is (its first token's probability, where the
backend gives it), not its greedy reply: on near-topic questions the 1.5B says "yes" to a
passage that gives a value for another thing, but hesitantly (p 0.5-0.7 where answerable
questions mostly get 0.8-0.95), so a "yes" must be at least KB_CHECK_MIN_YES likely
(calibrated on both handbooks' sets by ``bench/replay_refusals.py``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

from kbassist.chat.facts.quantities import compatible_values, parse_quantities
from kbassist.llm import ChatMessage, GenerationError, LLMBackend

log = logging.getLogger(__name__)

SYSTEM = "You check whether a text answers a question. Reply with only yes or no."
ASK = "Text:\n{text}\n\nQuestion: {question}\n\nDoes the text state the answer to this question? Reply yes or no."
# Whether the text mentions a word of the question that neither it nor any other chunk of the
# knowledge base uses (evidence.missing_words),
# or a paraphrase of it: a passage on the topic that never names what is asked about
# ("sabbatical" over care leave) is the near-topic non-answer the answer check calls answered
# (told the word is missing, the 1.5B still said "yes" to it), while "child care" for
# "childcare" or "purchase" for "bought" is only a paraphrase, which the model tells apart.
MENTION_SYSTEM = "You check whether a text mentions a thing. Reply with only yes or no."
MENTION_ASK = 'Text:\n{text}\n\nDoes the text mention "{word}", or something that means the same? Reply yes or no.'
# A hesitant "yes" to a question asking for a value is confirmed by a copy of the answer:
# "the contract has a max number of responses" makes the 1.5B 92% sure that it answers "what
# is the maximum number?", but asked to copy the answer it copies no number (or NONE).
COPY_SYSTEM = "You copy from a text the words that answer a question."
COPY_ASK = ("Text:\n{text}\n\nQuestion: {question}\n\nCopy the shortest words from the text that answer this question "
            "exactly. If the text does not answer it, reply NONE.")
_YES = re.compile(r"^\W*(yes|是|对|有)", re.I)
_NO = re.compile(r"^\W*(no|否|不|没有)", re.I)


def check_messages(question: str, evidence: Sequence[str]) -> list[ChatMessage]:
    text = "\n".join(f"- {sentence}" for sentence in evidence)
    return [ChatMessage("system", SYSTEM), ChatMessage("user", ASK.format(text=text, question=question))]


def mention_messages(word: str, evidence: Sequence[str]) -> list[ChatMessage]:
    text = "\n".join(f"- {sentence}" for sentence in evidence)
    return [ChatMessage("system", MENTION_SYSTEM), ChatMessage("user", MENTION_ASK.format(text=text, word=word))]


def answer_probability(question: str, evidence: Sequence[str], backend: LLMBackend) -> float | None:
    """How likely the model's reply is "yes" (the evidence states the answer): read from the
    first token's probabilities where the backend gives them, else 1.0 or 0.0 from its greedy
    reply; None when there is nothing to check, no clear reply, or the model failed."""
    if not evidence:
        return None
    messages = check_messages(question, evidence)
    try:
        probability = backend.yes_probability(messages)
    except GenerationError as exc:
        log.warning("answer check failed: %s", exc)
        return None
    if probability is not None:
        return probability
    verdict = _yes_no(messages, backend)
    return None if verdict is None else float(verdict)


def copy_messages(question: str, evidence: Sequence[str]) -> list[ChatMessage]:
    text = "\n".join(f"- {sentence}" for sentence in evidence)
    return [ChatMessage("system", COPY_SYSTEM), ChatMessage("user", COPY_ASK.format(text=text, question=question))]


def copied_answer(question: str, evidence: Sequence[str], backend: LLMBackend) -> str | None:
    """The words of the evidence the model copies as the answer ("" for NONE); None when
    there is nothing to copy from or the model failed."""
    if not evidence:
        return None
    try:
        reply = "".join(backend.stream(copy_messages(question, evidence), max_tokens=24, temperature=0.0)).strip()
    except GenerationError as exc:
        log.warning("answer copy failed: %s", exc)
        return None
    return "" if re.match(r"^\W*none\b", reply, re.I) else reply


def holds_value(copied: str) -> bool:
    """Whether a copied answer holds a value: a number, amount, duration or date, in digits
    or words ("ONE year", "十二周")."""
    return bool(copied) and (bool(parse_quantities(copied)) or any(c.isdigit() for c in copied))


def copies_a_value(copied: str, evidence: Sequence[str], wanted: str | None = None) -> bool:
    """Whether a copied answer holds a value and the evidence states every value in it (the
    same number, amount, duration, date or time, in digits or words, converted between units
    where that is exact: ``compatible_values``): a "copy" the text does not hold is the model's
    invention. Asked the latest time to submit a daily check-in, over a weekly timecard
    deadline, the 1.5B "copied" 12:00; over a rental-car programme with no rates, "$10/day".
    Where the question asks for a count, a duration or a date (``wanted``), a sum of money does
    not answer it: asked the minimum steps a day, it "copied" the 50 of "prizes worth a minimum
    of $50" (sg-s11-20)."""
    if not holds_value(copied):
        return False
    stated = [q for sentence in evidence for q in parse_quantities(sentence)]
    values = parse_quantities(copied)
    if not values:  # digits no quantity reads ("v2"): the same digits in the text
        return set(re.findall(r"\d+", copied)) <= set(re.findall(r"\d+", " ".join(evidence)))
    if wanted in ("number", "duration", "date"):
        # a copied sum ("$150" for "what's the maximum I can claim?") may still be the answer
        sums = [q for q in values if q.kind == "money"]
        stated = [q for q in stated if q.kind != "money"] + ([q for q in stated if q.kind == "money"] if sums else [])
    return all(any(compatible_values(q, given) for given in stated) for q in values)


def evidence_mentions(word: str, evidence: Sequence[str], backend: LLMBackend) -> bool | None:
    """Whether the evidence mentions ``word`` or a paraphrase of it: True, False, or None
    (nothing to check, no clear reply, or the model failed)."""
    return _yes_no(mention_messages(word, evidence), backend) if evidence and word else None


def _yes_no(messages: list[ChatMessage], backend: LLMBackend) -> bool | None:
    try:
        reply = "".join(backend.stream(messages, max_tokens=3, temperature=0.0)).strip()
    except GenerationError as exc:
        log.warning("answer check failed: %s", exc)
        return None
    if _YES.match(reply):
        return True
    if _NO.match(reply):
        return False
    return None
