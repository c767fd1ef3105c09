"""Units of a source: the pieces of evidence a text is split into (:func:`split_units`).
A sentence of a paragraph, a list item, or a Markdown table row (also the ``a | b`` rows the
DOCX and HTML parsers write). A table row keeps its table's header row as *context* ("Years
of service | Hours per pay period"), and a list item keeps the sentence that leads into its
list ("Annual leave accrues based on how long you've worked:") or its parent item, so a row
read alone still says what it is about; rows and items get the condition their label states
("Fewer than 3 years"). Each unit knows its offsets in the source text, so the UI can
highlight it; a short labelled value ends the sentence it completes ("… will be quicker.
SLA: 7 days."). :func:`sentences` is the sentence splitter (common abbreviations kept whole).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from kbassist.chat.facts.conditions import Condition, parse_condition, quarter_condition, scope_condition
from kbassist.chat.facts.markup import mask, plain
from kbassist.chat.facts.numbers import EN_NUMBER, ZH_CHARS
from kbassist.chat.facts.quantities import EN_UNIT
from kbassist.chat.facts.spans import split_at, strip_span
from kbassist.text import CJK, sentence_spans


@dataclass
class Unit:
    """One piece of evidence inside a source: ``text[start:end]`` of that source."""

    source_n: int
    start: int
    end: int
    text: str
    kind: str = "sentence"  # sentence | item | row
    context: str = ""  # a table's header row, a list's lead-in sentence or parent item
    label: str = ""  # the condition part of a row or item: its first cell, "Fewer than 3 years"
    label_span: tuple[int, int] | None = None  # offsets of the label in the source text
    group: int = -1  # rows of one table / items of one list share a group
    heading: str = ""
    condition: Condition = field(default_factory=Condition)
    tokens: frozenset = frozenset()
    context_tokens: frozenset = frozenset()
    heading_tokens: frozenset = frozenset()
    label_tokens: frozenset = frozenset()


_LIST_ITEM = re.compile(r"^([ \t]*)(?:[-*+•▪◦]|\d{1,2}[.)])[ \t]+")
_HEADING_LINE = re.compile(r"^[ \t]{0,3}#{1,6}[ \t]+")
_TABLE_SEPARATOR = re.compile(r"^[\s|:\-–]+$")
_FENCE = re.compile(r"^[ \t]*(```|~~~)")
_LONG_ITEM = 300  # characters: a longer list item is split into its sentences
_LINE_BREAK = re.compile(r"\n")


_ALWAYS_ABBREVIATION = re.compile(r"(?:^|[\s(])(?:St|Dr|Mr|Mrs|Ms|Mx|No|Nos|vs|e\.g|i\.e|Ste|Ave|Blvd|Rd|[A-Z])\.$")
_MAYBE_ABBREVIATION = re.compile(r"(?:^|[\s(])(?:etc|approx|Inc|Jr|Sr|Dept|U\.S|D\.C|a\.m|p\.m|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)\.$")


def sentences(text: str) -> list[tuple[int, int]]:
    """``kbassist.text.sentence_spans``, without breaking after common abbreviations ("1800 F
    St. NW", "e.g. a laptop", "Washington, D.C. office")."""
    spans: list[tuple[int, int]] = []
    for start, end in sentence_spans(text):
        if spans:
            previous = text[spans[-1][0] : spans[-1][1]]
            following = text[start:end]
            if "\n" not in text[spans[-1][1] : start] and (
                _ALWAYS_ABBREVIATION.search(previous)
                or (_MAYBE_ABBREVIATION.search(previous) and re.match(r"[a-z0-9(]", following))
            ):
                spans[-1] = (spans[-1][0], end)
                continue
        spans.append((start, end))
    return spans


_FRAGMENT = re.compile(r"^([^\W\d_][^\W_]*(?:[ /&'-][^\W_]+){0,2})\s*[:：]\s*(\S.*)$")  # "SLA: 7 days.", "**Cost**: $50."
_FRAGMENT_CHARS = 40
_DIGITS = re.compile(rf"\d|[{ZH_CHARS}]")


def _states_value(text: str) -> bool:
    return bool(_DIGITS.search(text) or EN_NUMBER.search(text))


def _with_fragments(block: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """``spans`` with each short labelled value that completes the sentence before it joined to
    that sentence ("… then People and Finance approvals are required, but the decision will be
    quicker. SLA: 7 days."): on its own it shares no word with the question it answers ("how long
    should Finance take?"), so it was never the evidence. Joined only where that sentence states
    no value itself and the label names no condition of its own ("Q4: $700K." after a sentence
    on Q3, "Berlin: EUR 30." after Shanghai's figure are alternatives, not completions)."""
    out: list[tuple[int, int]] = []
    for a, b in spans:
        piece = plain(block[a:b]).strip()
        labelled = _FRAGMENT.match(piece) if len(piece) <= _FRAGMENT_CHARS else None
        if (
            out
            and labelled
            and _states_value(labelled.group(2))
            and not _states_value(plain(block[out[-1][0] : out[-1][1]]))
            and not parse_condition(labelled.group(1), "label")
            and not scope_condition(labelled.group(1))
        ):
            out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out


def _cells(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Spans of the cells of a table row ``text[start:end]`` (outer pipes dropped)."""
    line = text[start:end]
    bounds = [i for i, c in enumerate(line) if c == "|" and (i == 0 or line[i - 1] != "\\")]
    edges = [-1, *bounds, len(line)]
    cells = []
    for a, b in zip(edges, edges[1:]):
        s, e = strip_span(text, start + a + 1, start + b)
        if e > s:
            cells.append((s, e))
    return cells


def _is_table_line(line: str) -> bool:
    stripped = line.strip()
    return stripped.startswith("|") or (stripped.count("|") >= 1 and " | " in stripped)


def split_units(text: str, source_n: int = 1, heading: str = "") -> list[Unit]:
    """The units of one source, in order (see the module docstring)."""
    masked = mask(text)
    lines = split_at(masked, _LINE_BREAK)  # each line, the line break excluded
    units: list[Unit] = []
    group_counter = [0]
    current_heading = heading
    paragraph: list[tuple[int, int]] = []
    last_sentence = ""  # the lead-in for a list or table that follows
    i = 0

    def new_group() -> int:
        group_counter[0] += 1
        return source_n * 100_000 + group_counter[0]

    def flush_paragraph():
        nonlocal paragraph, last_sentence
        if not paragraph:
            return
        start, end = paragraph[0][0], paragraph[-1][1]
        block = masked[start:end].replace("\n", " ")
        for a, b in _with_fragments(block, sentences(block)):
            _add(units, text, masked, source_n, start + a, start + b, "sentence", heading=current_heading)
            last_sentence = plain(text[start + a : start + b])
        paragraph = []

    while i < len(lines):
        start, end = lines[i]
        line = masked[start:end]
        if not line.strip():
            flush_paragraph()
            i += 1
            continue
        if _FENCE.match(line):  # a code block: kept whole as paragraphs
            flush_paragraph()
            j = i + 1
            while j < len(lines) and not _FENCE.match(masked[lines[j][0] : lines[j][1]]):
                j += 1
            i = j + 1
            continue
        if _HEADING_LINE.match(line):
            flush_paragraph()
            title = plain(re.sub(r"^\s*#+\s*", "", text[start:end]))
            current_heading = f"{heading} › {title}" if heading else title
            last_sentence = title
            i += 1
            continue
        if _is_table_line(line):
            flush_paragraph()
            j = i
            while j < len(lines) and _is_table_line(masked[lines[j][0] : lines[j][1]]):
                j += 1
            block = lines[i:j]
            if len(block) >= 2 or line.strip().startswith("|"):
                _add_table(units, text, masked, source_n, block, last_sentence, current_heading, new_group())
                i = j
                continue
            paragraph.append((start, end))
            i += 1
            continue
        item = _LIST_ITEM.match(line)
        if item:
            flush_paragraph()
            i = _add_list(units, text, masked, source_n, lines, i, last_sentence, current_heading, new_group)
            continue
        paragraph.append((start, end))
        i += 1
    flush_paragraph()
    # a place of work or a quarter stated by the unit, else its section's ("Working abroad");
    # a quarter also by a list's lead-in or a table's header ("Q3:")
    for unit in units:
        if unit.kind == "sentence":
            unit.condition = scope_condition(plain(unit.text))
        elif unit.context:
            unit.condition = unit.condition.filled_from(quarter_condition(unit.context))
        unit.condition = unit.condition.filled_from(scope_condition(unit.heading))
    return units


def _add(units, text, masked, source_n, start, end, kind, *, context="", label_span=None, group=-1, heading=""):
    start, end = strip_span(text, start, end)
    if end <= start or not re.search(r"[^\W_]", masked[start:end]):
        return None
    label = text[label_span[0] : label_span[1]] if label_span else ""
    unit = Unit(source_n, start, end, text[start:end], kind, context, plain(label), label_span, group, heading)
    units.append(unit)
    return unit


def _add_table(units, text, masked, source_n, block, lead_in, heading, group):
    separator = next((k for k, (s, e) in enumerate(block) if _TABLE_SEPARATOR.match(masked[s:e]) and "-" in masked[s:e]), None)
    header_index = None
    if separator is not None and separator > 0:
        header_index = separator - 1
    elif separator is None and not re.search(r"\d", masked[block[0][0] : block[0][1]]):
        header_index = 0  # DOCX/HTML tables: the first row, when it holds no numbers, is the header
    header_cells = []
    if header_index is not None:
        s, e = block[header_index]
        header_cells = [plain(text[a:b]) for a, b in _cells(text, s, e)]
    header = " | ".join(c for c in header_cells if c)
    context = " — ".join(p for p in (lead_in, header) if p)
    for k, (s, e) in enumerate(block):
        if k == separator or k == header_index:
            continue
        cells = _cells(text, s, e)
        if not cells:
            continue
        label_cells = [cells[0]]
        for c, (a, b) in enumerate(cells[1:], start=1):  # other condition columns, named by the header
            if c < len(header_cells) and re.search(r"years? of service|service|tenure|grade|location|city|employee type|employment|schedule|length of (?:trip|travel|stay)|trip", header_cells[c], re.I):
                label_cells.append((a, b))
        unit = _add(units, text, masked, source_n, s, e, "row", context=context, label_span=cells[0], group=group, heading=heading)
        if unit is not None:
            label_text = " ".join(plain(text[a:b]) for a, b in label_cells)
            header_label = " ".join(header_cells[: len(label_cells)]) if header_cells else ""
            unit.label = label_text
            unit.condition = parse_condition(_with_header_unit(label_text, header_label), "label", context=f"{header_label} {context} {heading}")
            if len(cells) > 1 and not unit.condition:
                # a value cell may still state the condition ("Employees with fewer than 3 years")
                unit.condition = parse_condition(plain(text[s:e]), "prose", context=f"{context} {heading}")


_HEADER_UNIT = re.compile(r"\b(years?|months?|weeks?|days?|nights?)\b", re.I)


def _with_header_unit(label: str, header: str) -> str:
    """A label cell with bare numbers ("3 to 15") under a header naming the unit ("Years of
    service") reads as "3 to 15 years"."""
    unit = _HEADER_UNIT.search(header)
    if unit and re.search(r"\d", label) and not EN_UNIT.search(label) and not re.search(f"[{CJK}]", label):
        return f"{label} {unit.group(1).lower()}"
    return label


_LABEL_SPLIT = re.compile(r"^\s*(?:\*\*|__)?(?P<label>[^:\n]{1,80}?)(?:\*\*|__)?\s*(?::|：|\s[–—-]\s)")


def _add_list(units, text, masked, source_n, lines, i, lead_in, heading, new_group) -> int:
    """Adds the items of the list starting at line ``i``; returns the first line after it."""
    stack: list[tuple[int, int, Unit | None, int]] = []  # (indent, group, unit, item start)
    while i < len(lines):
        start, end = lines[i]
        line = masked[start:end]
        item = _LIST_ITEM.match(line)
        if not item:
            break
        indent = len(item.group(1).expandtabs(4))
        j = i + 1
        item_end = end
        while j < len(lines):  # continuation lines: indented, not a new item
            s, e = lines[j]
            nxt = masked[s:e]
            if not nxt.strip() or _LIST_ITEM.match(nxt) or _HEADING_LINE.match(nxt) or _is_table_line(nxt):
                break
            if len(nxt) - len(nxt.lstrip()) < 2:
                break
            item_end = e
            j += 1
        while stack and stack[-1][0] > indent:
            stack.pop()
        if stack and stack[-1][0] == indent:
            group = stack[-1][1]
            stack.pop()
        else:
            group = new_group()
        parent = stack[-1][2] if stack else None
        context = plain(parent.text) if parent is not None else lead_in
        content_start = start + item.end()
        label_match = _LABEL_SPLIT.match(masked[content_start:item_end])
        label_span = None
        if label_match and len(label_match.group("label").split()) <= 8 and not re.search(r"[.!?。]\s", label_match.group("label")):
            a = content_start + label_match.start("label")
            label_span = (a, a + len(label_match.group("label").rstrip()))
        first = None
        if item_end - content_start > _LONG_ITEM:
            block = masked[content_start:item_end].replace("\n", " ")
            for a, b in sentences(block):
                unit = _add(units, text, masked, source_n, content_start + a, content_start + b, "item", context=context, label_span=label_span if first is None else None, group=group, heading=heading)
                first = first or unit
                if unit is not None:
                    unit.label = plain(text[label_span[0] : label_span[1]]) if label_span else ""
        else:
            first = _add(units, text, masked, source_n, content_start, item_end, "item", context=context, label_span=label_span, group=group, heading=heading)
        parent_condition = parent.condition if parent is not None else Condition()
        item_units = [u for u in units if u.group == group and u.start >= content_start and u.end <= item_end]
        for unit in item_units:
            if label_span:
                own = parse_condition(unit.label, "label", context=f"{context} {heading}")
            else:
                own = parse_condition(plain(unit.text), "prose", context=f"{context} {heading}")
            unit.condition = own.filled_from(parent_condition)
        stack.append((indent, group, first, content_start))
        i = j
        while i < len(lines) and not masked[lines[i][0] : lines[i][1]].strip():
            # a blank line inside a list: the list goes on if an item follows
            if i + 1 < len(lines) and _LIST_ITEM.match(masked[lines[i + 1][0] : lines[i + 1][1]]):
                i += 1
            else:
                break
    return i
