"""Quantities: the values a text states, with their units. Numbers (digits, English words,
Chinese numerals) with the unit that follows or precedes them ("12 weeks", "12-week", "12 周",
"$1,500", "百分之五十"), ranges ("3 to 15 years"), dates, times, phone numbers and form or
grade codes (:func:`parse_quantities`); whether two of them state the same value, exact
conversions included (:func:`compatible_values`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kbassist.chat.facts.markup import mask
from kbassist.chat.facts.numbers import EN_NUMBER, ZH_CHARS, parse_english_number, parse_number
from kbassist.chat.facts.spans import overlaps

@dataclass(frozen=True)
class Quantity:
    """A value found in text. ``unit`` is canonical: week, day, hour, minute, month, year,
    night, pay_period, percent, usd, cny, eur, gbp, mile, or None. ``kind`` is number, money,
    percent, duration, date (``date`` = (year|None, month, day|None)), time (minutes after
    midnight), phone, or code (a form or grade id such as ``SF-71``; ``value`` is None)."""

    value: float | None
    unit: str | None
    kind: str
    start: int
    end: int
    text: str
    written: str = "digits"  # digits | words | chinese
    modifier: str = ""  # "+" when written "15+ years" or "15 or more years", "-" for "3 or fewer years"
    date: tuple | None = None
    ordinal: bool = False


DURATION_UNITS = {"week", "day", "hour", "minute", "month", "quarter", "year", "night", "pay_period"}
MONEY_UNITS = {"usd", "cny", "eur", "gbp"}

# English unit words (matched right after a number, after at most 3 other words); a match's
# ``lastgroup`` is the canonical unit
_EN_UNIT_PATTERNS = [
    ("pay_period", r"pay[\s-]?periods?"),
    ("week", r"weeks?|wks?"),
    # "eight person-hours of work", "10 person-days": a duration of work
    ("day", r"(?:person|man|staff)[\s-]days?|days?"),
    ("hour", r"(?:person|man|staff)[\s-]hours?|hours?|hrs?"),
    ("minute", r"minutes?|mins?"),
    ("month", r"months?|mos"),
    ("quarter", r"quarters?(?!\s+of\b)"),  # "more than two quarters", not "three quarters of staff"
    ("year", r"years?|yrs?"),
    ("night", r"nights?"),
    ("percent", r"percent|per\s?cent|%"),
    ("usd", r"(?:us\s)?dollars?|usd"),
    ("cny", r"yuan|rmb|cny"),
    ("eur", r"euros?|eur"),
    ("mile", r"miles?"),
]
EN_UNIT = re.compile("|".join(f"(?P<{name}>(?:{p})(?![a-z]))" for name, p in _EN_UNIT_PATTERNS), re.I)
_ZH_UNIT_PATTERNS = [
    ("year", r"周年"),
    ("week", r"个?星期|个?礼拜|周"),
    ("pay_period", r"个?(?:发薪|工资|薪资)周期"),
    ("day", r"个?(?:工作|自然|日历)日|天|日"),
    ("hour", r"个?小时|个?钟头"),
    ("minute", r"分钟"),
    ("month", r"个月"),
    ("quarter", r"个?季度"),
    ("year", r"年"),
    ("night", r"晚|夜"),
    ("percent", r"%|％"),
    ("usd", r"美元|美金"),
    ("cny", r"元|块钱|块|人民币"),
    ("eur", r"欧元"),
]
_ZH_UNIT = re.compile("|".join(f"(?P<{name}_{i}>{p})" for i, (name, p) in enumerate(_ZH_UNIT_PATTERNS)))
_CURRENCY_BEFORE = re.compile(r"(US\$|\$|USD\s?|RMB\s?|CNY\s?|¥|￥|€|£)\s?$")
_CURRENCY_UNIT = {"US$": "usd", "$": "usd", "USD": "usd", "RMB": "cny", "CNY": "cny", "¥": "cny", "￥": "cny", "€": "eur", "£": "gbp"}

_MONTHS = {
    "january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7,
    "august": 8, "september": 9, "october": 10, "november": 11, "december": 12,
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "sept": 9,
    "oct": 10, "nov": 11, "dec": 12,
}
_MONTH = "|".join(sorted(_MONTHS, key=len, reverse=True))
_ORD = r"(?:st|nd|rd|th)?"
_ZH_NUM = rf"(?:\d{{1,4}}|[{ZH_CHARS}]{{1,4}})"
_DATE_PATTERNS = [
    # month day[, year]
    (re.compile(rf"\b(?P<m>{_MONTH})\.?\s+(?P<d>\d{{1,2}}){_ORD}\b(?:,?\s+(?P<y>\d{{4}})\b)?", re.I), "mdy"),
    # day month [year]
    (re.compile(rf"\b(?P<d>\d{{1,2}}){_ORD}\s+(?:of\s+)?(?P<m>{_MONTH})\b\.?(?:,?\s+(?P<y>\d{{4}})\b)?", re.I), "mdy"),
    # month year
    (re.compile(rf"\b(?P<m>{_MONTH})\.?,?\s+(?P<y>\d{{4}})\b", re.I), "mdy"),
    (re.compile(r"\b(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})\b"), "num"),
    (re.compile(r"\b(?P<m>\d{1,2})/(?P<d>\d{1,2})/(?P<y>\d{4}|\d{2})\b"), "num"),
    # 2022年1月25日, 1月25日, 12月31号, 2022年12月
    (re.compile(rf"(?:(?P<y>{_ZH_NUM})年)?(?P<m>{_ZH_NUM})月(?:(?P<d>{_ZH_NUM})[日号])?"), "zh"),
    # a month name on its own ("in December"); "May" alone is too often the verb
    (re.compile(r"\b(?P<m>january|february|march|april|june|july|august|september|october|november|december)\b", re.I), "mdy"),
]
_TIME = re.compile(r"\b(?P<h>\d{1,2})(?::(?P<min>\d{2}))?\s*(?P<ap>[ap]\.?m\.?)(?![a-z])|\b(?P<h2>\d{1,2}):(?P<min2>\d{2})\b", re.I)
_PHONE = re.compile(r"(?<!\d)(?:\(\d{3}\)\s?|\b\d{3}[\s.-])\d{3}[.-]\d{4}\b")
_CODE = re.compile(r"\b[A-Z]{1,6}-\d{1,4}[A-Za-z]?\b|\b(?:SF|OF|GS|DD|FS|WG|SES)\s?\d{1,4}\b")
_DIGITS = re.compile(r"(?<![A-Za-z0-9_.])(?<!\d,)(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(?![\d,]\d)")
_ZH_NUMBER = re.compile(rf"百分之[{ZH_CHARS}\d.]+|[{ZH_CHARS}]+|半(?=[年天日个小])")
# what joins the two ends of a range: "3 to 15", "3-15", "三到五"
RANGE_JOIN = re.compile(r"\s*(?:-|–|—|~|～|to|and|or|through|至|到|或)\s*$", re.I)


def _date_part(raw: str | None) -> int | None:
    if raw is None:
        return None
    raw = raw.strip(". ").lower()
    if raw in _MONTHS:
        return _MONTHS[raw]
    value = parse_number(raw)
    return int(value) if value is not None else None


def parse_quantities(text: str, *, masked: bool = False) -> list[Quantity]:
    """Every value in ``text``, in order. Dates, times, phone numbers and codes come whole
    ("December 31st, 2022" is one date, not 31 and 2022); a number gets the unit that
    follows it ("12 weeks", "12-week", "12 周", "240 annual leave hours") or precedes it
    ("$1,500"); the first number of a range gets the second's unit ("3 to 15 years")."""
    scan = text if masked else mask(text)
    found: list[Quantity] = []
    taken: list[tuple[int, int]] = []

    def add(q: Quantity):
        found.append(q)
        taken.append((q.start, q.end))

    for match in _PHONE.finditer(scan):
        add(Quantity(float(re.sub(r"\D", "", match.group(0))), None, "phone", match.start(), match.end(), match.group(0)))
    for match in _CODE.finditer(scan):
        if not overlaps(taken, match.start(), match.end()):
            add(Quantity(None, None, "code", match.start(), match.end(), match.group(0)))
    for pattern, style in _DATE_PATTERNS:
        for match in pattern.finditer(scan):
            if overlaps(taken, match.start(), match.end()):
                continue
            groups = match.groupdict()
            month, day, year = _date_part(groups.get("m")), _date_part(groups.get("d")), _date_part(groups.get("y"))
            if month is None or not 1 <= month <= 12 or (day is not None and not 1 <= day <= 31):
                continue
            if year is not None and year < 100:
                year += 2000
            if style == "zh" and groups.get("y") is None and groups.get("d") is None:
                continue  # "3月" alone: more often a slip for 3 months than a date
            add(Quantity(None, None, "date", match.start(), match.end(), match.group(0), date=(year, month, day)))
    for match in _TIME.finditer(scan):
        if overlaps(taken, match.start(), match.end()):
            continue
        hour = int(match.group("h") or match.group("h2"))
        minute = int(match.group("min") or match.group("min2") or 0)
        ap = (match.group("ap") or "").lower().replace(".", "")
        if ap == "pm" and hour < 12:
            hour += 12
        if ap == "am" and hour == 12:
            hour = 0
        if hour < 24 and minute < 60:
            add(Quantity(hour * 60 + minute, None, "time", match.start(), match.end(), match.group(0)))

    numbers: list[tuple[int, int, float, str, bool]] = []  # start, end, value, written, ordinal
    for match in _DIGITS.finditer(scan):
        start, end = match.span()
        if overlaps(taken, start, end):
            continue
        value = float(match.group(1).replace(",", "") + (match.group(2) or ""))
        rest = scan[end : end + 12]
        ordinal = False  # "第 4 个自然日" stays a count of days: checked like "4 days"
        scale = re.match(r"\s?(k|K|thousand|million|billion|bn)(?![A-Za-z])", rest)
        if scale:
            value *= {"k": 1e3, "K": 1e3, "thousand": 1e3, "million": 1e6, "billion": 1e9, "bn": 1e9}[scale.group(1)]
            end += scale.end()
        elif re.match(r"[万千亿]", rest):
            value *= {"万": 1e4, "千": 1e3, "亿": 1e8}[rest[0]]
            end += 1
        elif re.match(r"(st|nd|rd|th)(?![A-Za-z])", rest):
            ordinal = True
            end += 2
        elif re.match(r"[A-Za-z]", rest) and not EN_UNIT.match(rest):
            continue  # glued to letters: part of an identifier (13H21w1, 2FA)
        numbers.append((start, end, value, "digits", ordinal))
    for match in EN_NUMBER.finditer(scan):
        if overlaps(taken, *match.span()):
            continue
        value = parse_english_number(match.group(0))
        if value is not None:
            numbers.append((match.start(), match.end(), value, "words", False))
    for match in _ZH_NUMBER.finditer(scan):
        if overlaps(taken, *match.span()):
            continue
        raw = match.group(0)
        if raw == "半":
            numbers.append((match.start(), match.end(), 0.5, "chinese", False))
            continue
        percent = raw.startswith("百分之")
        value = parse_number(raw[3:] if percent else raw)
        if value is None:
            continue
        ordinal = match.start() > 0 and scan[match.start() - 1] == "第"
        numbers.append((match.start(), match.end(), value, "chinese" if not percent else "chinese%", ordinal))
    numbers.sort()

    quantities: list[Quantity] = []
    for start, end, value, written, ordinal in numbers:
        unit, modifier, unit_end = None, "", end
        if written == "chinese%":
            unit, written = "percent", "chinese"
        before = _CURRENCY_BEFORE.search(scan[max(0, start - 5) : start])
        if before and unit is None:
            unit = _CURRENCY_UNIT[before.group(1).strip()]
            start -= len(before.group(0))
        if unit is None:
            unit, modifier, unit_end = _unit_after(scan, end, value)
        kind = "number"
        if unit in MONEY_UNITS:
            kind = "money"
        elif unit == "percent":
            kind = "percent"
        elif unit in DURATION_UNITS:
            kind = "duration"
        quantities.append(
            Quantity(value, unit, kind, start, unit_end, text[start:unit_end], written, modifier, ordinal=ordinal)
        )
    # "five (5) day": the digits in brackets repeat the number whose unit reaches past them
    kept: list[Quantity] = []
    for q in quantities:
        if not kept or q.start >= kept[-1].end:
            kept.append(q)
    quantities = kept
    # ranges: "3 to 15 years", "3-15 years", "between 3 and 15 years", "三到五天"
    for i in range(len(quantities) - 2, -1, -1):
        q, nxt = quantities[i], quantities[i + 1]
        if q.unit is None and nxt.unit is not None and RANGE_JOIN.fullmatch(scan[q.end : nxt.start] or "x"):
            quantities[i] = Quantity(q.value, nxt.unit, nxt.kind, q.start, q.end, q.text, q.written, q.modifier, ordinal=q.ordinal)
    found.extend(quantities)
    found.sort(key=lambda q: q.start)
    return found


