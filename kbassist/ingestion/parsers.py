"""Turn an uploaded file into text blocks that remember where they came from.

``parse()`` picks the parser by the file's extension (``formats``), first checks that the
content is what the extension promises (``sniffing``), and makes sure that no ``ParseError``
names the file by its path on the server, only by its own name. What a parser returns, and
the error, are defined in ``parsed``; text files are decoded by ``decoding``.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from .formats import PARSERS, SUPPORTED_EXTENSIONS, TAKES_PROGRESS
from .parsed import Block, NothingToIndex, ParsedDocument, ParseError
from .sniffing import check_content

__all__ = ["Block", "NothingToIndex", "ParseError", "ParsedDocument", "PARSERS", "SUPPORTED_EXTENSIONS", "parse",
           "without_paths"]

log = logging.getLogger(__name__)


def parse(path: Path, name: str | None = None, progress=None) -> ParsedDocument:
    """Parse the file at ``path``; ``name`` (the uploaded file name) decides the format, and the
    content must agree with it. Every ``ParseError`` names the file at most by its own name.
    ``progress(stage)``, when given, hears what a long parse (pages, OCR) is doing."""
    shown = Path(name or path.name).name
    try:
        return _parse(path, name, progress)
    except ParseError as exc:
        raise type(exc)(without_paths(str(exc), path, shown)) from exc
    except Exception as exc:  # a library failing in a way it does not document: still a readable reason
        log.warning("parsing %s (%s) failed unexpectedly", shown, path, exc_info=True)
        message = f"The file could not be read ({exc.__class__.__name__}: {exc})."
        raise ParseError(without_paths(message, path, shown)) from exc


def _parse(path: Path, name: str | None, progress) -> ParsedDocument:
    suffix = Path(name or path.name).suffix.lower()
    parser = PARSERS.get(suffix)
    if parser is None:
        raise ParseError(
            f"Unsupported file type '{suffix or '(none)'}'. Supported: {', '.join(SUPPORTED_EXTENSIONS)}."
        )
    if not path.exists():
        raise ParseError("The uploaded file is missing from storage.")
    if path.stat().st_size == 0:
        raise NothingToIndex("The file is empty (0 bytes).")
    check_content(path, suffix, SUPPORTED_EXTENSIONS)
    if parser in TAKES_PROGRESS and progress is not None:
        return parser(path, progress=progress)
    return parser(path)


# An absolute path (POSIX or Windows) of two or more parts; group 1 is its last part.
_ABSOLUTE_PATH = re.compile(r"""(?<![\w.~:/\\-])(?:[A-Za-z]:)?[/\\](?:[^\s'"<>|/\\]+[/\\])+([^\s'"<>|/\\]*)""")


def without_paths(message: str, path: Path, shown: str) -> str:
    """``message`` with the file's location on the server replaced by ``shown`` (its own
    name), and any other absolute path by its last part."""
    spellings = {str(path), path.as_posix()}
    try:
        spellings |= {str(path.resolve()), str(path.absolute())}
    except OSError:
        pass
    for spelling in sorted(spellings, key=len, reverse=True):
        if "/" in spelling or "\\" in spelling:  # a bare name is no location
            message = message.replace(spelling, shown)
    return _ABSOLUTE_PATH.sub(lambda m: m.group(1) or "(a folder)", message)
