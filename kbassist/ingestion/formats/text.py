"""Plain text: one block per section, at underlined (=== or ---) or ALL-CAPS headings."""

from __future__ import annotations

import re
from pathlib import Path

from ..decoding import decode
from ..parsed import Block, NothingToIndex, ParsedDocument
from .sections import HeadingTrail, tidy

_UNDERLINE = re.compile(r"^\s*(=+|-+)\s*$")


def parse_text(path: Path) -> ParsedDocument:
    text = decode(path.read_bytes())
    lines = text.splitlines()
    trail = HeadingTrail()
    blocks: list[Block] = []
    body: list[str] = []

    def flush():
        chunk = tidy("\n".join(body))
        if chunk:
            blocks.append(Block(chunk, heading=trail.path))
        body.clear()

    i = 0
    while i < len(lines):
        line = lines[i].rstrip()
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if line.strip() and _UNDERLINE.match(nxt) and len(nxt.strip()) >= 3:
            flush()
            trail.enter(1 if nxt.strip()[0] == "=" else 2, line.strip())
            i += 2
            continue
        if _is_caps_heading(line, lines[i - 1] if i else ""):
            flush()
            trail.enter(1, line.strip())
            i += 1
            continue
        body.append(line)
        i += 1
    flush()
    if not blocks:
        raise NothingToIndex("The text file is empty (blank lines only): nothing to index.")
    return ParsedDocument("", blocks)


def _is_caps_heading(line: str, previous: str) -> bool:
    stripped = line.strip()
    letters = [c for c in stripped if c.isalpha()]
    return (
        not previous.strip()
        and 3 <= len(stripped) <= 80
        and len(letters) >= 3
        and all(c.isupper() for c in letters)
    )
