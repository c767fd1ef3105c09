"""Markup in source text (Markdown, HTML, template tags, ``[n]`` citation markers): blanked
out in place (:func:`mask`, offsets kept) before values are looked for, or made readable
(:func:`plain`) for quoting and matching words."""

from __future__ import annotations

import re

from kbassist.text import CITATION, CJK

# Masked before scanning (same length, so offsets hold): link targets, bare URLs, template
# tags, ``[n]`` citation markers, HTML tags. A bare URL ends at white space or Chinese text, and
# the punctuation closing its sentence or parenthesis stays ("documentation
# (https://docs.example.com/x)."): masked with the URL, the sentence lost its end and was quoted
# as "documentation (".
_BARE_URL = rf"(?:https?://|www\.)[^\s{CJK}（）【】《》「」『』。，、；：！？“”‘’]+"
_URL_TAIL = ".,;:!?)]'\"’”"
_MASK = re.compile(rf"\]\([^)\s]*\)|<https?://[^>\s]*>|{_BARE_URL}|{{%.*?%}}|{{{{.*?}}}}|<[^>\n]{{1,200}}>", re.S)


def mask(text: str) -> str:
    """``text`` with URLs, link targets, template tags, markers and HTML tags blanked out
    (same length, so offsets into the result are offsets into ``text``)."""
    def blank(match: re.Match) -> str:
        piece = match.group(0)
        if piece.startswith(("http", "www.")):  # a bare URL: its closing punctuation stays
            url = piece.rstrip(_URL_TAIL)
            return " " * len(url) + piece[len(url):]
        keep = "]" if piece.startswith("](") else ""
        return keep + re.sub(r"[^\n]", " ", piece[len(keep):])

    text = CITATION.sub(lambda m: " " * len(m.group(0)), text)  # before links: "[5](url)" is a link
    return _MASK.sub(blank, text)


def plain(text: str) -> str:
    """Markdown made readable: links become their text, emphasis and escapes go, template
    tags and HTML tags go, table pipes become separators."""
    text = re.sub(r"(?m)^[ \t]*>[ \t]?(?=[^\W\d_]|[*_\[#\"“‘(])", "", text)  # a blockquote's marker, not "> 40 hours"
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"<https?://[^>]+>|{%.*?%}|{{.*?}}|<[^>\n]{1,200}>", "", text, flags=re.S)
    text = re.sub(r"\*\*|__|(?<![\w*])[*_](?=\S)|(?<=\S)[*_](?![\w*])", "", text)
    text = re.sub(r"\\([^\w\s])", r"\1", text)
    text = re.sub(r"^\s*\|\s*|\s*\|\s*$", "", text)
    text = re.sub(r"\s*\|\s*", " | ", text)
    return re.sub(r"[ \t]+", " ", text).strip()
