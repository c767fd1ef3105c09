"""Structure-aware chunking.

A chunk never crosses a section heading or a page boundary, so its citation (section,
page) is exact. Inside a section, paragraphs are packed up to ``size`` tokens; a paragraph
longer than that is split at sentence ends (English and Chinese punctuation), and a sentence
longer than that at word boundaries. Consecutive chunks of a section share about ``overlap``
tokens so that a fact cut in two is still found whole in one of them.

Sizes are counted in approximate tokens: a Latin word or a number counts one, each CJK
character counts one, punctuation counts one. That is close enough to the embedding
model's word pieces to keep chunks inside its 256-token window.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import groupby

from kbassist.text import CJK, sentence_spans

from .formats.tables import column_names, record
from .parsers import Block

_TOKEN = re.compile(rf"[{CJK}]|[^\W_]+|[^\w\s]")
_WORD = re.compile(r"\S+\s*")


def count_tokens(text: str) -> int:
    return len(_TOKEN.findall(text))


@dataclass
class ChunkDraft:
    text: str
    heading: str
    page: int | None
    position: int


def chunk_blocks(blocks: list[Block], size: int = 200, overlap: int = 40) -> list[ChunkDraft]:
    if size < 20:
        raise ValueError("chunk size must be at least 20 tokens")
    overlap = max(0, min(overlap, size // 2))
    drafts: list[ChunkDraft] = []
    for (heading, page), section in groupby(blocks, key=lambda b: (b.heading, b.page)):
        units = [u for block in section for u in _units(block.text, size)]
        for text in _pack(units, size, overlap):
            drafts.append(ChunkDraft(text, heading, page, len(drafts)))
    return drafts


@dataclass
class _Unit:
    text: str
    tokens: int
    joiner: str  # what goes between this unit and the one before it


def _units(text: str, size: int) -> list[_Unit]:
    """Paragraphs, broken further into sentences and then word runs where too long."""
    units: list[_Unit] = []
    for paragraph in re.split(r"\n\s*\n", text):
        paragraph = paragraph.strip()
        if not paragraph:
            continue
        table = _table_parts(paragraph)
        if table is not None:
            caption, (header, separator), rows = table
            head = [header, _compact_separator(separator)]
            paragraph = "\n".join(caption + head + rows)
            pieces = [paragraph] if count_tokens(paragraph) <= size else _split_table(caption, head, rows, size)
            if pieces:
                units.extend(_Unit(piece, count_tokens(piece), "\n\n") for piece in pieces)
                continue
        n = count_tokens(paragraph)
        if n <= size:
            units.append(_Unit(paragraph, n, "\n\n"))
            continue
        units.extend(_sentence_units(paragraph, size))
    return units


_TABLE_ROW = re.compile(r"^\s*\|.*\|\s*$")
_TABLE_SEPARATOR = re.compile(r"^\s*\|(?:\s*:?-+:?\s*\|)+\s*$")


def _table_parts(paragraph: str) -> tuple[list[str], list[str], list[str]] | None:
    """(caption lines, header and separator, body rows) of a Markdown table paragraph, or None."""
    lines = paragraph.split("\n")
    caption = []
    if lines and not _TABLE_ROW.match(lines[0]):
        caption, lines = lines[:1], lines[1:]
    if len(lines) < 2 or not _TABLE_SEPARATOR.match(lines[1]) or not all(_TABLE_ROW.match(x) for x in lines):
        return None
    return caption, lines[:2], lines[2:]


def _compact_separator(line: str) -> str:
    """A table's separator row with three dashes a column ("| --- | :---: |"): padded to the
    columns' width, its dashes counted as tokens alone made the header longer than a chunk,
    and three tables in four of the Sourcegraph handbook were then cut as word runs, their
    rows without the header that names their columns."""
    cells = _cells(line)
    compact = "| " + " | ".join(
        (":" if c.startswith(":") else "") + "---" + (":" if len(c) > 1 and c.endswith(":") else "") for c in cells
    ) + " |"
    return compact if len(compact) < len(line) else line


def _split_table(caption: list[str], head: list[str], rows: list[str], size: int) -> list[str]:
    """A table too long for one chunk, cut between rows; each piece repeats caption and header.
    A row longer than a piece can hold becomes a record of its own (``_row_records``). Empty
    when even the caption and header leave no room for a row (then it is cut as text)."""
    lead = "\n".join(caption + head)
    budget = size - count_tokens(lead)
    if budget <= 0:
        return []
    pieces, current, used = [], [], 0
    for row in rows:
        n = count_tokens(row)
        if current and (used + n > budget or n > budget):
            pieces.append("\n".join([lead, *current]))
            current, used = [], 0
        if n > budget:
            pieces.extend(_row_records(caption, head[0], row, size))
            continue
        current.append(row)
        used += n
    if current:
        pieces.append("\n".join([lead, *current]))
    return pieces


_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")  # a Markdown link, named by its text alone
_CELL_BORDER = re.compile(r"(?<!\\)\|")  # a pipe that is not escaped ("a \| b" is one cell)


def _cells(row: str) -> list[str]:
    """The cells of a table row, its one outer pipe on each side removed."""
    return [cell.strip() for cell in _CELL_BORDER.split(row.strip()[1:-1])]


def _row_records(caption: list[str], header: str, row: str, size: int) -> list[str]:
    """A table row too long for a chunk beside its header, as a record: each value named by
    its column ("If you want to...: Give someone a spot bonus; Your management: Approval;
    Notes: …"; ``formats.tables.record``), cut at sentence ends where still too long, each
    piece beginning with the row's first value named and under the table's caption (left out
    when it would take a third of each piece). Cut as plain text, its values lost the columns
    that say what they are (a Word policy table with a paragraph in a cell, 35 tables of the
    Sourcegraph handbook)."""
    text = record(column_names([_LINK.sub(r"\1", name) for name in _cells(header)]), _cells(row))
    if not text:
        return []
    whole = "\n".join(caption + [text])
    if count_tokens(whole) <= size:
        return [whole]
    if count_tokens("\n".join(caption)) > size // 3:
        caption = []
    key = text.split("; ", 1)[0]
    room = size - count_tokens("\n".join(caption + [key + ";"]))
    if room < size // 3:  # a first value that leaves no room to repeat it: the record cut as text
        return _pack(_sentence_units("\n".join(caption + [text]), size), size, 0)
    rest = text[len(key) + 1 :].strip()
    return ["\n".join(caption + [f"{key}; {part}"]) for part in _pack(_sentence_units(rest, room), room, 0)]


def _sentence_units(text: str, size: int) -> list[_Unit]:
    """``text`` as sentences to pack, a sentence longer than ``size`` cut at words. Between
    two sentences, the text's own white space: a long list keeps its items on their lines
    (joined by spaces, "… in. 1. Have each speaker sign …", they were no longer items to the
    evidence)."""
    units = []
    for joiner, sentence in _sentences_with_gaps(text):
        parts = [sentence] if count_tokens(sentence) <= size else _split_long(sentence, size)
        for k, part in enumerate(parts):
            if k:
                joiner = "" if _CJK_END.search(parts[k - 1]) else " "
            units.append(_Unit(part, count_tokens(part), joiner))
    return units


_CJK_END = re.compile(rf"[{CJK}。！？；，]$")
_LIST_NUMBER = re.compile(r"\d{1,3}\.")
_TRAILING_NUMBER = re.compile(r"\n[ \t]*(\d{1,3}\.)$")


def _sentences_with_gaps(paragraph: str) -> list[tuple[str, str]]:
    """``(white space before it, sentence)`` for each sentence of ``paragraph`` ("\\n\\n" before
    the first). A list number ("2." of "2. Sign it") ends no sentence but begins the next, whether
    the item before it ended with a full stop or not."""
    spans: list[tuple[int, int]] = []
    number_at = None  # where a list number waiting for its item's text begins
    for start, end in sentence_spans(paragraph, at_line_breaks=False):
        if number_at is not None:
            start, number_at = number_at, None
        if _LIST_NUMBER.fullmatch(paragraph, start, end):  # "1." alone
            number_at = start
            continue
        if trailing := _TRAILING_NUMBER.search(paragraph, start, end):  # "Open the form\n2."
            number_at, end = trailing.start(1), trailing.start()
        spans.append((start, end))
    if number_at is not None:  # a number that ends the paragraph stays, alone
        spans.append((number_at, len(paragraph.rstrip())))
    return [("\n\n" if k == 0 else paragraph[spans[k - 1][1] : start], paragraph[start:end]) for k, (start, end) in enumerate(spans)]


def _split_long(text: str, size: int) -> list[str]:
    pieces, current, current_len = [], [], 0
    for word in _WORD.findall(text):
        n = count_tokens(word)
        if n > size:  # e.g. a long run of Chinese characters without punctuation
            if current:
                pieces.append("".join(current).strip())
                current, current_len = [], 0
            pieces.extend(_split_chars(word, size))
            continue
        if current_len + n > size and current:
            pieces.append("".join(current).strip())
            current, current_len = [], 0
        current.append(word)
        current_len += n
    if current:
        pieces.append("".join(current).strip())
    return [p for p in pieces if p]


def _split_chars(text: str, size: int) -> list[str]:
    tokens = list(_TOKEN.finditer(text))
    return [text[g[0].start() : g[-1].end()] for g in (tokens[i : i + size] for i in range(0, len(tokens), size))]


def _pack(units: list[_Unit], size: int, overlap: int) -> list[str]:
    chunks: list[str] = []
    current: list[_Unit] = []
    current_len = 0
    for unit in units:
        if current and current_len + unit.tokens > size:
            chunks.append(_join(current))
            # Carry the tail of this chunk into the next one, up to ``overlap`` tokens.
            carried: list[_Unit] = []
            carried_len = 0
            for previous in reversed(current):
                if carried_len + previous.tokens > overlap or carried_len + previous.tokens + unit.tokens > size:
                    break
                carried.insert(0, previous)
                carried_len += previous.tokens
            current, current_len = carried, carried_len
        current.append(unit)
        current_len += unit.tokens
    if current:
        chunks.append(_join(current))
    return chunks


def _join(units: list[_Unit]) -> str:
    return units[0].text + "".join(u.joiner + u.text for u in units[1:])
