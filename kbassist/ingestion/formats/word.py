"""Word (.docx): paragraphs and tables in document order, gathered under the headings that
the paragraph styles (Title, Heading 1-9) mark. A table is one Markdown table under its
caption (a Caption-styled or "Table N" paragraph right above it) or else its section's
heading, so that the chunker keeps it whole."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

from ..parsed import NothingToIndex, ParsedDocument, ParseError
from .sections import SectionCollector
from .tables import markdown_table

_CAPTION = re.compile(r"^(?:table|tab\.|表)\s*[\dA-Z一二三四五六七八九十]", re.I)


def parse_docx(path: Path) -> ParsedDocument:
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        with open(path, "rb") as stream:  # a stream, so that no error message carries the path
            document = docx.Document(stream)
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise ParseError(f"The Word file could not be opened ({exc}). Only .docx (not old .doc) is supported.") from exc
    title = (document.core_properties.title or "").strip()
    sections = SectionCollector()
    body = document.element.body
    caption = ""  # a caption paragraph waiting to see whether a table follows it
    for child in body.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            paragraph = docx.text.paragraph.Paragraph(child, document)
            text = paragraph.text.strip()
            if not text:
                continue
            if caption:
                sections.add(caption)
                caption = ""
            style = (paragraph.style.name or "").lower() if paragraph.style is not None else ""
            level = _docx_heading_level(style)
            if level:
                sections.heading(level, text)
                if not title and level == 1:
                    title = text
            elif style == "caption" or _CAPTION.match(text):
                caption = text
            else:
                sections.add(f"- {text}" if "list" in style else text)
        elif tag == "tbl":
            table = docx.table.Table(child, document)
            rows = []
            for row in table.rows:
                cells, seen = [], set()
                for cell in row.cells:  # a merged cell is listed once per grid column it spans
                    if id(cell._tc) not in seen:
                        seen.add(id(cell._tc))
                        cells.append(" ".join(cell.text.split()))
                rows.append(cells)
            text = markdown_table(rows, caption or _last_heading(sections))
            caption = ""
            if text:
                sections.add(text)
    if caption:
        sections.add(caption)
    blocks = sections.flush()
    if not blocks:
        raise NothingToIndex("The Word document holds no text: nothing to index.")
    return ParsedDocument(title, blocks)


def _docx_heading_level(style: str) -> int:
    if style == "title":
        return 1
    match = re.match(r"heading (\d)", style)
    return int(match.group(1)) if match else 0


def _last_heading(sections: SectionCollector) -> str:
    return sections.trail.levels[-1][1] if sections.trail.levels else ""
