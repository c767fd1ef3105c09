"""PDF: one block per page, with running headers and footers removed, the page's first line as
its heading when it looks like one, and tables kept whole as Markdown tables.

Pages are read a window of ``KB_PDF_WINDOW_PAGES`` at a time, and what the PDF library cached
for a window is dropped before the next one, so that memory stays bounded on a 2,000-page
file. Encrypted PDFs are opened with the empty password. A page without a text layer (a scan)
is rendered and read by OCR (``ocr``), keeping its page number.

Tables: pypdf's layout mode keeps the columns of a page apart; runs of lines that split into
the same aligned columns are a table, which replaces its rows in the page's plain text as one
Markdown table under its caption or the nearest heading above it (``tables``).
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from django.conf import settings

from kbassist.guardrails.documents import too_large

from .. import ocr
from ..parsed import Block, NothingToIndex, ParsedDocument, ParseError
from .sections import tidy
from .tables import markdown_table

def parse_pdf(path: Path, progress=None) -> ParsedDocument:
    """``progress(stage)``, when given, is told what is being done ("OCR, page 3 of 12")."""
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    read_errors = (PyPdfError, ValueError, KeyError, TypeError, AttributeError, OSError, RecursionError)
    plain: list[str] = []
    layout: list[str] = []
    scanned: list[int] = []  # 0-based numbers of pages without a text layer that hold images
    ocr_pages = 0
    window = max(1, settings.KB_PDF_WINDOW_PAGES)
    try:
        with open(path, "rb") as stream:  # a stream, so that no error message carries the path
            reader = PdfReader(stream)
            _unlock(reader)
            count = len(reader.pages)
            if reason := too_large(pages=count):  # before any text is extracted
                raise ParseError(reason)
            title = ""
            if reader.metadata and reader.metadata.title:
                title = str(reader.metadata.title).strip()
            renderer = None
            try:
                for start in range(0, count, window):
                    if progress:
                        progress(f"reading pages {start + 1}-{min(count, start + window)} of {count}")
                    to_read = []  # pages of this window without a text layer, to be read by OCR
                    for number in range(start, min(count, start + window)):
                        page = reader.pages[number]
                        text = tidy(page.extract_text() or "")
                        plain.append(text)
                        layout.append(_layout_text(page) if text else "")
                        if not text and _has_images(page):
                            scanned.append(number)
                            to_read.append(number)
                    _forget_window(reader)
                    if to_read and ocr.unavailable_reason() is None:
                        renderer = renderer or _Renderer(path, reader)
                        batch = ocr.workers()  # rendered pages held at once: one per OCR process
                        for at in range(0, len(to_read), batch):
                            numbers = to_read[at : at + batch]
                            if progress:
                                progress(f"OCR, page {numbers[0] + 1} of {count}")
                            texts = ocr.read_images(renderer.image(number) for number in numbers)
                            for number, text in zip(numbers, texts):
                                plain[number] = tidy(text)
                            ocr_pages += len(numbers)
            finally:
                if renderer is not None:
                    renderer.close()
    except ParseError:
        raise
    except read_errors as exc:
        raise ParseError(f"The PDF could not be read ({exc.__class__.__name__}: {exc}). Is the file complete?") from exc
    if not count:
        raise NothingToIndex("The PDF has no pages.")
    running = _running_lines(plain)
    blocks = []
    for number, (text, laid_out) in enumerate(zip(plain, layout), start=1):
        text = _without_running_lines(text, running)
        if laid_out:
            text = _with_tables(text, laid_out, running)
        if text:
            blocks.append(Block(text, page=number, heading=_first_line_heading(text)))
    if not blocks:
        if scanned:
            ocr.require("This PDF is a scan without a text layer")
            raise NothingToIndex("OCR found no text on the PDF's scanned pages.")
        raise NothingToIndex("The PDF's pages are blank: there is no text to index.")
    return ParsedDocument(title, blocks, page_count=count, ocr_pages=ocr_pages)


def _layout_text(page) -> str:
    try:
        return page.extract_text(extraction_mode="layout") or ""
    except Exception:  # layout mode is only used to find tables: without it the page is still read
        return ""


def _has_images(page) -> bool:
    """Whether the page draws an image (directly or in a form): a scan, rather than a blank page."""
    def walk(resources, depth):
        try:
            xobjects = resources.get("/XObject") if resources else None
            xobjects = xobjects.get_object() if xobjects is not None else {}
            for ref in xobjects.values():
                xobject = ref.get_object()
                subtype = xobject.get("/Subtype")
                if subtype == "/Image":
                    return True
                if subtype == "/Form" and depth < 3 and walk(xobject.get("/Resources"), depth + 1):
                    return True
        except Exception:
            return False
        return False

    try:
        resources = page.get("/Resources")
        return walk(resources.get_object() if resources is not None else None, 0)
    except Exception:
        return False


def _forget_window(reader) -> None:
    """Drop what pypdf cached while reading a window of pages (decoded content streams, fonts,
    images): it keeps every object it has resolved for the life of the reader. The page tree
    (``flattened_pages``) is kept; anything needed again is read from the file again."""
    pages = {id(page) for page in (reader.flattened_pages or [])}
    cache = getattr(reader, "resolved_objects", None)
    if isinstance(cache, dict):
        for key in [k for k, v in cache.items() if id(v) not in pages]:
            del cache[key]


class _Renderer:
    """Renders pages of the same file as images for OCR (pypdfium2)."""

    def __init__(self, path: Path, reader):
        import pypdfium2 as pdfium

        try:
            self.document = pdfium.PdfDocument(str(path), password="" if reader.is_encrypted else None)
        except pdfium.PdfiumError as exc:
            raise ParseError(f"The scanned PDF could not be rendered for OCR ({exc}).") from exc

    def image(self, number: int):
        page = self.document[number]
        try:
            bitmap = page.render(scale=settings.KB_OCR_DPI / 72, grayscale=True)
            image = bitmap.to_pil()
            bitmap.close()
            return image
        finally:
            page.close()

    def close(self):
        self.document.close()


def _unlock(reader) -> None:
    """Open an encrypted PDF with the empty password, as PDF viewers do: that is how PDFs that
    only restrict printing or copying (an owner password) are written. A PDF that needs a
    password to be opened at all (a user password) cannot be read."""
    from pypdf import PasswordType
    from pypdf.errors import DependencyError, PyPdfError

    if not reader.is_encrypted:
        return
    try:
        unlocked = reader.decrypt("") != PasswordType.NOT_DECRYPTED
    except DependencyError:
        raise ParseError(
            "The PDF is encrypted with AES, and the server lacks the 'cryptography' package needed to open it."
        ) from None
    except (PyPdfError, ValueError, KeyError, TypeError, NotImplementedError):
        unlocked = False
    if not unlocked:
        raise ParseError(
            "The PDF is password-protected: it cannot be opened without its password. "
            "Upload a copy without a password."
        )


def _shape(line: str) -> str:
    return re.sub(r"\d+", "#", line.strip().lower())


_MAX_RUNNING_LINES = 3


def _running_lines(texts: list[str]) -> set[str]:
    """Running headers and footers: first or last lines (digits ignored, so "Page 3 of 8"
    counts as one line) that repeat on more than half of the pages (of three or more)."""
    if len(texts) < 3:
        return set()
    edges = Counter()
    for text in texts:
        lines = [line for line in text.split("\n") if line.strip()]
        for line in {_shape(x) for x in lines[:1] + lines[-1:]}:
            edges[line] += 1
    return {line for line, count in edges.items() if count > len(texts) / 2}


def _without_running_lines(text: str, running: set[str]) -> str:
    lines = [line for line in text.split("\n") if line.strip()]
    for _ in range(_MAX_RUNNING_LINES):  # a header or footer is a line or two, never the page
        if lines and _shape(lines[0]) in running:
            lines.pop(0)
        if lines and _shape(lines[-1]) in running:
            lines.pop()
    return "\n".join(lines).strip()


def _first_line_heading(text: str) -> str:
    """A page's first line, if it looks like a heading (short, no final full stop)."""
    first = text.split("\n", 1)[0].strip()
    if 2 < len(first) <= 80 and not first.endswith((".", ",", ";", "。", "，")) and not first.startswith("|"):
        return first
    return ""


