"""Turn an uploaded file into text blocks that remember where they came from.

Each parser returns a ``ParsedDocument``: a title and a list of ``Block``s, each a piece of
text with its page number (for paged formats) and its section heading path. Anything that
cannot be read raises ``ParseError`` with a sentence an admin can act on; it names the file
at most by its own name, never by a path on the server.

Before a parser runs, the file's content is identified (puremagic, plus a look inside ZIP
packages), so that an HTML page saved as ``.pdf`` or a ZIP archive renamed ``.docx`` is
reported as such instead of failing deep inside a parser. Text is decoded as UTF-8 when it
is UTF-8, otherwise with charset-normalizer; Markdown front matter is read by
python-frontmatter.
"""

from __future__ import annotations

import logging
import re
import zipfile
from pathlib import Path

from .decoding import decode as _decode
from .formats.sections import HeadingTrail, SectionCollector
from .formats.sections import tidy as _tidy
from .parsed import Block, ParsedDocument, ParseError
from .sniffing import check_content

log = logging.getLogger(__name__)


# --- PDF ------------------------------------------------------------------------------------------
def parse_pdf(path: Path) -> ParsedDocument:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        with open(path, "rb") as stream:  # a stream, so that no error message carries the path
            reader = PdfReader(stream)
            _unlock(reader)
            pages = list(reader.pages)
            title = ""
            if reader.metadata and reader.metadata.title:
                title = str(reader.metadata.title).strip()
            texts = [_tidy(page.extract_text() or "") for page in pages]
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


# --- Word -----------------------------------------------------------------------------------------
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


