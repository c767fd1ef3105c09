"""Turning a follow-up ("what about contractors?") into a standalone search query.

The model rewrites the question using the conversation; its output is only trusted when it
looks like a question about the same thing (it shares words with the conversation's
questions and is of sane length). Otherwise the previous question and the follow-up are
searched together, which retrieves well without any model.
"""

from __future__ import annotations

import re

from kbassist.llm.base import ChatMessage, GenerationError
from kbassist.retrieval.tokenize import tokenize
from kbassist.text import CJK

from .facts.quantities import parse_quantities, same_value

INSTRUCTION = (
    "Rewrite the user's last question as one standalone question that can be understood "
    "without the conversation. Keep the language of the question. Reply with the rewritten "
    "question only."
)


def concatenated(question: str, history: list) -> str:
    previous = [m.content for m in history if m.role == "user"]
    return f"{previous[-1]} {question}" if previous else question


def is_follow_up(history: list) -> bool:
    """A question asked after others in the same conversation may lean on them."""
    return any(m.role == "user" for m in history)


# Words by which a question leans on what was said before ("what about it?", "and for
# contractors?", "那这个呢？"); a question with none of them, and long enough to say what it
# is about, names nothing earlier.
_LEANING_WORDS = frozenset(
    "it its it's they them their theirs this that these those he she him her his hers there then one ones "
    "same such above previous earlier before former latter else also too again instead other another more".split()
)
_LEANING_OPENERS = ("and", "but", "or", "so", "what about", "how about", "what if")
_LEANING_CHINESE = re.compile(r"[它他她这那其该此呢还也]|上述|刚才|上面|同样|前面")


def leans_on_conversation(question: str) -> bool:
    """True when ``question`` may lean on the conversation before it: it has a word that
    points back (a pronoun, "the same", "what about ...", 这/那/它/呢 ...) or is too short to
    stand on its own. Model-free and cautious: when in doubt, it leans."""
    text = question.strip().lower()
    chinese = "".join(re.findall(f"[{CJK}]", text))
    if chinese:
        return len(chinese) < 4 or bool(_LEANING_CHINESE.search(text))
    words = re.findall(r"[a-z0-9']+", text)
    if len(words) < 3 or text.startswith(_LEANING_OPENERS):
        return True
    return any(word in _LEANING_WORDS for word in words)


def standalone_question(question: str, history: list, backend, max_tokens: int = 48) -> tuple[str, str]:
    """``(query, how)``: the search query for ``question``, and "model" or "concatenated"."""
    fallback = concatenated(question, history)
    if not is_follow_up(history):
        return question, "as asked"
    lines = []
    for message in history[-4:]:
        who = "User" if message.role == "user" else "Assistant"
        lines.append(f"{who}: {message.content.strip()[:400]}")
    prompt = "Conversation:\n" + "\n".join(lines) + f"\n\nLast question: {question}\n\nStandalone question:"
    try:
        text = "".join(
            backend.stream([ChatMessage("system", INSTRUCTION), ChatMessage("user", prompt)], max_tokens=max_tokens, temperature=0.0)
        )
    except GenerationError:
        return fallback, "concatenated"
    candidate = clean(text)
    if acceptable(candidate, question, history):
        return candidate, "model"
    return fallback, "concatenated"


def clean(text: str) -> str:
    line = text.strip().split("\n")[0].strip()
    line = re.sub(r"^(standalone question|question|rewritten question)\s*[:：]\s*", "", line, flags=re.I)
    return line.strip(" \"'“”「」")


def acceptable(candidate: str, question: str, history: list) -> bool:
    if not 3 <= len(candidate) <= 300 or not candidate.endswith(("?", "？")) or "[" in candidate:
        return False  # not a question (an answer, or a citation-laden sentence)
    asked = set(tokenize(question))
    for message in history:
        if message.role == "user":
            asked |= set(tokenize(message.content))
    mine = set(tokenize(candidate))
    # It must keep something of what the follow-up itself asks, and not just answer it.
    return bool(mine & set(tokenize(question))) and len(mine & asked) >= max(1, len(mine) // 3)


# Measured on the 0.5B model: without examples it answers or paraphrases the question
# ("EAP can provide several free psychological consultations."); three examples make it
# translate. A few Chinese characters may survive; search ignores them.
TRANSLATE = (
    "You translate employees' questions from Chinese into English. Translate every word. "
    "Never answer the question. Reply with the English question only, ending with a question mark."
)
TRANSLATION_EXAMPLES = [
    ("我每年有多少天年假？", "How many days of annual leave do I get each year?"),
    ("忘记VPN密码了，应该联系谁？", "I forgot my VPN password. Who should I contact?"),
    ("出差的酒店费用报销上限是多少？", "What is the reimbursement limit for hotel costs on a business trip?"),
]
_CJK_RUN = re.compile(f"[{CJK}]+")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")


def _unasked_numbers(candidate: str, question: str) -> set[str]:
    """The numbers of a translation the question has neither in digits nor in Chinese numerals
    ("一号楼" may be translated "Building 1"; "2 out of 5" adds a 5)."""
    values = [q.value for q in parse_quantities(question) if q.value is not None]
    return {number for number in _NUMBER.findall(candidate)
            if number not in question and not any(same_value(float(number.replace(",", "")), v) for v in values)}


def to_english(question: str, backend, max_tokens: int = 64) -> str | None:
    """The question in English, for searching English documents with a Chinese question;
    None when the model's reply is not a translation (mostly Chinese still, or with numbers
    the question does not have: an answer, not a translation)."""
    messages = [ChatMessage("system", TRANSLATE)]
    for chinese, english in TRANSLATION_EXAMPLES:
        messages += [ChatMessage("user", chinese), ChatMessage("assistant", english)]
    try:
        text = "".join(backend.stream([*messages, ChatMessage("user", question)], max_tokens=max_tokens, temperature=0.0))
    except GenerationError:
        return None
    candidate = clean(text)
    latin = _CJK_RUN.sub(" ", candidate)
    letters = [c for c in latin if c.isalpha()]
    if not 3 <= len(candidate) <= 300 or len(letters) < 0.6 * len([c for c in candidate if c.isalpha()]):
        return None
    if unasked := _unasked_numbers(candidate, question):
        if not candidate.rstrip().endswith(("?", "？")):
            return None  # the model answered instead of translating
        # a question with a number the model added ("my score was 2 out of 5"): searched without it
        latin = _NUMBER.sub(lambda m: " " if m.group(0) in unasked else m.group(0), latin)
    return " ".join(latin.split())  # Chinese left in it would only count as unanswered words
