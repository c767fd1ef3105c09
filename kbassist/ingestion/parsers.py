"""Turn an uploaded file into text blocks that remember where they came from.

Each parser returns a ``ParsedDocument``: a title and a list of ``Block``s, each a piece of
text with its page number (for paged formats) and its section heading path. Anything that
cannot be read raises ``ParseError`` with a sentence an admin can act on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path


class ParseError(Exception):
    """A file that cannot be ingested; the message is shown to the admin as it is."""


@dataclass
class Block:
    text: str
    page: int | None = None
    heading: str = ""  # "Leave policy › Annual vacation"


@dataclass
class ParsedDocument:
    title: str
    blocks: list[Block] = field(default_factory=list)
    page_count: int | None = None


HEADING_SEPARATOR = " › "


class HeadingTrail:
    """The current chain of section headings while walking a document top to bottom."""

    def __init__(self):
        self.levels: list[tuple[int, str]] = []

    def enter(self, level: int, title: str):
        while self.levels and self.levels[-1][0] >= level:
            self.levels.pop()
        self.levels.append((level, title.strip()))

    @property
    def path(self) -> str:
        return HEADING_SEPARATOR.join(title for _, title in self.levels if title)


class SectionCollector:
    """Gathers paragraphs under the current heading trail into one block per section."""

    def __init__(self):
        self.trail = HeadingTrail()
        self.blocks: list[Block] = []
        self._paragraphs: list[str] = []

    def heading(self, level: int, title: str):
        self.flush()
        self.trail.enter(level, title)

    def add(self, text: str):
        self._paragraphs.append(text)

    def flush(self) -> list[Block]:
        if self._paragraphs:
            self.blocks.append(Block("\n\n".join(self._paragraphs), heading=self.trail.path))
            self._paragraphs.clear()
        return self.blocks


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "utf-16") if data[:2] in (b"\xff\xfe", b"\xfe\xff") else ("utf-8-sig",):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("gb18030")  # common for Chinese text files saved on Windows
    except UnicodeDecodeError:
        raise ParseError("The file is not valid UTF-8 (or GB18030) text.") from None


# --- PDF ------------------------------------------------------------------------------------------
def parse_pdf(path: Path) -> ParsedDocument:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(str(path))
        if reader.is_encrypted:
            try:
                reader.decrypt("")
            except Exception:
                raise ParseError("The PDF is password-protected; upload an unprotected copy.") from None
        pages = list(reader.pages)
        title = ""
        if reader.metadata and reader.metadata.title:
            title = str(reader.metadata.title).strip()
        texts = [_tidy(page.extract_text() or "") for page in pages]
        texts = _strip_running_lines(texts)
        blocks = [
            Block(text, page=number, heading=_first_line_heading(text))
            for number, text in enumerate(texts, start=1)
            if text
        ]
    except ParseError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, OSError) as exc:
        raise ParseError(f"The PDF could not be read ({exc.__class__.__name__}: {exc}). Is the file complete?") from exc
    if not pages:
        raise ParseError("The PDF has no pages.")
    if not blocks:
        raise ParseError("No text could be extracted from the PDF (is it a scan without a text layer?).")
    return ParsedDocument(title, blocks, page_count=len(pages))


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
    import zipfile

    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(str(path))
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


def parse_html(path: Path) -> ParsedDocument:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(_decode(path.read_bytes()), "html.parser")
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
_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.S)
_TEMPLATE_TAGS = re.compile(r"{%.*?%}|{{.*?}}", re.S)  # Jekyll/Liquid tags carry no knowledge


def parse_markdown(path: Path) -> ParsedDocument:
    from markdown_it import MarkdownIt

    source = _decode(path.read_bytes())
    title = ""
    match = _FRONT_MATTER.match(source)
    if match:
        for line in match.group(1).splitlines():
            key, _, value = line.partition(":")
            if key.strip().lower() == "title" and value.strip():
                title = value.strip().strip("'\"")
        source = source[match.end() :]
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


def _tidy(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\x00", "")
    text = re.sub(r"[ \t]+\n", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()


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


def parse(path: Path, name: str | None = None) -> ParsedDocument:
    """Parse the file at ``path``; ``name`` (the uploaded file name) decides the format."""
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
    return parser(path)