def _unit_after(scan: str, end: int, value: float | None = None) -> tuple[str | None, str, int]:
    """The unit written after a number (``value``) ending at ``end``: (unit, modifier, end of unit)."""
    rest = scan[end : end + 60]
    modifier = ""
    lead = re.match(r"\s*(\+)?\s*", rest)
    if lead.group(1):
        modifier = "+"
    pos = lead.end()
    # the same number repeated in brackets: "a five (5) day SLA", "10 (ten) days" (the one
    # inside is then dropped as overlapping)
    repeated = re.match(r"\(\s*([\d.,]+|[A-Za-z-]+)\s*\)\s*", rest[pos:])
    if repeated:
        again = parse_number(repeated.group(1))
        if again is not None and (value is None or same_value(again, value)):
            pos += repeated.end()
    if rest[pos : pos + 1] in ("%", "％"):
        return "percent", modifier, end + pos + 1
    # Chinese units directly (an optional space): "12周", "12 个月"
    zh = _ZH_UNIT.match(rest, pos)
    if zh:
        name = zh.lastgroup.rsplit("_", 1)[0]
        return name, modifier, end + zh.end()
    # English: "-week", " weeks", or up to 3 words in between ("240 annual leave hours")
    if rest[pos : pos + 1] == "-":
        unit = EN_UNIT.match(rest, pos + 1)
        return (unit.lastgroup, modifier, end + unit.end()) if unit else (None, modifier, end)
    cursor = pos
    # "15 or more days", "3 or fewer years": the unit after the comparison
    bound = re.match(r"or\s+(more|longer|greater|over|above|fewer|less|shorter)\s+", rest[pos:], re.I)
    if bound and EN_UNIT.match(rest, pos + bound.end()):
        modifier = modifier or ("+" if bound.group(1).lower() in ("more", "longer", "greater", "over", "above") else "-")
        cursor = pos + bound.end()
    for skipped in range(4):
        unit = EN_UNIT.match(rest, cursor)
        if unit:
            return unit.lastgroup, modifier, end + unit.end()
        word = re.match(r"([A-Za-z][A-Za-z'’]*)[ \t]+", rest[cursor:])
        if skipped == 3 or not word or word.group(1).lower() in _UNIT_BLOCKERS or parse_english_number(word.group(1)) is not None:
            break
        cursor += word.end()
    return None, modifier, end