# --- tables -------------------------------------------------------------------------------

_CELL = re.compile(r"\S+(?: {1,2}\S+)*")  # a cell: words apart by at most two spaces
_CAPTION = re.compile(r"^(?:table|tab\.|表)\s*[\dA-Z一二三四五六七八九十]", re.I)
_SPACE = re.compile(r"\s+")


def _cells(line: str) -> list[tuple[int, str]]:
    return [(m.start(), m.group()) for m in _CELL.finditer(line.replace("\t", "    "))]


def _find_tables(layout: str) -> list[tuple[int, list[list[str]]]]:
    """Tables in a page's layout text: (index of the line before the table, rows of cells)."""
    lines = layout.split("\n")
    tables = []
    i = 0
    while i < len(lines):
        first = _cells(lines[i])
        if len(first) < 2:
            i += 1
            continue
        columns = [start for start, _ in first]
        rows = [[text for _, text in first]]
        j = i + 1
        while j < len(lines):
            cells = _cells(lines[j])
            if len(cells) != len(columns) or any(abs(s - c) > 2 for (s, _), c in zip(cells, columns)):
                break
            rows.append([text for _, text in cells])
            j += 1
        if len(rows) >= 3 and _table_like(rows):
            tables.append((i - 1, rows))
            i = j
        else:
            i += 1
    return tables


