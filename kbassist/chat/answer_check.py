"""A short yes/no question to a language model: does the best evidence state the answer to
*this* question? It decides only where the evidence answerability is unsure (between
KB_MIN_ANSWERABILITY and KB_CHECK_BELOW): a passage on the topic that does not give the fact
asked for ("the handbook covers travel cards but gives no ATM limit") is then refused instead
of being answered from the model's own knowledge.

Measured on the 18F set (README, "Knowing when the sources do not answer"): Qwen2.5-Coder-1.5B
ranks answerable above unanswerable questions in that band far better than the lexical score
(AUC 0.87 against 0.67); the 0.5B model cannot tell them apart (AUC 0.54), so the check uses
the 1.5B model by default (KB_CHECK_MODEL), whatever the chat model.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

from kbassist.llm import ChatMessage, GenerationError, LLMBackend

log = logging.getLogger(__name__)

SYSTEM = "You check whether a text answers a question. Reply with only yes or no."
ASK = "Text:\n{text}\n\nQuestion: {question}\n\nDoes the text state the answer to this question? Reply yes or no."
# With the rare words of the question that the text never uses (evidence.missing_words): a
# passage on the topic that does not name what is asked about is the near-topic non-answer the
# model otherwise calls an answer; the model still judges whether a word is only paraphrased.
ASK_MISSING = (
    "Text:\n{text}\n\nQuestion: {question}\n\nWords of the question that the text does not use: {missing}.\n\n"
    "Does the text state the answer to this question? Reply yes or no."
)
_YES = re.compile(r"^\W*(yes|是|对|有)", re.I)
_NO = re.compile(r"^\W*(no|否|不|没有)", re.I)


def check_messages(question: str, evidence: Sequence[str], missing: Sequence[str] = ()) -> list[ChatMessage]:
    text = "\n".join(f"- {sentence}" for sentence in evidence)
    ask = ASK_MISSING.format(text=text, question=question, missing=", ".join(missing)) if missing else ASK.format(text=text, question=question)
    return [ChatMessage("system", SYSTEM), ChatMessage("user", ask)]


def evidence_states_answer(question: str, evidence: Sequence[str], backend: LLMBackend, missing: Sequence[str] = ()) -> bool | None:
    """True (yes), False (no), or None when there is nothing to check or the model gave no
    clear answer or failed: then the check decides nothing. ``missing``: rare words of the
    question the evidence never uses, told to the model."""
    if not evidence:
        return None
    try:
        reply = "".join(backend.stream(check_messages(question, evidence, missing), max_tokens=3, temperature=0.0)).strip()
    except GenerationError as exc:
        log.warning("answer check failed: %s", exc)
        return None
    if _YES.match(reply):
        return True
    if _NO.match(reply):
        return False
    return None
