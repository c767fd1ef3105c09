"""One parser per file format, and the registry that picks one by the file's extension.

Each parser takes the path of a file whose content has already been checked against its
extension (``kbassist.ingestion.sniffing``) and returns a ``ParsedDocument``, or raises
``ParseError``.
"""

from __future__ import annotations

from .html import parse_html
from .markdown import parse_markdown
from .pdf import parse_pdf
from .text import parse_text
from .word import parse_docx

PARSERS = {
    ".pdf": parse_pdf,
    ".docx": parse_docx,
    ".html": parse_html,
    ".htm": parse_html,
    ".md": parse_markdown,
    ".markdown": parse_markdown,
    ".txt": parse_text,
    ".text": parse_text,
}

SUPPORTED_EXTENSIONS = sorted(PARSERS)
