"""One parser per file format, and the registry that picks one by the file's extension.

Each parser takes the path of a file whose content has already been checked against its
extension (``kbassist.ingestion.sniffing``) and returns a ``ParsedDocument``, or raises
``ParseError`` (``NothingToIndex`` for a readable file with nothing in it to index). Parsers
in ``TAKES_PROGRESS`` also take ``progress=``, a function told what they are doing.
"""

from __future__ import annotations

from functools import partial

from .html import parse_html
from .image import parse_image
from .legacy import parse_legacy
from .mail import parse_eml
from .markdown import parse_markdown
from .pdf import parse_pdf
from .records import parse_csv
from .slides import parse_pptx
from .spreadsheet import parse_xlsx
from .text import parse_text
from .word import parse_docx

PARSERS = {
    ".pdf": parse_pdf,
    ".docx": parse_docx,
    ".xlsx": parse_xlsx,
    ".xlsm": parse_xlsx,
    ".pptx": parse_pptx,
    ".html": parse_html,
    ".htm": parse_html,
    ".md": parse_markdown,
    ".markdown": parse_markdown,
    ".txt": parse_text,
    ".text": parse_text,
    ".csv": parse_csv,
    ".eml": parse_eml,
    ".png": parse_image,
    ".jpg": parse_image,
    ".jpeg": parse_image,
    ".tif": parse_image,
    ".tiff": parse_image,
    ".doc": partial(parse_legacy, suffix=".doc"),
    ".xls": partial(parse_legacy, suffix=".xls"),
    ".ppt": partial(parse_legacy, suffix=".ppt"),
}
TAKES_PROGRESS = {parse_pdf, parse_image}

SUPPORTED_EXTENSIONS = sorted(PARSERS)

