"""Building the model's prompt: rules, numbered sources and recent turns, within budget."""

from __future__ import annotations

import re

from kbassist.llm.base import ChatMessage

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")

RULES = """You are KB Assist, the company's internal help desk assistant. Answer the employee's \
question using ONLY the numbered sources below.
- Use only facts stated in the sources. If they do not contain the answer, say that the \
knowledge base does not cover this question. Never make up facts.
- After each fact, cite its source number in square brackets, like [1].
- Be brief and concrete.
- {language}"""

LANGUAGE_EN = "Answer in English."
LANGUAGE_ZH = "The question is in Chinese: answer in Simplified Chinese (简体中文)."


def is_chinese(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return bool(letters) and sum(bool(_CJK.match(c)) for c in letters) / len(letters) >= 0.2


def format_source(n: int, chunk) -> str:
    where = f" ({chunk.location})" if chunk.location else ""
    return f"[{n}] {chunk.source_title}{where}\n{chunk.text.strip()}"


def search_query_for(question: str, history: list) -> str:
    """What to search for: the question, led by the previous question when it is a follow-up.

    "and for part-time staff?" alone finds nothing useful; together with the question it
    follows ("How many vacation days do I get?") it finds the right section.
    """
    previous = [m.content for m in history if m.role == "user"]
    if previous and len(question.split()) <= 12:
        return f"{previous[-1]} {question}"
    return question


def build_messages(question: str, chunks: list, history: list, count_tokens, budget: int) -> tuple[list[ChatMessage], int]:
    """The chat messages for the model, and how many sources fitted in ``budget`` tokens.

    The question and the rules always go in; then sources in rank order while they fit (the
    last one shortened if need be); then as many recent turns as still fit, newest first.
    """
    language = LANGUAGE_ZH if is_chinese(question) else LANGUAGE_EN
    rules = RULES.format(language=language)
    used = count_tokens(rules) + count_tokens(question) + 32
    sources: list[str] = []
    for n, chunk in enumerate(chunks, start=1):
        text = format_source(n, chunk)
        cost = count_tokens(text) + 4
        if used + cost > budget:
            room = budget - used - 8
            if room > 48:  # worth including a shortened passage
                sources.append(text[: room * 3])
                used = budget
            break
        sources.append(text)
        used += cost
    system = rules + "\n\nSources:\n\n" + ("\n\n".join(sources) if sources else "(no sources found)")

    turns: list[ChatMessage] = []
    for message in reversed(history):
        cost = count_tokens(message.content) + 8
        if used + cost > budget:
            break
        turns.insert(0, ChatMessage(message.role, message.content))
        used += cost
    while turns and turns[0].role != "user":  # a history starts with a question
        turns.pop(0)
    return [ChatMessage("system", system), *turns, ChatMessage("user", question)], len(sources)


_CITE = re.compile(r"\[(\d{1,2})\]")


def cited_numbers(answer: str, available: int) -> list[int]:
    """Source numbers the answer cites, in order of first mention, ignoring ones out of range."""
    seen: list[int] = []
    for match in _CITE.finditer(answer):
        n = int(match.group(1))
        if 1 <= n <= available and n not in seen:
            seen.append(n)
    return seen
