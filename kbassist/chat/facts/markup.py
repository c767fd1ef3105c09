"""Markup in source text (Markdown, HTML, template tags, ``[n]`` citation markers): blanked
out in place (:func:`mask`, offsets kept) before values are looked for, or made readable
(:func:`plain`) for quoting and matching words."""

from __future__ import annotations

import re

from kbassist.text import CITATION

# Masked before scanning (same length, so offsets hold): link targets, bare URLs, template
# tags, ``[n]`` citation markers, HTML tags. A bare URL ends before the punctuation that
# closes its sentence or parenthesis ("documentation (https://docs.example.com/x)."): masked
# with it, the sentence lost its end and was quoted as "documentation (".
_BARE_URL = r"(?:https?://|www\.)\S+?(?=[.,;:!?)\]'\"’”]*(?:\s|$))"
_MASK = re.compile(rf"\]\([^)\s]*\)|<https?://[^>\s]*>|{_BARE_URL}|{{%.*?%}}|{{{{.*?}}}}|<[^>\n]{{1,200}}>", re.S)


def mask(text: str) -> str:
    """``text`` with URLs, link targets, template tags, markers and HTML tags blanked out
    (same length, so offsets into the result are offsets into ``text``)."""
    def blank(match: re.Match) -> str:
        piece = match.group(0)
        keep = "]" if piece.startswith("](") else ""
        return keep + re.sub(r"[^\n]", " ", piece[len(keep):])

    text = CITATION.sub(lambda m: " " * len(m.group(0)), text)  # before links: "[5](url)" is a link
    return _MASK.sub(blank, text)


def plain(text: str) -> str:
    """Markdown made readable: links become their text, emphasis and escapes go, template
    tags and HTML tags go, table pipes become separators."""
    text = re.sub(r"(?m)^[ \t]*>[ \t]?", "", text)  # a blockquote's marker
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"<https?://[^>]+>|{%.*?%}|{{.*?}}|<[^>\n]{1,200}>", "", text, flags=re.S)
    text = re.sub(r"\*\*|__|(?<![\w*])[*_](?=\S)|(?<=\S)[*_](?![\w*])", "", text)
    text = re.sub(r"\\([^\w\s])", r"\1", text)
    text = re.sub(r"^\s*\|\s*|\s*\|\s*$", "", text)
    text = re.sub(r"\s*\|\s*", " | ", text)
    return re.sub(r"[ \t]+", " ", text).strip()
