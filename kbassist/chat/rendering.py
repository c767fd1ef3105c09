"""Markdown to safe HTML for answers: nothing in a model answer can run script in the page."""

from __future__ import annotations

import nh3
from markdown_it import MarkdownIt

from kbassist.text import CITATION

# Raw HTML in the source is escaped, never passed through ("html": False); nh3 then removes
# anything not on its allow-list as a second line of defence.
_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "breaks": True}).enable("table")
_ALLOWED_TAGS = {
    "p", "br", "strong", "em", "code", "pre", "blockquote", "ul", "ol", "li", "a", "hr",
    "h1", "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td", "sup", "del",
}
_ALLOWED_ATTRIBUTES = {"a": {"href", "title", "data-cite", "class"}, "sup": {"class"}, "td": {"align"}, "th": {"align"}}


def render_markdown(text: str, citations: int = 0) -> str:
    """Render ``text``; ``[n]`` markers with 1 <= n <= ``citations`` become citation links."""
    html = _md.render(text)
    if citations:

        def link(match):
            n = int(match.group(1))
            if 1 <= n <= citations:
                return f'<sup class="cite"><a href="#source-{n}" data-cite="{n}" class="cite-link">[{n}]</a></sup>'
            return match.group(0)

        html = CITATION.sub(link, html)
    return nh3.clean(
        html,
        tags=_ALLOWED_TAGS,
        attributes=_ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )
