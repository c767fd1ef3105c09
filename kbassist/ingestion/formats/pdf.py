"""PDF: one block per page, with running headers and footers removed and the page's first
line as its heading when it looks like one. Encrypted PDFs are opened with the empty password."""

from __future__ import annotations

import re
from pathlib import Path

from kbassist.guardrails.documents import too_large

from ..parsed import Block, ParsedDocument, ParseError
from .sections import tidy


def parse_pdf(path: Path) -> ParsedDocument:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        with open(path, "rb") as stream:  # a stream, so that no error message carries the path
            reader = PdfReader(stream)
            _unlock(reader)
            pages = list(reader.pages)
            if reason := too_large(pages=len(pages)):  # before any text is extracted
                raise ParseError(reason)
            title = ""
            if reader.metadata and reader.metadata.title:
                title = str(reader.metadata.title).strip()
            texts = [tidy(page.extract_text() or "") for page in pages]
    except ParseError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, OSError) as exc:
        raise ParseError(f"The PDF could not be read ({exc.__class__.__name__}: {exc}). Is the file complete?") from exc
    texts = _strip_running_lines(texts)
    blocks = [
        Block(text, page=number, heading=_first_line_heading(text))
        for number, text in enumerate(texts, start=1)
        if text
    ]
    if not pages:
        raise ParseError("The PDF has no pages.")
    if not blocks:
        raise ParseError("No text could be extracted from the PDF (is it a scan without a text layer?).")
    return ParsedDocument(title, blocks, page_count=len(pages))


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


def _strip_running_lines(texts: list[str]) -> list[str]:
    """Drop running headers and footers: first or last lines (digits ignored, so "Page 3 of 8"
    counts as one line) that repeat on more than half of the pages."""
    if len(texts) < 3:
        return texts
    from collections import Counter

    def shape(line):
        return re.sub(r"\d+", "#", line.strip().lower())

    edges = Counter()
    for text in texts:
        lines = [line for line in text.split("\n") if line.strip()]
        for line in {shape(x) for x in lines[:1] + lines[-1:]}:
            edges[line] += 1
    running = {line for line, count in edges.items() if count > len(texts) / 2}
    result = []
    for text in texts:
        lines = text.split("\n")
        while lines and (not lines[0].strip() or shape(lines[0]) in running):
            lines.pop(0)
        while lines and (not lines[-1].strip() or shape(lines[-1]) in running):
            lines.pop()
        result.append("\n".join(lines).strip())
    return result


def _first_line_heading(text: str) -> str:
    """A page's first line, if it looks like a heading (short, no final full stop)."""
    first = text.split("\n", 1)[0].strip()
    if 2 < len(first) <= 80 and not first.endswith((".", ",", ";", "。", "，")):
        return first
    return ""
