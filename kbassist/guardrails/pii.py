"""Masking personal data in what is stored and logged (KB_REDACT_PII, off by default).

``redact(text)`` replaces, in this order:
  e-mail addresses                                   -> [email]
  Chinese resident ID numbers (18 characters, the ISO 7064 check character must match)
                                                     -> [ID number]
  Chinese mobile numbers (+86 or 0086 optional)        -> [phone]
  payment-card numbers (13-19 digits, spaces or dashes allowed, the Luhn check must pass)
                                                     -> [card number]
  other phone numbers: Chinese landlines with an area code,
  international numbers written with +, North American (555) 123-4567
                                                     -> [phone]
Amounts, dates, durations and other numbers are left alone. ``for_storage`` applies it when
KB_REDACT_PII is on; ``RedactingFilter`` does the same to log records. The answer a user sees
live is never changed.
"""

from __future__ import annotations

import logging
import re

EMAIL = "[email]"
ID_NUMBER = "[ID number]"
CARD = "[card number]"
PHONE = "[phone]"

_EMAIL = re.compile(r"(?<![\w.%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}(?![\w-])")
_RESIDENT_ID = re.compile(r"(?<![0-9A-Za-z])[1-9]\d{16}[0-9Xx](?![0-9A-Za-z])")
_CARD = re.compile(r"(?<![\d+-])\d(?:[ -]?\d){12,18}(?![\d])")
_PHONES = [
    # Chinese mobile: 1[3-9]x xxxx xxxx, optionally +86 / 0086 first.
    re.compile(r"(?<![\d+])(?:(?:\+|00)86[\s-]?)?1[3-9]\d(?:[\s-]?\d{4}){2}(?!\d)"),
    # Chinese landline with its area code: 010-12345678, (021) 1234 5678, 0755-1234567.
    re.compile(r"(?<!\d)(?:\(0\d{2,3}\)\s?|0\d{2,3}-)\d{3,4}[\s-]?\d{4}(?!\d)"),
    # International, written with a +: +44 20 7946 0958, +1 (555) 123-4567.
    re.compile(r"(?<![\w+])\+\d{1,3}(?:[\s.-]?\(?\d{1,5}\)?){2,5}(?!\d)"),
    # North American: (555) 123-4567, 555-123-4567, 555.123.4567.
    re.compile(r"(?<![\d-])(?:\(\d{3}\)\s?|\d{3}[\s.-])\d{3}[\s.-]\d{4}(?![\d-])"),
]
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def resident_id_valid(number: str) -> bool:
    """An 18-character Chinese resident ID number whose check character and birth date fit."""
    if len(number) != 18 or not number[:17].isdigit():
        return False
    month, day = int(number[10:12]), int(number[12:14])
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return False
    total = sum(int(d) * w for d, w in zip(number[:17], _ID_WEIGHTS))
    return _ID_CHECK[total % 11] == number[17].upper()


def luhn_valid(digits: str) -> bool:
    total = 0
    for i, d in enumerate(reversed(digits)):
        n = int(d)
        if i % 2:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


def _card(match: re.Match) -> str:
    digits = re.sub(r"\D", "", match.group())
    return CARD if 13 <= len(digits) <= 19 and luhn_valid(digits) else match.group()


def _phone(match: re.Match) -> str:
    digits = re.sub(r"\D", "", match.group())
    return PHONE if 7 <= len(digits) <= 15 else match.group()


def redact(text: str) -> str:
    """``text`` with e-mail addresses, resident ID, card and phone numbers masked."""
    if not text:
        return text
    text = _EMAIL.sub(EMAIL, text)
    text = _RESIDENT_ID.sub(lambda m: ID_NUMBER if resident_id_valid(m.group()) else m.group(), text)
    text = _PHONES[0].sub(_phone, text)  # a Chinese mobile with 0086 first could pass for a card
    text = _CARD.sub(_card, text)
    for pattern in _PHONES[1:]:
        text = pattern.sub(_phone, text)
    return text


def enabled() -> bool:
    from django.conf import settings

    return settings.configured and getattr(settings, "KB_REDACT_PII", False)


def for_storage(text: str) -> str:
    """``text`` as it may be stored or logged: redacted when KB_REDACT_PII is on."""
    return redact(text) if enabled() else text


class RedactingFilter(logging.Filter):
    """Masks personal data in log messages when KB_REDACT_PII is on (settings.LOGGING)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if enabled():
            message = record.getMessage()
            masked = redact(message)
            if masked != message:
                record.msg, record.args = masked, ()
        return True
