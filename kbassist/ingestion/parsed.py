"""What parsing a file yields: a ``ParsedDocument`` of ``Block``s, or a ``ParseError``.

Each block is a piece of text with its page number (for paged formats) and its section
heading path. A ``ParseError`` carries a sentence an admin can act on; it names the file at
most by its own name, never by a path on the server. ``NothingToIndex`` is the ParseError of
a file that is fine but holds no knowledge (a redirect stub, front matter only, blank pages,
an empty file): such a document ends *skipped*, not *failed*.
"""

from __future__ import annotations

from dataclasses import dataclass, field


class ParseError(Exception):
    """A file that cannot be ingested; the message is shown to the admin as it is."""


class NothingToIndex(ParseError):
    """A readable file with no text to index; the message says why (shown as the reason it was skipped)."""


@dataclass
class Block:
    text: str
    page: int | None = None
    heading: str = ""  # "Leave policy › Annual vacation"


@dataclass
class ParsedDocument:
    title: str
    blocks: list[Block] = field(default_factory=list)
    keywords: str = ""  # what the page says it is about beyond its title (front matter keywords, tags)
    page_count: int | None = None
    ocr_pages: int = 0  # pages (or images) whose text was read by OCR
