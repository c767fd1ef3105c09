"""Tables and records as text the chunker and the answer checks understand.

A table becomes one Markdown table (``| a | b |`` rows under a ``|---|`` separator), its
caption (or the heading it sits under) on the line above it, with no blank line between, so
that the chunker keeps caption and table together in one chunk when they fit
(``chunking``) and a quoted row keeps its header (``kbassist.chat.facts.units``).

A spreadsheet or CSV row becomes a *record*: each value named by its column's header
("Model: X1; Price: 1299"), so that a row found alone still says what its values are.
"""

from __future__ import annotations

import datetime as dt
import re

_SPACE = re.compile(r"\s+")


def cell_text(value) -> str:
    """A cell's value as it reads: numbers without a trailing ``.0``, dates in ISO form,
    booleans as yes/no, line breaks and pipes made harmless for a one-line table row."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return ""
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return f"{value:.10g}"
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time(0) else value.isoformat(sep=" ", timespec="minutes")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return str(value)
    return _SPACE.sub(" ", str(value)).strip()


def markdown_table(rows: list[list[str]], caption: str = "") -> str:
    """``rows`` (the first is the header) as a Markdown table, ``caption`` on the line above.
    Empty rows and all-empty columns are left out; short rows are padded."""
    rows = [[cell_text(c).replace("|", "/") for c in row] for row in rows]
    rows = [row for row in rows if any(row)]
    if not rows:
        return ""
    width = max(len(row) for row in rows)
    rows = [row + [""] * (width - len(row)) for row in rows]
    keep = [i for i in range(width) if any(row[i] for row in rows)]
    rows = [[row[i] for i in keep] for row in rows]
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(keep)]
    lines += ["| " + " | ".join(row) + " |" for row in rows[1:]]
    caption = _SPACE.sub(" ", caption).strip()
    return "\n".join(([caption] if caption else []) + lines)


def column_names(header: list) -> list[str]:
    """Names for the columns of a header row; a blank header cell is named by its column
    letter (A, B, …, AA) so that its values are still labelled."""
    names = []
    for index, value in enumerate(header):
        name = cell_text(value)
        names.append(name or column_letter(index))
    return names


def column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def record(names: list[str], values: list) -> str:
    """One row as "Name: value; Name: value" (empty cells left out)."""
    parts = []
    for index, value in enumerate(values):
        text = cell_text(value)
        if not text:
            continue
        name = names[index] if index < len(names) else column_letter(index)
        parts.append(f"{name}: {text}")
    return "; ".join(parts)


def looks_like_header(values: list) -> bool:
    """A header row: at least one cell, every non-empty cell a short text that is not a number."""
    cells = [v for v in values if cell_text(v)]
    return bool(cells) and all(
        isinstance(v, str) and len(v) <= 80 and not re.fullmatch(r"[\d\s.,%$€£¥+\-/:]+", v.strip()) for v in cells
    )
