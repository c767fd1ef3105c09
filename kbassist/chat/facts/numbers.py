"""Numbers as people write them: digits (``1,500``, ``1.5k``, ``3万``), English number
words (``"one hundred and fifty"``) and Chinese numerals (``"十二"``, ``"两千五"``, ``"二〇二二"``).
Pure Python; the patterns ``EN_NUMBER`` and ``ZH_CHARS`` are what ``quantities`` scans with.
"""

from __future__ import annotations

import re

_EN_SMALL = {
    w: i
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
        "fifteen sixteen seventeen eighteen nineteen".split()
    )
}
_EN_TENS = {w: 10 * i for i, w in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split(), start=2)}
_EN_SCALE = {"hundred": 100, "thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000}
_EN_WORD = "|".join(sorted([*_EN_SMALL, *_EN_TENS, *_EN_SCALE], key=len, reverse=True))
EN_NUMBER = re.compile(
    rf"\b(?:{_EN_WORD})(?:(?:[\s-]+|\s+and\s+)(?:{_EN_WORD}))*\b", re.I
)

_ZH_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_ZH_UNITS = {"十": 10, "百": 100, "千": 1000}
_ZH_BIG = {"万": 10_000, "亿": 100_000_000}
ZH_CHARS = "".join([*_ZH_DIGITS, *_ZH_UNITS, *_ZH_BIG])


def parse_english_number(words: str) -> float | None:
    """``"one hundred and fifty"`` -> 150, ``"twenty-four"`` -> 24; None if not a number."""
    parts = [w for w in re.split(r"[\s-]+", words.lower().strip()) if w and w != "and"]
    if not parts:
        return None
    total, current = 0.0, 0.0
    for word in parts:
        if word in _EN_SMALL:
            current += _EN_SMALL[word]
        elif word in _EN_TENS:
            current += _EN_TENS[word]
        elif word == "hundred":
            current = (current or 1) * 100
        elif word in _EN_SCALE:
            total += (current or 1) * _EN_SCALE[word]
            current = 0
        else:
            return None
    return total + current


def parse_chinese_number(text: str) -> float | None:
    """``"十二"`` -> 12, ``"一百五十"`` -> 150, ``"两"`` -> 2, ``"二〇二二"`` -> 2022, ``"两千五"`` -> 2500."""
    text = text.strip()
    if not text or any(c not in ZH_CHARS for c in text):
        return None
    if len(text) > 1 and all(c in _ZH_DIGITS for c in text):  # read digit by digit (years)
        return float("".join(str(_ZH_DIGITS[c]) for c in text))
    total, section, number = 0.0, 0.0, None
    last_unit = 1
    for char in text:
        if char in _ZH_DIGITS:
            number = _ZH_DIGITS[char]
        elif char in _ZH_UNITS:
            section += (1 if number is None else number) * _ZH_UNITS[char]
            number, last_unit = None, _ZH_UNITS[char]
        else:  # 万, 亿
            section += number or 0
            total += (section or 1) * _ZH_BIG[char]
            section, number, last_unit = 0.0, None, _ZH_BIG[char]
    if number is not None:
        # colloquial "两千五" is 2500, "一万五" 15000: a last digit right after 百/千/万 counts
        # in the next lower place
        if len(text) >= 2 and (text[-2] in _ZH_UNITS or text[-2] in _ZH_BIG) and last_unit >= 100:
            number *= last_unit // 10
        section += number
    return total + section


def parse_number(text: str) -> float | None:
    """A number written in digits (``1,500``, ``1.5k``), English words or Chinese numerals."""
    text = text.strip()
    match = re.fullmatch(r"(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?\s*([kK])?", text)
    if match:
        value = float(match.group(1).replace(",", "") + (match.group(2) or ""))
        return value * 1000 if match.group(3) else value
    if re.fullmatch(r"[\d.]+[万千亿]", text):
        return float(text[:-1]) * {"万": 1e4, "千": 1e3, "亿": 1e8}[text[-1]]
    return parse_english_number(text) if re.search(r"[a-zA-Z]", text) else parse_chinese_number(text)