# --- HTML -----------------------------------------------------------------------------------------
_HTML_BLOCKS = ["h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "pre", "blockquote", "tr", "dt", "dd"]


# How browsers read some <meta charset> labels (WHATWG Encoding Standard): Latin-1 and ASCII
# as windows-1252, GB2312 and GBK as their superset GB18030; a UTF-16 label in a page that was
# readable as ASCII is a mistake, so it is ignored.
_HTML_CHARSET_LABELS = {
    "iso-8859-1": "cp1252", "latin-1": "cp1252", "latin1": "cp1252", "us-ascii": "cp1252", "ascii": "cp1252",
    "gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030",
    "utf-16": None, "utf-16le": None, "utf-16be": None,
}


def _decode_html(data: bytes) -> str:
    from bs4.dammit import EncodingDetector

    declared = EncodingDetector.find_declared_encoding(data[:4096], is_html=True, search_entire_document=False)
    if declared:
        declared = _HTML_CHARSET_LABELS.get(declared.lower().replace("_", "-"), declared)
    return _decode(data, declared)


def parse_html(path: Path) -> ParsedDocument:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(_decode_html(path.read_bytes()), "html.parser")
    for tag in soup(["script", "style", "noscript", "template", "nav", "footer", "header", "svg", "form"]):
        tag.decompose()
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    root = soup.body or soup
    sections = SectionCollector()

    for element in root.find_all(_HTML_BLOCKS):
        if element.find_parent(_HTML_BLOCKS[6:]) is not None and element.name not in ("tr",):
            continue  # its text is part of an enclosing block already
        if element.name == "tr" and element.find_parent("tr") is not None:
            continue
        if element.name[0] == "h" and element.name[1:].isdigit():
            text = element.get_text(" ", strip=True)
            sections.heading(int(element.name[1]), text)
            title = title or text
            continue
        if element.name == "tr":
            text = " | ".join(cell.get_text(" ", strip=True) for cell in element.find_all(["td", "th"]))
        elif element.name == "pre":
            text = element.get_text()
        else:
            text = element.get_text(" ", strip=True)
        if text.strip():
            sections.add(f"- {text}" if element.name == "li" else text)
    blocks = sections.flush()
    if not blocks:
        text = _tidy(root.get_text("\n", strip=True))
        if not text:
            raise ParseError("The HTML page contains no text.")
        blocks = [Block(text)]
    return ParsedDocument(title, blocks)


# --- Markdown ---------------------------------------------------------------------------------------
_TEMPLATE_TAGS = re.compile(r"{%.*?%}|{{.*?}}", re.S)  # Jekyll/Liquid tags carry no knowledge


def parse_markdown(path: Path) -> ParsedDocument:
    from markdown_it import MarkdownIt

    metadata, source = _front_matter(_decode(path.read_bytes()))
    title = metadata.get("title")
    title = "" if title is None or isinstance(title, (bool, dict, list)) else str(title).strip()
    source = _TEMPLATE_TAGS.sub("", source)
    lines = source.splitlines()
    trail = HeadingTrail()
    blocks: list[Block] = []
    start = 0  # first line of the current section's body

    def flush(end: int):
        text = _tidy("\n".join(lines[start:end]))
        if text:
            blocks.append(Block(text, heading=trail.path))

    tokens = MarkdownIt("commonmark").enable("table").parse(source)
    for i, token in enumerate(tokens):
        if token.type == "heading_open" and token.level == 0 and token.map:
            flush(token.map[0])
            text = tokens[i + 1].content if i + 1 < len(tokens) else ""
            level = int(token.tag[1])
            trail.enter(level, text)
            if level == 1 and not title:
                title = text
            start = token.map[1]
    flush(len(lines))
    if not blocks:
        raise ParseError("The Markdown file contains no text beyond its front matter (a redirect or placeholder page?).")
    return ParsedDocument(title, blocks)


def _front_matter(source: str) -> tuple[dict, str]:
    """Split a page into its front matter (YAML between ``---`` lines, TOML between ``+++``,
    or a JSON object) and its body. Front matter that is not valid YAML/TOML/JSON is still
    removed from the body; only its values are lost."""
    import frontmatter

    handler = frontmatter.detect_format(source, frontmatter.handlers)
    if handler is None:
        return {}, source
    try:
        metadata, body = frontmatter.parse(source, handler=handler)
    except Exception:  # yaml.YAMLError, json.JSONDecodeError, toml's errors: no common base
        try:
            _, body = handler.split(source)
        except ValueError:  # no closing delimiter: not front matter after all
            return {}, source
        return {}, body
    return (metadata if isinstance(metadata, dict) else {}), body


# --- Plain text -------------------------------------------------------------------------------------
_UNDERLINE = re.compile(r"^\s*(=+|-+)\s*$")


def parse_text(path: Path) -> ParsedDocument:
    text = _decode(path.read_bytes())
    lines = text.splitlines()
    trail = HeadingTrail()
    blocks: list[Block] = []
    body: list[str] = []

    def flush():
        chunk = _tidy("\n".join(body))
        if chunk:
            blocks.append(Block(chunk, heading=trail.path))
        body.clear()

    i = 0
    while i < len(lines):
        line = lines[i].rstrip()
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if line.strip() and _UNDERLINE.match(nxt) and len(nxt.strip()) >= 3:
            flush()
            trail.enter(1 if nxt.strip()[0] == "=" else 2, line.strip())
            i += 2
            continue
        if _is_caps_heading(line, lines[i - 1] if i else ""):
            flush()
            trail.enter(1, line.strip())
            i += 1
            continue
        body.append(line)
        i += 1
    flush()
    if not blocks:
        raise ParseError("The text file is empty.")
    return ParsedDocument("", blocks)


def _is_caps_heading(line: str, previous: str) -> bool:
    stripped = line.strip()
    letters = [c for c in stripped if c.isalpha()]
    return (
        not previous.strip()
        and 3 <= len(stripped) <= 80
        and len(letters) >= 3
        and all(c.isupper() for c in letters)
    )


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


# --- Entry point --------------------------------------------------------------------------------------
def parse(path: Path, name: str | None = None) -> ParsedDocument:
    """Parse the file at ``path``; ``name`` (the uploaded file name) decides the format, and the
    content must agree with it. Every ``ParseError`` names the file at most by its own name."""
    shown = Path(name or path.name).name
    try:
        return _parse(path, name)
    except ParseError as exc:
        raise ParseError(_without_paths(str(exc), path, shown)) from exc
    except Exception as exc:  # a library failing in a way it does not document: still a readable reason
        log.warning("parsing %s (%s) failed unexpectedly", shown, path, exc_info=True)
        message = f"The file could not be read ({exc.__class__.__name__}: {exc})."
        raise ParseError(_without_paths(message, path, shown)) from exc


def _parse(path: Path, name: str | None) -> ParsedDocument:
    suffix = Path(name or path.name).suffix.lower()
    parser = PARSERS.get(suffix)
    if parser is None:
        raise ParseError(
            f"Unsupported file type '{suffix or '(none)'}'. Supported: {', '.join(SUPPORTED_EXTENSIONS)}."
        )
    if not path.exists():
        raise ParseError("The uploaded file is missing from storage.")
    if path.stat().st_size == 0:
        raise ParseError("The file is empty (0 bytes).")
    check_content(path, suffix, SUPPORTED_EXTENSIONS)
    return parser(path)


# An absolute path (POSIX or Windows) of two or more parts; group 1 is its last part.
_ABSOLUTE_PATH = re.compile(r"""(?<![\w.~:/\\-])(?:[A-Za-z]:)?[/\\](?:[^\s'"<>|/\\]+[/\\])+([^\s'"<>|/\\]*)""")


def _without_paths(message: str, path: Path, shown: str) -> str:
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