# words after which a number's unit is no longer looked for
_UNIT_BLOCKERS = {"of", "per", "and", "or", "to", "than", "in", "on", "at", "for", "by", "from", "with", "x", "times", "a", "an", "each", "every", "the", "is", "are", "was", "were"}


def same_value(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


_CONVERSIONS = {("week", "day"): 7, ("year", "month"): 12, ("year", "quarter"): 4, ("quarter", "month"): 3, ("hour", "minute"): 60}


def compatible_values(a: Quantity, b: Quantity) -> bool:
    """Whether two quantities state the same value: equal numbers and units (or one without a
    unit), or an exact conversion (1 year = 12 months, 2 weeks = 14 days)."""
    if a.kind == "date" or b.kind == "date":
        if a.kind != b.kind:
            return False
        (ya, ma, da), (yb, mb, db) = a.date, b.date
        return ma == mb and (da is None or da == db) and (ya is None or yb is None or ya == yb)
    if a.value is None or b.value is None:
        return False
    if a.kind in ("time", "phone") or b.kind in ("time", "phone"):
        return a.kind == b.kind and same_value(a.value, b.value)
    if a.unit is None or b.unit is None or a.unit == b.unit:
        return same_value(a.value, b.value)
    for (big, small), factor in _CONVERSIONS.items():
        if (a.unit, b.unit) == (big, small):
            return same_value(a.value * factor, b.value)
        if (a.unit, b.unit) == (small, big):
            return same_value(a.value, b.value * factor)
    return False


UNIT_WORDS = {
    "week": ("week", "周", "星期"), "day": ("day", "天", "日"), "hour": ("hour", "小时"),
    "minute": ("minute", "分钟"), "month": ("month", "月"), "quarter": ("quarter", "季度"), "year": ("year", "年"),
    "night": ("night", "晚"), "pay_period": ("pay period", "周期"), "percent": ("percent", "%"),
    "usd": ("dollar", "$", "usd", "美元"), "cny": ("yuan", "元", "rmb"), "eur": ("euro", "€"),
    "gbp": ("pound", "£"), "mile": ("mile",),
}


