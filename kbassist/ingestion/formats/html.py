"""HTML: the page's text blocks under its <h1>-<h6> headings, without scripts, navigation and
other page furniture; decoded in the charset the page declares when it is not UTF-8."""

from __future__ import annotations

from pathlib import Path

from ..decoding import decode
from ..parsed import Block, ParsedDocument, ParseError
from .sections import SectionCollector, tidy

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
    return decode(data, declared)


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
        text = tidy(root.get_text("\n", strip=True))
        if not text:
            raise ParseError("The HTML page contains no text.")
        blocks = [Block(text)]
    return ParsedDocument(title, blocks)
