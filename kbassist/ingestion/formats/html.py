"""HTML: the page's text blocks under its <h1>-<h6> headings, without scripts, navigation and
other page furniture; decoded in the charset the page declares when it is not UTF-8. Its
<meta name="keywords"> (or a template's front matter keywords) are searched with it."""

from __future__ import annotations

import re
from pathlib import Path

from ..decoding import decode
from ..parsed import Block, NothingToIndex, ParsedDocument
from .markdown import _TEMPLATE_TAGS, _front_matter, front_matter_keywords
from .sections import SectionCollector, tidy
from .tables import markdown_table

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

    source = _decode_html(path.read_bytes())
    metadata = {}
    if source.lstrip().startswith(("---", "+++")):  # a site generator's template: front matter first
        metadata, source = _front_matter(source.lstrip())
    source = _TEMPLATE_TAGS.sub("", source)
    soup = BeautifulSoup(source, "html.parser")
    redirect = _redirect(soup)
    keywords = front_matter_keywords(metadata) or ", ".join(
        str(meta.get("content", "")).strip() for meta in soup.find_all("meta") if str(meta.get("name", "")).lower() == "keywords"
    )
    for tag in soup(["script", "style", "noscript", "template", "nav", "footer", "header", "svg", "form"]):
        tag.decompose()
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    root = soup.body or soup
    sections = SectionCollector()
    data_tables = [table for table in root.find_all("table") if _is_data_table(table)]
    in_data_table = {id(t) for t in data_tables}

    for element in root.find_all(_HTML_BLOCKS + ["table"]):
        enclosing = next((t for t in element.find_parents("table") if id(t) in in_data_table), None)
        if enclosing is not None:
            continue  # part of a table taken whole
        if element.name == "table":
            if id(element) in in_data_table:
                text = _table_markdown(element, sections)
                if text:
                    sections.add(text)
            continue
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
    text = tidy(root.get_text("\n", strip=True))
    if redirect and len(text) < 300:
        raise NothingToIndex("A redirect page (it only sends the browser to another page): nothing to index.")
    if not blocks:
        if not text:
            raise NothingToIndex("The HTML page holds no text: nothing to index.")
        blocks = [Block(text)]
    return ParsedDocument(title, blocks, keywords=front_matter_keywords({"keywords": keywords}))


def _redirect(soup) -> str:
    """Where a page that only sends the browser elsewhere (``<meta http-equiv="refresh">``) goes."""
    for meta in soup.find_all("meta"):
        if str(meta.get("http-equiv", "")).lower() == "refresh":
            content = str(meta.get("content", ""))
            match = re.search(r"url\s*=\s*['\"]?([^'\";]*)", content, re.I)
            return (match.group(1).strip() if match else "") or "another page"
    return ""



def _is_data_table(table) -> bool:
    """A table of data, not one laying out the page: no headings or nested tables inside, and
    no cell holding a long text."""
    if table.find(["h1", "h2", "h3", "h4", "h5", "h6", "table"]) is not None:
        return False
    return all(len(cell.get_text(" ", strip=True)) <= 400 for cell in table.find_all(["td", "th"]))


def _table_markdown(table, sections: SectionCollector) -> str:
    rows = []
    for tr in table.find_all("tr"):
        cells = tr.find_all(["td", "th"])
        rows.append([cell.get_text(" ", strip=True) for cell in cells])
    caption = table.caption.get_text(" ", strip=True) if table.caption else ""
    if not caption and sections.trail.levels:
        caption = sections.trail.levels[-1][1]
    return markdown_table(rows, caption)
