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


# --- What the file really is ------------------------------------------------------------------------
# The kinds of content _identify() tells apart, as named in messages.
_KINDS = {
    "pdf": "a PDF document",
    "docx": "a Word document",
    "word-other": "a macro-enabled Word document or a Word template",
    "html": "an HTML page",
    "text": "plain text",
    "xlsx": "an Excel workbook",
    "pptx": "a PowerPoint presentation",
    "opendocument": "an OpenDocument (LibreOffice) file",
    "epub": "an EPUB e-book",
    "zip": "a ZIP archive",
    "damaged-zip": "a damaged or incomplete ZIP archive",
    "ole": "an old-format Office 97-2003 file (.doc, .xls or .ppt)",
    "rtf": "an RTF document",
    "image": "an image",
    "audio": "an audio file",
    "video": "a video",
    "archive": "a compressed archive",
    "program": "a program",
}
# puremagic's answers (extension, or MIME type family) for those kinds. ZIP-based formats all
# look alike at the start of the file; _zip_kind() looks inside the package.
_MAGIC_EXTENSIONS = {
    ".pdf": "pdf", ".html": "html", ".htm": "html", ".rtf": "rtf",
    ".zip": "zip", ".docx": "zip", ".xlsx": "zip", ".pptx": "zip", ".odt": "zip", ".epub": "zip", ".jar": "zip",
    ".doc": "ole", ".xls": "ole", ".ppt": "ole", ".msg": "ole",
    ".gz": "archive", ".tgz": "archive", ".bz2": "archive", ".xz": "archive", ".7z": "archive", ".rar": "archive",
    ".tar": "archive", ".zst": "archive", ".exe": "program", ".dll": "program", ".elf": "program",
}
_MAGIC_MIME_FAMILIES = {"image/": "image", "audio/": "audio", "video/": "video"}
# puremagic scores a match by the length of the signature; two-byte ones (0.2) also match
# ordinary text ("BM..." reads as a bitmap, "MZ..." as a program).
_MIN_CONFIDENCE = 0.3
_SNIFF_BYTES = 8192
# The WHATWG MIME-sniffing rule for HTML (puremagic knows only <!DOCTYPE html> and <html>).
_HTML_START = re.compile(
    rb"\A(?:\xef\xbb\xbf)?[\t\n\f\r ]*"
    rb"<(?:!doctype html|html|head|script|iframe|h1|div|font|table|a|style|title|b|body|br|p|!--)[ >]",
    re.I,
)

# What each extension promises, as named in messages, and the kinds it accepts (None: not
# recognised; a text format accepts any content that is not recognisably something else).
_PROMISES = {
    ".pdf": ("a PDF", {"pdf", None}),  # unrecognised: pypdf decides (it allows junk before %PDF)
    ".docx": ("a Word file (.docx)", {"docx"}),
    ".html": ("an HTML page", {"html", "text", None}),
    ".htm": ("an HTML page", {"html", "text", None}),
    ".md": ("a Markdown file", {"html", "text", None}),
    ".markdown": ("a Markdown file", {"html", "text", None}),
    ".txt": ("a text file", {"html", "text", None}),
    ".text": ("a text file", {"html", "text", None}),
}
_RENAME_TO = {"pdf": ".pdf", "docx": ".docx", "html": ".html", "text": ".txt"}


def _identify(path: Path) -> str | None:
    """What the file's content is (a key of ``_KINDS``), or None if not recognised."""
    import puremagic

    with open(path, "rb") as stream:
        head = stream.read(_SNIFF_BYTES)
        stream.seek(0)
        kind = _magic_kind(puremagic.magic_stream, stream)
    if kind is None:
        stripped = head.lstrip(b"\xef\xbb\xbf\t\n\f\r ")  # text may open with a BOM and blank lines
        if stripped and stripped != head:
            kind = _magic_kind(puremagic.magic_string, stripped)
    if kind is None and _HTML_START.match(head):
        kind = "html"
    if kind is None and _is_utf8_text(head):
        kind = "text"
    if kind == "zip":
        kind = _zip_kind(path)
    return kind


def _magic_kind(identify, data) -> str | None:
    import puremagic

    try:
        matches = identify(data)
    except (puremagic.PureError, ValueError):
        return None
    for match in matches:
        if match.confidence < _MIN_CONFIDENCE:
            break  # best first
        kind = _MAGIC_EXTENSIONS.get(match.extension.lower())
        if kind is None:
            kind = next((k for family, k in _MAGIC_MIME_FAMILIES.items() if match.mime_type.startswith(family)), None)
        if kind:
            return kind
    return None


def _is_utf8_text(head: bytes) -> bool:
    import codecs

    if b"\x00" in head:
        return False
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return False
    return True


def _zip_kind(path: Path) -> str:
    """Which ZIP-based format a ZIP package is, from its declared content types."""
    def member_start(package, name: str, size: int) -> str:
        if name not in package.namelist():
            return ""
        with package.open(name) as member:  # only the start: a member may unpack to gigabytes
            return member.read(size).decode("utf-8", "replace")

    try:
        with zipfile.ZipFile(path) as package:
            types = member_start(package, "[Content_Types].xml", 65536)
            mimetype = member_start(package, "mimetype", 200)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, KeyError, RuntimeError, NotImplementedError):
        return "damaged-zip"
    if "wordprocessingml.document.main+xml" in types:
        return "docx"
    for marker, kind in [("ms-word", "word-other"), ("wordprocessingml", "word-other"), ("spreadsheetml", "xlsx"),
                         ("ms-excel", "xlsx"), ("presentationml", "pptx"), ("ms-powerpoint", "pptx")]:
        if marker in types:
            return kind
    if mimetype.startswith("application/vnd.oasis.opendocument"):
        return "opendocument"
    if mimetype.startswith("application/epub"):
        return "epub"
    return "zip"


def _check_content(path: Path, suffix: str) -> None:
    """Refuse a file whose content is not what its extension promises, saying what it is."""
    promise, accepted = _PROMISES[suffix]
    kind = _identify(path)
    if kind in accepted:
        return
    if kind is None:
        raise ParseError(f"This {suffix} file is not {promise}: its content is in no format this assistant recognises.")
    if suffix == ".docx" and kind == "damaged-zip":
        raise ParseError(
            "This .docx file is damaged or incomplete: it cannot be opened as a Word file. "
            "Save it again from Word and upload the new copy."
        )
    if kind in _RENAME_TO:
        hint = f" Upload it with the extension {_RENAME_TO[kind]} instead."
    elif kind in ("ole", "word-other"):
        hint = " Open it in Word (or Excel, PowerPoint) and save it as .docx or PDF."
    else:
        hint = f" Supported formats: {', '.join(SUPPORTED_EXTENSIONS)}."
    raise ParseError(f"This {suffix} file is {_KINDS[kind]}, not {promise}.{hint}")


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
    _check_content(path, suffix)
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
