"""What the format parsers share: following the section headings, gathering paragraphs into
one block per section, and tidying extracted text."""

from __future__ import annotations

import re

from ..parsed import Block

HEADING_SEPARATOR = " › "


class HeadingTrail:
    """The current chain of section headings while walking a document top to bottom."""

    def __init__(self):
        self.levels: list[tuple[int, str]] = []

    def enter(self, level: int, title: str):
        while self.levels and self.levels[-1][0] >= level:
            self.levels.pop()
        self.levels.append((level, title.strip()))

    @property
    def path(self) -> str:
        return HEADING_SEPARATOR.join(title for _, title in self.levels if title)


class SectionCollector:
    """Gathers paragraphs under the current heading trail into one block per section."""

    def __init__(self):
        self.trail = HeadingTrail()
        self.blocks: list[Block] = []
        self._paragraphs: list[str] = []

    def heading(self, level: int, title: str):
        self.flush()
        self.trail.enter(level, title)

    def add(self, text: str):
        self._paragraphs.append(text)

    def flush(self) -> list[Block]:
        if self._paragraphs:
            self.blocks.append(Block("\n\n".join(self._paragraphs), heading=self.trail.path))
            self._paragraphs.clear()
        return self.blocks


def tidy(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\x00", "")
    text = re.sub(r"[ \t]+\n", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()