def _table_like(rows: list[list[str]]) -> bool:
    """Columns of prose (a two-column page) also align; a table has a column of short cells."""
    columns = list(zip(*rows))
    return any(max(len(cell) for cell in column) <= 30 for column in columns) and not all(
        rows[k][-1].endswith("-") for k in range(len(rows))
    )


def _with_tables(text: str, layout: str, running: set[str]) -> str:
    """``text`` (the page's plain text) with the rows of each table found in ``layout``
    replaced by one Markdown table, captioned. A table whose rows cannot be found line for
    line in the plain text is left as it was."""
    layout_lines = layout.split("\n")
    for before, rows in _find_tables(layout):
        lines = text.split("\n")
        flat = [_SPACE.sub(" ", line).strip() for line in lines]
        wanted = [" ".join(row) for row in rows]
        at = next((k for k in range(len(flat) - len(wanted) + 1) if flat[k : k + len(wanted)] == wanted), None)
        if at is None:
            continue
        caption = _caption(layout_lines, before, running)
        table = markdown_table(rows, caption)
        text = "\n".join(lines[:at] + ["", table, ""] + lines[at + len(wanted) :])
    return tidy(text)


def _caption(lines: list[str], before: int, running: set[str]) -> str:
    """The caption of a table whose first row follows line ``before``: a "Table 3: …" line
    right above it, otherwise the nearest heading-like line above it (a paragraph of one
    short line without a final full stop), otherwise nothing."""
    k = before
    while k >= 0 and not lines[k].strip():
        k -= 1
    if k >= 0 and _CAPTION.match(lines[k].strip()):
        return lines[k].strip()
    while k >= 0:
        end = k
        while k >= 0 and lines[k].strip():
            k -= 1
        paragraph = [line.strip() for line in lines[k + 1 : end + 1]]
        if len(paragraph) == 1:
            line = _SPACE.sub(" ", paragraph[0])
            if _shape(line) not in running and len(line) <= 80 and not line.endswith((".", ",", ";", ":", "。", "，")):
                return line
        while k >= 0 and not lines[k].strip():
            k -= 1
    return ""
