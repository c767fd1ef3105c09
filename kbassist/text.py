"""Plain-text facts every layer agrees on: which characters are CJK, what a sentence is,
what a citation marker looks like. Imports nothing from the project.

* ``CJK``: a character-class body (Han, kana, Hangul) for regular expressions; text in these
  scripts has no spaces between words.
* ``is_chinese(text)``: whether a question or answer is (mostly) Chinese.
* ``sentence_spans`` / ``split_sentences``: a sentence ends after ``.!?`` followed by
  white space, after ``。！？；``, or at a line break. "3.5 days" stays one sentence.
* ``CITATION``: an ``[n]`` marker (1-2 digits) that is not the text of a Markdown link.
"""

from __future__ import annotations

import re

HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
CJK = HAN + "\u3040-\u30ff\uac00-\ud7af"  # + kana + Hangul

_HAN_RE = re.compile(f"[{HAN}]")
_CJK_RE = re.compile(f"[{CJK}]")

CITATION = re.compile(r"\[(\d{1,2})\](?!\()")
_CITATION_WITH_SPACE = re.compile(r"\s*\[\d{1,2}\](?!\()")

# A sentence ends at: . ! ? (one or more) before white space; an ASCII ! or ? after a Chinese
# character or before one (or a closing quote or bracket); 。！？； (and a run of them); a line
# break. The end punctuation belongs to the sentence it ends. A "?" inside a Latin word is no
# end: "…/edit?usp=sharing" was cut there, and the URL broken.
_CJK_ASCII_END = rf"(?<=[{CJK}])[!?]+|[!?]+(?=[{CJK}\"'”’)\]*])"  # "要多少天?3天", "能报销吗?”"
_SENTENCE_END = re.compile(rf"[.!?]+(?=\s|$)|{_CJK_ASCII_END}|[。！？；]+|\n")
_SENTENCE_END_IN_LINES = re.compile(rf"[.!?]+(?=\s|$)|{_CJK_ASCII_END}|[。！？；]+")


def is_cjk(char: str) -> bool:
    return bool(_CJK_RE.match(char))


def is_chinese(text: str) -> bool:
    """At least a fifth of the letters are Han characters."""
    letters = [c for c in text if c.isalpha()]
    return bool(letters) and sum(bool(_HAN_RE.match(c)) for c in letters) / len(letters) >= 0.2


def sentence_spans(text: str, *, at_line_breaks: bool = True) -> list[tuple[int, int]]:
    """``(start, end)`` of each sentence, white space around it excluded, in order.
    ``at_line_breaks=False`` keeps lines together (a table's rows stay one piece)."""
    spans = []
    start = 0
    for match in (_SENTENCE_END if at_line_breaks else _SENTENCE_END_IN_LINES).finditer(text):
        end = match.end()
        _add_span(text, start, end, spans)
        start = end
    _add_span(text, start, len(text), spans)
    return spans


def _add_span(text: str, start: int, end: int, spans: list):
    piece = text[start:end]
    stripped = piece.strip()
    if stripped:
        lead = len(piece) - len(piece.lstrip())
        spans.append((start + lead, start + lead + len(stripped)))


def split_sentences(text: str, *, at_line_breaks: bool = True) -> list[str]:
    return [text[a:b] for a, b in sentence_spans(text, at_line_breaks=at_line_breaks)]


def cited_numbers(text: str, available: int) -> list[int]:
    """Source numbers ``text`` cites, in order of first mention, ignoring ones out of range."""
    seen: list[int] = []
    for match in CITATION.finditer(text):
        n = int(match.group(1))
        if 1 <= n <= available and n not in seen:
            seen.append(n)
    return seen


def strip_citations(text: str) -> str:
    """``text`` without its ``[n]`` markers (and the space before each)."""
    return _CITATION_WITH_SPACE.sub("", text)


def index_text(title: str, heading: str, text: str) -> str:
    """The text a passage is indexed (tokenized and embedded) under: its own text, led by
    the title of its source and the section it sits in."""
    return "\n".join(part for part in (title, heading, text) if part)
