"""Spans of text: ``(start, end)`` offsets into a string, as every parser here keeps them
so that what it finds can be highlighted in the original text."""

from __future__ import annotations

import re


def overlaps(spans: list[tuple[int, int]], start: int, end: int) -> bool:
    """Whether ``start:end`` overlaps any of ``spans``."""
    return any(s < end and start < e for s, e in spans)


def split_at(text: str, separator: re.Pattern) -> list[tuple[int, int]]:
    """(start, end) of each piece of ``text`` between matches of ``separator`` (the matches
    excluded; empty pieces kept)."""
    spans, start = [], 0
    for match in separator.finditer(text):
        spans.append((start, match.start()))
        start = match.end()
    spans.append((start, len(text)))
    return spans


def strip_span(text: str, start: int, end: int) -> tuple[int, int]:
    """``start:end`` without the white space at either end of ``text[start:end]``."""
    piece = text[start:end]
    lead = len(piece) - len(piece.lstrip())
    return start + lead, start + len(piece.rstrip())
