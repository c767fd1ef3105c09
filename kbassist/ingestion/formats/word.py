"""Word (.docx): paragraphs and tables in document order, gathered under the headings that
the paragraph styles (Title, Heading 1-9) mark."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

from ..parsed import ParsedDocument, ParseError
from .sections import SectionCollector


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
    for child in body.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            paragraph = docx.text.paragraph.Paragraph(child, document)
            text = paragraph.text.strip()
            if not text:
                continue
            style = (paragraph.style.name or "").lower() if paragraph.style is not None else ""
            level = _docx_heading_level(style)
            if level:
                sections.heading(level, text)
                if not title and level == 1:
                    title = text
            else:
                sections.add(f"- {text}" if "list" in style else text)
        elif tag == "tbl":
            table = docx.table.Table(child, document)
            rows = [" | ".join(cell.text.strip() for cell in row.cells) for row in table.rows]
            if rows:
                sections.add("\n".join(rows))
    blocks = sections.flush()
    if not blocks:
        raise ParseError("The Word document contains no text.")
    return ParsedDocument(title, blocks)


def _docx_heading_level(style: str) -> int:
    if style == "title":
        return 1
    match = re.match(r"heading (\d)", style)
    return int(match.group(1)) if match else 0
