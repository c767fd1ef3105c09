"""Markdown: one block per section, split at the headings markdown-it finds; front matter
(read by python-frontmatter) gives the title and the keywords, and template tags are left out
but for the Slack channels they name."""

from __future__ import annotations

import re
from pathlib import Path

from ..decoding import decode
from ..parsed import Block, NothingToIndex, ParsedDocument
from .sections import HeadingTrail, tidy

# Jekyll/Liquid: a comment is left out with its text, a Slack channel tag becomes the channel's
# name (18F's handbook names 295 channels so: "send a message in {% slack_channel
# "tts-fitara-reviews" %}" lost the only fact a reader needs), other tags carry no knowledge.
_TEMPLATE_COMMENTS = re.compile(r"{%-?\s*comment\s*-?%}.*?{%-?\s*endcomment\s*-?%}", re.S)
_SLACK_CHANNEL = re.compile(r"""{%-?\s*slack_channel\s+["']#?([^"'\s]+)[^"']*["'][^%]*?-?%}""")
_TEMPLATE_TAGS = re.compile(r"{%.*?%}|{{.*?}}", re.S)


def parse_markdown(path: Path) -> ParsedDocument:
    from markdown_it import MarkdownIt

    metadata, source = _front_matter(decode(path.read_bytes()))
    title = metadata.get("title")
    title = "" if title is None or isinstance(title, (bool, dict, list)) else str(title).strip()
    source = _TEMPLATE_TAGS.sub("", _SLACK_CHANNEL.sub(r"#\1", _TEMPLATE_COMMENTS.sub("", source)))
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
    return ParsedDocument(title, blocks, keywords=front_matter_keywords(metadata))


def front_matter_keywords(metadata: dict) -> str:
    """The words a page's front matter says it is about (``keywords``, ``tags``: a list or a
    comma-separated string), comma-separated: searched with its text. 74 of the 18F
    handbook's 246 pages name some ("keywords: welcome, letter" for a page titled "Welcome to
    TTS" whose text never says "letter"; "maternity, paternity" for parental leave)."""
    words: list[str] = []
    for key in ("keywords", "tags"):
        value = metadata.get(key)
        if isinstance(value, bool):
            continue
        items = value if isinstance(value, (list, tuple)) else str(value).split(",") if isinstance(value, (str, int, float)) else []
        for item in items:
            word = " ".join(str(item).split()) if isinstance(item, (str, int, float)) else ""
            if word and word.lower() not in (w.lower() for w in words):
                words.append(word)
    return ", ".join(words)[:500]


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
