"""Markdown: one block per section, split at the headings markdown-it finds; front matter
(read by python-frontmatter) gives the title, and template tags are left out.

Links keep their text and lose their address (``[all-remote team](../remote/index.md)`` →
``all-remote team``; images keep their alt text), link reference definitions and HTML
comments are left out: an address is not knowledge, yet in a handbook it fills chunks
(a single shopping link can be a whole chunk of query-string noise), crowds the embedder's
window and ends up in quoted evidence. Code spans and fenced code keep their text as written.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..decoding import decode
from ..parsed import Block, NothingToIndex, ParsedDocument
from .sections import HeadingTrail, tidy

_TEMPLATE_TAGS = re.compile(r"{%.*?%}|{{.*?}}", re.S)  # Jekyll/Liquid tags carry no knowledge
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.S)
# [text](address "title") and ![alt](address); the address may be <bracketed> or hold balanced ()
_INLINE_LINK = re.compile(r"(!?)\[((?:[^\[\]\n]|\[[^\[\]\n]*\])*)\]\(\s*(?:<[^>\n]*>|(?:[^()\s]|\([^()\s]*\))*)(?:\s+(?:\"[^\"\n]*\"|'[^'\n]*'|\([^()\n]*\)))?\s*\)")
_REFERENCE_LINK = re.compile(r"\[((?:[^\[\]\n]|\[[^\[\]\n]*\])+)\]\[[^\[\]\n]*\]")
_REFERENCE_DEFINITION = re.compile(r"^ {0,3}\[[^\]\n]+\]:[ \t]*\S+.*$", re.M)
_CODE = re.compile(r"^(```|~~~).*?^\1[^\n]*$|`[^`\n]+`", re.S | re.M)


def parse_markdown(path: Path) -> ParsedDocument:
    from markdown_it import MarkdownIt

    metadata, source = _front_matter(decode(path.read_bytes()))
    title = metadata.get("title")
    title = "" if title is None or isinstance(title, (bool, dict, list)) else str(title).strip()
    source = without_addresses(_TEMPLATE_TAGS.sub("", source))
    lines = source.splitlines()
    trail = HeadingTrail()
    blocks: list[Block] = []
    start = 0  # first line of the current section's body

    def flush(end: int):
        text = tidy("\n".join(lines[start:end]))
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
        raise NothingToIndex(_empty_reason(metadata))
    return ParsedDocument(title, blocks)


def without_addresses(source: str) -> str:
    """The Markdown with each link reduced to its text (an image to its alt text), link
    reference definitions and HTML comments left out; code is left as written."""
    parts, last = [], 0
    for code in _CODE.finditer(source):
        parts.append(_plain_links(source[last : code.start()]))
        parts.append(code.group(0))
        last = code.end()
    parts.append(_plain_links(source[last:]))
    return "".join(parts)


def _plain_links(text: str) -> str:
    text = _HTML_COMMENT.sub("", text)
    text = _REFERENCE_DEFINITION.sub("", text)
    for _ in range(2):  # a linked image: [![alt](image)](address)
        text = _INLINE_LINK.sub(lambda m: m.group(2), text)
    return _REFERENCE_LINK.sub(lambda m: m.group(1), text)


def _empty_reason(metadata: dict) -> str:
    if metadata.get("redirect_to") or metadata.get("redirect"):
        return "A redirect page (its front matter sends readers to another page): nothing to index."
    if metadata:
        return "The page has front matter only, no text: nothing to index."
    return "The Markdown file holds no text: nothing to index."


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
