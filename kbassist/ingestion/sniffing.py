"""What a file really is, whatever its name says, and the message when the two disagree.

The content is identified with puremagic, plus a look inside ZIP packages, so that an HTML
page saved as ``.pdf`` or a ZIP archive renamed ``.docx`` is reported as such instead of
failing deep inside a parser.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

from .parsed import ParseError

# The kinds of content identify() tells apart, as named in messages.
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
    ".xlsx": ("an Excel workbook (.xlsx)", {"xlsx"}),
    ".xlsm": ("an Excel workbook (.xlsm)", {"xlsx"}),
    ".pptx": ("a PowerPoint presentation (.pptx)", {"pptx"}),
    ".doc": ("an old-format Word file (.doc)", {"ole", "rtf"}),
    ".xls": ("an old-format Excel file (.xls)", {"ole"}),
    ".ppt": ("an old-format PowerPoint file (.ppt)", {"ole"}),
    ".png": ("an image", {"image"}),
    ".jpg": ("an image", {"image"}),
    ".jpeg": ("an image", {"image"}),
    ".tif": ("an image", {"image"}),
    ".tiff": ("an image", {"image"}),
    ".csv": ("a CSV file", {"text", None}),
    ".eml": ("an e-mail", {"text", None}),
    ".html": ("an HTML page", {"html", "text", None}),
    ".htm": ("an HTML page", {"html", "text", None}),
    ".md": ("a Markdown file", {"html", "text", None}),
    ".markdown": ("a Markdown file", {"html", "text", None}),
    ".txt": ("a text file", {"html", "text", None}),
    ".text": ("a text file", {"html", "text", None}),
}
_RENAME_TO = {"pdf": ".pdf", "docx": ".docx", "html": ".html", "text": ".txt", "xlsx": ".xlsx", "pptx": ".pptx"}
_ZIP_FORMATS = {".docx": "a Word file", ".xlsx": "an Excel workbook", ".xlsm": "an Excel workbook", ".pptx": "a PowerPoint presentation"}


def identify(path: Path) -> str | None:
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


def check_content(path: Path, suffix: str, supported: list[str]) -> None:
    """Refuse a file whose content is not what its extension promises, saying what it is
    (and, when it is nothing this assistant reads, the ``supported`` extensions)."""
    promise, accepted = _PROMISES[suffix]
    kind = identify(path)
    if kind in accepted:
        return
    if kind is None:
        raise ParseError(f"This {suffix} file is not {promise}: its content is in no format this assistant recognises.")
    if suffix in _ZIP_FORMATS and kind == "damaged-zip":
        raise ParseError(
            f"This {suffix} file is damaged or incomplete: it cannot be opened as {_ZIP_FORMATS[suffix]}. "
            "Save it again and upload the new copy."
        )
    if kind in _RENAME_TO:
        hint = f" Upload it with the extension {_RENAME_TO[kind]} instead."
    elif kind == "ole":
        hint = " Upload it with its own extension (.doc, .xls or .ppt), or save it as .docx, .xlsx or .pptx."
    elif kind == "word-other":
        hint = " Open it in Word (or Excel, PowerPoint) and save it as .docx or PDF."
    else:
        hint = f" Supported formats: {', '.join(supported)}."
    raise ParseError(f"This {suffix} file is {_KINDS[kind]}, not {promise}.{hint}")
