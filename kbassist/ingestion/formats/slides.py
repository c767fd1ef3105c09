"""PowerPoint (.pptx): each slide a section under its title (or "Slide N"), with the text of
its shapes in reading order, its tables as Markdown tables and its speaker notes. The slide
number is the block's page, so that a citation says which slide."""

from __future__ import annotations

import zipfile
from pathlib import Path

from ..parsed import Block, NothingToIndex, ParsedDocument, ParseError
from .sections import tidy
from .tables import markdown_table


def parse_pptx(path: Path) -> ParsedDocument:
    import pptx
    from pptx.exc import PackageNotFoundError

    try:
        with open(path, "rb") as stream:  # a stream, so that no error message carries the path
            presentation = pptx.Presentation(stream)
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise ParseError(f"The PowerPoint file could not be opened ({exc.__class__.__name__}: {exc}).") from exc
    title = (presentation.core_properties.title or "").strip()
    blocks = []
    for number, slide in enumerate(presentation.slides, start=1):
        heading = ""
        title_shape = slide.shapes.title
        if title_shape is not None and title_shape.has_text_frame:
            heading = " ".join(title_shape.text_frame.text.split())
        parts = []
        for shape in sorted(slide.shapes, key=lambda s: ((s.top or 0), (s.left or 0))):
            if title_shape is not None and shape.shape_id == title_shape.shape_id:
                continue
            parts.extend(_shape_texts(shape))
        if slide.has_notes_slide:
            notes = tidy(slide.notes_slide.notes_text_frame.text) if slide.notes_slide.notes_text_frame else ""
            if notes:
                parts.append(f"Speaker notes: {notes}")
        text = tidy("\n\n".join(p for p in parts if p.strip()))
        if text or heading:
            blocks.append(Block(text or heading, page=number, heading=heading or f"Slide {number}"))
        if not title and heading and number == 1:
            title = heading
    if not blocks:
        raise NothingToIndex("The presentation's slides hold no text.")
    return ParsedDocument(title, blocks, page_count=len(presentation.slides))


def _shape_texts(shape) -> list[str]:
    from pptx.enum.shapes import MSO_SHAPE_TYPE

    if shape.shape_type == MSO_SHAPE_TYPE.GROUP:
        return [text for child in shape.shapes for text in _shape_texts(child)]
    if getattr(shape, "has_table", False) and shape.has_table:
        rows = [[cell.text for cell in row.cells] for row in shape.table.rows]
        return [markdown_table(rows)]
    if getattr(shape, "has_text_frame", False) and shape.has_text_frame:
        lines = []
        for paragraph in shape.text_frame.paragraphs:
            text = "".join(run.text for run in paragraph.runs).strip() or paragraph.text.strip()
            if text:
                lines.append(("  " * paragraph.level) + "- " + text if paragraph.level else text)
        return ["\n".join(lines)]
    return []
