"""E-mail (.eml, read with the standard library): the subject is the title and the section, a
first paragraph says who wrote to whom and when, then the body (the plain-text part, or the
HTML part as text). Attachments are named, not read: save them and import them as files."""

from __future__ import annotations

import email
import email.policy
from pathlib import Path

from ..parsed import Block, NothingToIndex, ParsedDocument
from .sections import tidy


def parse_eml(path: Path) -> ParsedDocument:
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    subject = " ".join(str(message.get("Subject", "") or "").split())
    header = "; ".join(
        f"{name}: {' '.join(str(message[name]).split())}" for name in ("From", "To", "Cc", "Date") if message.get(name)
    )
    body = ""
    part = message.get_body(preferencelist=("plain", "html"))
    if part is not None:
        content = _content(part)
        body = _html_text(content) if part.get_content_type() == "text/html" else content
    attachments = [a.get_filename() for a in message.iter_attachments() if a.get_filename()]
    parts = [header, tidy(body)]
    if attachments:
        parts.append("Attachments: " + ", ".join(attachments))
    if not tidy(body) and not subject:
        raise NothingToIndex("The e-mail has no subject and no text.")
    return ParsedDocument(subject, [Block(tidy("\n\n".join(p for p in parts if p)), heading=subject)])


def _content(part) -> str:
    try:
        return part.get_content()
    except (LookupError, UnicodeDecodeError):  # an unknown or wrong charset: decode it ourselves
        from ..decoding import decode

        return decode(part.get_payload(decode=True) or b"")


def _html_text(html: str) -> str:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(["script", "style", "head"]):
        tag.decompose()
    return soup.get_text("\n", strip=True)
