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
from kbassist.text import is_chinese

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


TRANSLATE = (
    "Translate the user's question into English. Keep names, numbers and terms as they are. "
    "Reply with the English question only."
)


def to_english(question: str, backend, max_tokens: int = 64) -> str | None:
    """The question in English, for searching English documents with a Chinese question;
    None when the model's reply does not look like an English question."""
    try:
        text = "".join(
            backend.stream([ChatMessage("system", TRANSLATE), ChatMessage("user", question)], max_tokens=max_tokens, temperature=0.0)
        )
    except GenerationError:
        return None
    candidate = clean(text)
    letters = [c for c in candidate if c.isalpha()]
    if not 3 <= len(candidate) <= 300 or not letters or is_chinese(candidate) or not candidate.endswith("?"):
        return None  # not an English question (an answer, or no translation at all)
    if sum(c.isascii() for c in letters) / len(letters) < 0.9:
        return None
    return candidate
