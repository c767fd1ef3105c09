"""Supporting sentences: which sentences of the retrieved passages answer a question.

Pure Python over plain inputs (no database, no Django): a question, a list of sources
(number ``n``, ``text``, optional ``heading``/``section`` and ``title``), and optionally an
``encode`` callable (``list[str] -> np.ndarray`` of unit vectors) for semantic scoring.

* **Units.** A source is split into units: a sentence of a paragraph, a list item, or a
  Markdown table row (also the ``a | b`` rows the DOCX and HTML parsers write). A table row
  keeps its table's header row as *context* ("Years of service | Hours per pay period"), and a
  list item keeps the sentence that leads into its list ("Annual leave accrues based on how
  long you've worked:") or its parent item, so a row read alone still says what it is about.
  Each unit knows its offsets in the source text, so the UI can highlight it.
* **Scores.** Lexical overlap with the question, each question token weighted by its rarity
  among the given sources (numbers and named terms weigh more), blended with the cosine of
  the embeddings when ``encode`` is given; a unit that holds the kind of value the question
  asks for ("how many", "how long", "when") gains a little.
* **Conditions.** Rows and list items often hold one value per condition ("Fewer than 3
  years: 4 hours per pay period"). The question's condition (years of service, "new
  employee", grade, trip length, full-time/part-time, or the label of one row of a list,
  such as a city) is compared with each unit's: a unit whose condition contradicts the
  question's is demoted, one whose condition matches is promoted. :func:`compare_conditions`
  and :meth:`EvidenceIndex.condition_state` are what ``chat/verification.py`` reuses.
* **Answerability.** :func:`answerability` says how well the best units cover what the
  question asks: its key words, and a value of the right kind when it asks for one.

Quantities (numbers in digits, English words or Chinese numerals, with units, amounts,
percentages and dates) are parsed here too (:func:`parse_quantities`), because conditions
are quantities; verification uses the same parser for claims.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence

from kbassist.retrieval.tokenize import tokenize
from kbassist.text import CITATION, CJK, sentence_spans

Encode = Callable[[list[str]], "object"]  # list[str] -> np.ndarray of unit vectors

INF = float("inf")
EPS = 1e-6

# =============================================================================================
# Numbers
# =============================================================================================
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
_EN_NUMBER = re.compile(
    rf"\b(?:{_EN_WORD})(?:(?:[\s-]+|\s+and\s+)(?:{_EN_WORD}))*\b", re.I
)

_ZH_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_ZH_UNITS = {"十": 10, "百": 100, "千": 1000}
_ZH_BIG = {"万": 10_000, "亿": 100_000_000}
_ZH_CHARS = "".join([*_ZH_DIGITS, *_ZH_UNITS, *_ZH_BIG])


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
    if not text or any(c not in _ZH_CHARS for c in text):
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


# =============================================================================================
# Quantities: numbers with their units, amounts, percentages, dates, times, codes
# =============================================================================================
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
    modifier: str = ""  # "+" when written "15+ years"
    date: tuple | None = None
    ordinal: bool = False


DURATION_UNITS = {"week", "day", "hour", "minute", "month", "year", "night", "pay_period"}
MONEY_UNITS = {"usd", "cny", "eur", "gbp"}

# English unit words (matched right after a number, after at most 3 other words)
_EN_UNIT_PATTERNS = [
    ("pay_period", r"pay[\s-]?periods?"),
    ("week", r"weeks?|wks?"),
    ("day", r"days?"),
    ("hour", r"hours?|hrs?"),
    ("minute", r"minutes?|mins?"),
    ("month", r"months?|mos"),
    ("year", r"years?|yrs?"),
    ("night", r"nights?"),
    ("percent", r"percent|per\s?cent|%"),
    ("usd", r"(?:us\s)?dollars?|usd"),
    ("cny", r"yuan|rmb|cny"),
    ("eur", r"euros?|eur"),
    ("mile", r"miles?"),
]
_EN_UNIT = re.compile("|".join(f"(?P<{name}>(?:{p})(?![a-z]))" for name, p in _EN_UNIT_PATTERNS), re.I)
_ZH_UNIT_PATTERNS = [
    ("year", r"周年"),
    ("week", r"个?星期|个?礼拜|周"),
    ("pay_period", r"个?(?:发薪|工资|薪资)周期"),
    ("day", r"个?工作日|天|日"),
    ("hour", r"个?小时|个?钟头"),
    ("minute", r"分钟"),
    ("month", r"个月"),
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
_ZH_NUM = rf"(?:\d{{1,4}}|[{_ZH_CHARS}]{{1,4}})"
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
_ZH_NUMBER = re.compile(rf"百分之[{_ZH_CHARS}\d.]+|[{_ZH_CHARS}]+|半(?=[年天日个小])")
_RANGE_JOIN = re.compile(r"\s*(?:-|–|—|~|～|to|and|or|through|至|到|或)\s*$", re.I)

# Masked before scanning (same length, so offsets hold): link targets, bare URLs, template
# tags, ``[n]`` citation markers, HTML tags.
_MASK = re.compile(r"\]\([^)\s]*\)|<https?://[^>\s]*>|https?://\S+|www\.\S+|{%.*?%}|{{.*?}}|<[^>\n]{1,200}>", re.S)


def mask(text: str) -> str:
    """``text`` with URLs, link targets, template tags, markers and HTML tags blanked out
    (same length, so offsets into the result are offsets into ``text``)."""
    def blank(match: re.Match) -> str:
        piece = match.group(0)
        keep = "]" if piece.startswith("](") else ""
        return keep + re.sub(r"[^\n]", " ", piece[len(keep):])

    text = CITATION.sub(lambda m: " " * len(m.group(0)), text)  # before links: "[5](url)" is a link
    return _MASK.sub(blank, text)


def _date_part(raw: str | None) -> int | None:
    if raw is None:
        return None
    raw = raw.strip(". ").lower()
    if raw in _MONTHS:
        return _MONTHS[raw]
    value = parse_number(raw)
    return int(value) if value is not None else None


def _overlaps(spans: list[tuple[int, int]], start: int, end: int) -> bool:
    return any(s < end and start < e for s, e in spans)


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
        if not _overlaps(taken, match.start(), match.end()):
            add(Quantity(None, None, "code", match.start(), match.end(), match.group(0)))
    for pattern, style in _DATE_PATTERNS:
        for match in pattern.finditer(scan):
            if _overlaps(taken, match.start(), match.end()):
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
        if _overlaps(taken, match.start(), match.end()):
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
        if _overlaps(taken, start, end):
            continue
        value = float(match.group(1).replace(",", "") + (match.group(2) or ""))
        rest = scan[end : end + 12]
        ordinal = False
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
        elif re.match(r"[A-Za-z]", rest) and not _EN_UNIT.match(rest):
            continue  # glued to letters: part of an identifier (13H21w1, 2FA)
        numbers.append((start, end, value, "digits", ordinal))
    for match in _EN_NUMBER.finditer(scan):
        if _overlaps(taken, *match.span()):
            continue
        value = parse_english_number(match.group(0))
        if value is not None:
            numbers.append((match.start(), match.end(), value, "words", False))
    for match in _ZH_NUMBER.finditer(scan):
        if _overlaps(taken, *match.span()):
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
            unit, modifier, unit_end = _unit_after(scan, end)
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
    # ranges: "3 to 15 years", "3-15 years", "between 3 and 15 years", "三到五天"
    for i in range(len(quantities) - 2, -1, -1):
        q, nxt = quantities[i], quantities[i + 1]
        if q.unit is None and nxt.unit is not None and _RANGE_JOIN.fullmatch(scan[q.end : nxt.start] or "x"):
            quantities[i] = Quantity(q.value, nxt.unit, nxt.kind, q.start, q.end, q.text, q.written, q.modifier, ordinal=q.ordinal)
    found.extend(quantities)
    found.sort(key=lambda q: q.start)
    return found


def _unit_after(scan: str, end: int) -> tuple[str | None, str, int]:
    """The unit written after a number ending at ``end``: (unit, modifier, end of unit)."""
    rest = scan[end : end + 60]
    modifier = ""
    lead = re.match(r"\s*(\+)?\s*", rest)
    if lead.group(1):
        modifier = "+"
    pos = lead.end()
    if rest[pos : pos + 1] in ("%", "％"):
        return "percent", modifier, end + pos + 1
    # Chinese units directly (an optional space): "12周", "12 个月"
    zh = _ZH_UNIT.match(rest, pos)
    if zh:
        name = zh.lastgroup.rsplit("_", 1)[0]
        return name, modifier, end + zh.end()
    # English: "-week", " weeks", or up to 3 words in between ("240 annual leave hours")
    if rest[pos : pos + 1] == "-":
        unit = _EN_UNIT.match(rest, pos + 1)
        return (unit.lastgroup, modifier, end + unit.end()) if unit else (None, modifier, end)
    cursor = pos
    for skipped in range(4):
        unit = _EN_UNIT.match(rest, cursor)
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


_CONVERSIONS = {("week", "day"): 7, ("year", "month"): 12, ("hour", "minute"): 60}


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
    "minute": ("minute", "分钟"), "month": ("month", "月"), "year": ("year", "年"),
    "night": ("night", "晚"), "pay_period": ("pay period", "周期"), "percent": ("percent", "%"),
    "usd": ("dollar", "$", "usd", "美元"), "cny": ("yuan", "元", "rmb"), "eur": ("euro", "€"),
    "gbp": ("pound", "£"), "mile": ("mile",),
}


# =============================================================================================
# Conditions
# =============================================================================================
@dataclass
class Condition:
    """What a question, a row or a sentence is conditioned on. ``ranges``: dimension
    ("service" in years, "trip" in days, "grade") -> intervals ``(lo, hi)``, closed (strict
    bounds are nudged by ``EPS``). ``categories``: dimension ("schedule") -> values."""

    ranges: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    categories: dict[str, set[str]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.ranges or self.categories)

    def add_range(self, dim: str, lo: float, hi: float):
        self.ranges.setdefault(dim, []).append((lo, hi))

    def add_category(self, dim: str, value: str):
        self.categories.setdefault(dim, set()).add(value)

    def filled_from(self, other: "Condition") -> "Condition":
        """This condition, with ``other``'s dimensions where this one has none."""
        out = Condition({k: list(v) for k, v in self.ranges.items()}, {k: set(v) for k, v in self.categories.items()})
        for dim, spans in other.ranges.items():
            out.ranges.setdefault(dim, list(spans))
        for dim, values in other.categories.items():
            out.categories.setdefault(dim, set(values))
        return out


def compare_conditions(asked: Condition, stated: Condition) -> str | None:
    """``"mismatch"`` when a dimension both speak of has no value in common, ``"match"`` when
    they share at least one dimension and agree on all shared ones, None when they share none."""
    shared = False
    for dim, spans in asked.ranges.items():
        if dim in stated.ranges:
            shared = True
            if not any(a_lo <= b_hi and b_lo <= a_hi for a_lo, a_hi in spans for b_lo, b_hi in stated.ranges[dim]):
                return "mismatch"
    for dim, values in asked.categories.items():
        if dim in stated.categories:
            shared = True
            if not values & stated.categories[dim]:
                return "mismatch"
    return "match" if shared else None


_UPPER_BEFORE = re.compile(r"(?:fewer than|less than|under|below|no more than|up to|within(?: the| your)?(?: first)?|in(?: the| your)? first|(?:the |your )?first|不到|不满|少于|低于|未满|小于|前)\s*$", re.I)
_LOWER_STRICT_BEFORE = re.compile(r"(?:more than|over|greater than|longer than|超过|多于|大于|高于)\s*$", re.I)
_LOWER_BEFORE = re.compile(r"(?:at least|a minimum of|minimum of|after|满|至少|已满|已经满)\s*$", re.I)
_LOWER_AFTER = re.compile(r"\s*(?:\+|or (?:more|longer|greater|above|over)|and (?:above|over|up|more|longer|beyond)|plus\b|以上|及以上|或以上|或更久|或更长)", re.I)
_UPPER_AFTER = re.compile(r"\s*(?:or (?:less|fewer|under|below)|and (?:under|below|less)|以下|以内|之内|及以下)", re.I)
_BETWEEN_BEFORE = re.compile(r"between\s*$|介于\s*$", re.I)

_NEW_EMPLOYEE = re.compile(
    r"\b(?:new(?:ly)?[\s-]+(?:hired?|hires?|employees?|staff|starters?|federal employees?|to (?:the )?(?:federal )?government|joiners?)|"
    r"just (?:started|joined|been hired)|recently (?:hired|joined|started)|started (?:last|this) (?:week|month)|"
    r"first year|my first (?:week|month|months)|new here|i(?:'m| am) new)\b"
    r"|新员工|新入职|刚入职|刚加入|刚来|新人|入职第一年|第一年|首年|新进员工|新同事",
    re.I,
)
_SERVICE_CUE = re.compile(
    r"\b(?:service|served|serving|worked|working|work for|employ\w*|tenure|experience|career|government|federal|anniversary|been (?:here|with|at)|on the job|hired|with (?:the )?(?:agency|gsa|tts))\b|工龄|服务|工作|入职|司龄|任职",
    re.I,
)
_TRAVEL_CUE = re.compile(r"\b(?:trips?|travel\w*|tdy|temporary duty|journey|stays?|lodging|per diem)\b|出差|差旅|旅行|行程", re.I)
_AGE = re.compile(r"^\s*(?:old|of age)\b|^\s*岁|^\s*大", re.I)
_REQUIREMENT = re.compile(r"\b(?:must|need(?:s)? to|required?|requirements?|eligib\w*|in order to|qualif\w*|have to|has to)\b|必须|需要|要求|资格|才能", re.I)
_CONDITIONAL = re.compile(r"\b(?:if|when|for|with|who|whose|once|after|employees?|staff|those|people|anyone)\b|如果|对于|的员工|员工|者|时", re.I)
_GRADE = re.compile(r"\bGS[-\s]?(\d{1,2})\b(?:\s*(?:-|–|to|through)\s*(?:GS[-\s]?)?(\d{1,2})\b)?", re.I)
_SCHEDULE = [("full", re.compile(r"\bfull[\s-]?time\b|全职", re.I)), ("part", re.compile(r"\bpart[\s-]?time\b|兼职", re.I))]


def parse_condition(text: str, mode: str = "question", *, context: str = "") -> Condition:
    """The condition ``text`` states.

    ``mode``: ``"question"`` (any "N years" counts, unless it is an age), ``"label"`` (the
    condition part of a table row or list item: "Fewer than 3 years", "15+ years"),
    ``"claim"`` (a clause of an answer: comparators count, bare "N years" only next to a word
    about service) and ``"prose"`` (a sentence of a source: only conditional phrasing, "if
    you have fewer than 3 years of service", and never a requirement such as "you must have
    at least one year of service"). ``context`` (a list's lead-in, a table header, the
    section heading) supplies cue words: whether years are years of service, days a trip.
    """
    condition = Condition()
    scan = mask(text)
    if mode == "prose" and (_REQUIREMENT.search(scan) or not _CONDITIONAL.search(scan)):
        return condition
    cues = f"{scan} {context}"
    service_cue = bool(_SERVICE_CUE.search(cues))
    travel_cue = bool(_TRAVEL_CUE.search(cues))

    if mode != "label" and _NEW_EMPLOYEE.search(scan):
        condition.add_range("service", 0.0, 1.0 - EPS)

    quantities = [q for q in parse_quantities(scan, masked=True) if q.kind == "duration" and not q.ordinal]
    i = 0
    while i < len(quantities):
        q = quantities[i]
        lo = hi = q.value
        start, end = q.start, q.end
        before = scan[max(0, start - 40) : start]
        if i + 1 < len(quantities) and quantities[i + 1].unit == q.unit and _RANGE_JOIN.fullmatch(scan[q.end : quantities[i + 1].start] or "x"):
            nxt = quantities[i + 1]
            lo, hi, end = q.value, nxt.value, nxt.end
            compared = True
            i += 1
        else:
            after = scan[end : end + 20]
            compared = True
            if q.modifier == "+" or _LOWER_AFTER.match(after):
                hi = INF
            elif _UPPER_AFTER.match(after):
                lo = 0.0
            elif _UPPER_BEFORE.search(before):
                lo = 0.0
                if not re.search(r"(?:no more than|up to|within(?: the| your)?(?: first)?)\s*$", before, re.I):
                    hi -= EPS
            elif _LOWER_STRICT_BEFORE.search(before):
                lo, hi = lo + EPS, INF
            elif _LOWER_BEFORE.search(before):
                hi = INF
            else:
                compared = False
        i += 1
        if q.unit in ("year", "month"):
            scale = 1.0 if q.unit == "year" else 1 / 12
            lo, hi = lo * scale, hi * scale
            if _AGE.match(scan[end : end + 10]) or lo > 60:
                continue
            counts = {
                "question": True,
                "label": True,
                "claim": compared or service_cue,
                "prose": compared and service_cue,
            }[mode]
            if counts:
                condition.add_range("service", lo, hi)
        elif q.unit in ("day", "night", "week"):
            scale = 7.0 if q.unit == "week" else 1.0
            lo, hi = lo * scale, hi * scale
            counts = {
                "question": travel_cue,
                "label": travel_cue or compared,
                "claim": travel_cue,
                "prose": compared and travel_cue,
            }[mode]
            if counts:
                condition.add_range("trip", lo, hi)

    for match in _GRADE.finditer(scan):
        lo = hi = float(match.group(1))
        if match.group(2):
            hi = float(match.group(2))
        after = scan[match.end() : match.end() + 20]
        before = scan[max(0, match.start() - 20) : match.start()]
        if re.match(r"\s*(?:and|or) (?:above|higher|up)|\s*\+", after, re.I) or _LOWER_BEFORE.search(before):
            hi = 15.0
        elif re.match(r"\s*(?:and|or) (?:below|lower|under)", after, re.I) or _UPPER_BEFORE.search(before):
            lo = 1.0
        condition.add_range("grade", lo, hi)

    for value, pattern in _SCHEDULE:
        if pattern.search(scan):
            condition.add_category("schedule", value)
    return condition


# =============================================================================================
# Units: sentences, list items, table rows
# =============================================================================================
@dataclass
class Unit:
    """One piece of evidence inside a source: ``text[start:end]`` of that source."""

    source_n: int
    start: int
    end: int
    text: str
    kind: str = "sentence"  # sentence | item | row
    context: str = ""  # a table's header row, a list's lead-in sentence or parent item
    label: str = ""  # the condition part of a row or item: its first cell, "Fewer than 3 years"
    label_span: tuple[int, int] | None = None  # offsets of the label in the source text
    group: int = -1  # rows of one table / items of one list share a group
    heading: str = ""
    condition: Condition = field(default_factory=Condition)
    tokens: frozenset = frozenset()
    context_tokens: frozenset = frozenset()
    heading_tokens: frozenset = frozenset()
    label_tokens: frozenset = frozenset()


_LIST_ITEM = re.compile(r"^([ \t]*)(?:[-*+•▪◦]|\d{1,2}[.)])[ \t]+")
_HEADING_LINE = re.compile(r"^[ \t]{0,3}#{1,6}[ \t]+")
_TABLE_SEPARATOR = re.compile(r"^[\s|:\-–]+$")
_FENCE = re.compile(r"^[ \t]*(```|~~~)")
_LONG_ITEM = 300  # characters: a longer list item is split into its sentences


def plain(text: str) -> str:
    """Markdown made readable: links become their text, emphasis and escapes go, template
    tags and HTML tags go, table pipes become separators."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"<https?://[^>]+>|{%.*?%}|{{.*?}}|<[^>\n]{1,200}>", "", text, flags=re.S)
    text = re.sub(r"\*\*|__|(?<![\w*])[*_](?=\S)|(?<=\S)[*_](?![\w*])", "", text)
    text = re.sub(r"\\([^\w\s])", r"\1", text)
    text = re.sub(r"^\s*\|\s*|\s*\|\s*$", "", text)
    text = re.sub(r"\s*\|\s*", " | ", text)
    return re.sub(r"[ \t]+", " ", text).strip()


_ALWAYS_ABBREVIATION = re.compile(r"(?:^|[\s(])(?:St|Dr|Mr|Mrs|Ms|Mx|No|Nos|vs|e\.g|i\.e|Ste|Ave|Blvd|Rd|[A-Z])\.$")
_MAYBE_ABBREVIATION = re.compile(r"(?:^|[\s(])(?:etc|approx|Inc|Jr|Sr|Dept|U\.S|D\.C|a\.m|p\.m|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)\.$")


def sentences(text: str) -> list[tuple[int, int]]:
    """``kbassist.text.sentence_spans``, without breaking after common abbreviations ("1800 F
    St. NW", "e.g. a laptop", "Washington, D.C. office")."""
    spans: list[tuple[int, int]] = []
    for start, end in sentence_spans(text):
        if spans:
            previous = text[spans[-1][0] : spans[-1][1]]
            following = text[start:end]
            if "\n" not in text[spans[-1][1] : start] and (
                _ALWAYS_ABBREVIATION.search(previous)
                or (_MAYBE_ABBREVIATION.search(previous) and re.match(r"[a-z0-9(]", following))
            ):
                spans[-1] = (spans[-1][0], end)
                continue
        spans.append((start, end))
    return spans


def _lines(text: str) -> list[tuple[int, int]]:
    """(start, end) of each line, the line break excluded."""
    spans, start = [], 0
    for match in re.finditer(r"\n", text):
        spans.append((start, match.start()))
        start = match.end()
    spans.append((start, len(text)))
    return spans


def _strip_span(text: str, start: int, end: int) -> tuple[int, int]:
    piece = text[start:end]
    lead = len(piece) - len(piece.lstrip())
    return start + lead, start + len(piece.rstrip())


def _cells(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Spans of the cells of a table row ``text[start:end]`` (outer pipes dropped)."""
    line = text[start:end]
    bounds = [i for i, c in enumerate(line) if c == "|" and (i == 0 or line[i - 1] != "\\")]
    edges = [-1, *bounds, len(line)]
    cells = []
    for a, b in zip(edges, edges[1:]):
        s, e = _strip_span(text, start + a + 1, start + b)
        if e > s:
            cells.append((s, e))
    return cells


def _is_table_line(line: str) -> bool:
    stripped = line.strip()
    return stripped.startswith("|") or (stripped.count("|") >= 1 and " | " in stripped)


def split_units(text: str, source_n: int = 1, heading: str = "") -> list[Unit]:
    """The units of one source, in order (see the module docstring)."""
    masked = mask(text)
    lines = _lines(masked)
    units: list[Unit] = []
    group_counter = [0]
    current_heading = heading
    paragraph: list[tuple[int, int]] = []
    last_sentence = ""  # the lead-in for a list or table that follows
    i = 0

    def new_group() -> int:
        group_counter[0] += 1
        return source_n * 100_000 + group_counter[0]

    def flush_paragraph():
        nonlocal paragraph, last_sentence
        if not paragraph:
            return
        start, end = paragraph[0][0], paragraph[-1][1]
        block = masked[start:end].replace("\n", " ")
        for a, b in sentences(block):
            _add(units, text, masked, source_n, start + a, start + b, "sentence", heading=current_heading)
            last_sentence = plain(text[start + a : start + b])
        paragraph = []

    while i < len(lines):
        start, end = lines[i]
        line = masked[start:end]
        if not line.strip():
            flush_paragraph()
            i += 1
            continue
        if _FENCE.match(line):  # a code block: kept whole as paragraphs
            flush_paragraph()
            j = i + 1
            while j < len(lines) and not _FENCE.match(masked[lines[j][0] : lines[j][1]]):
                j += 1
            i = j + 1
            continue
        if _HEADING_LINE.match(line):
            flush_paragraph()
            title = plain(re.sub(r"^\s*#+\s*", "", text[start:end]))
            current_heading = f"{heading} › {title}" if heading else title
            last_sentence = title
            i += 1
            continue
        if _is_table_line(line):
            flush_paragraph()
            j = i
            while j < len(lines) and _is_table_line(masked[lines[j][0] : lines[j][1]]):
                j += 1
            block = lines[i:j]
            if len(block) >= 2 or line.strip().startswith("|"):
                _add_table(units, text, masked, source_n, block, last_sentence, current_heading, new_group())
                i = j
                continue
            paragraph.append((start, end))
            i += 1
            continue
        item = _LIST_ITEM.match(line)
        if item:
            flush_paragraph()
            i = _add_list(units, text, masked, source_n, lines, i, last_sentence, current_heading, new_group)
            continue
        paragraph.append((start, end))
        i += 1
    flush_paragraph()
    return units


def _add(units, text, masked, source_n, start, end, kind, *, context="", label_span=None, group=-1, heading=""):
    start, end = _strip_span(text, start, end)
    if end <= start or not re.search(r"[^\W_]", masked[start:end]):
        return None
    label = text[label_span[0] : label_span[1]] if label_span else ""
    unit = Unit(source_n, start, end, text[start:end], kind, context, plain(label), label_span, group, heading)
    units.append(unit)
    return unit


def _add_table(units, text, masked, source_n, block, lead_in, heading, group):
    separator = next((k for k, (s, e) in enumerate(block) if _TABLE_SEPARATOR.match(masked[s:e]) and "-" in masked[s:e]), None)
    header_index = None
    if separator is not None and separator > 0:
        header_index = separator - 1
    elif separator is None and not re.search(r"\d", masked[block[0][0] : block[0][1]]):
        header_index = 0  # DOCX/HTML tables: the first row, when it holds no numbers, is the header
    header_cells = []
    if header_index is not None:
        s, e = block[header_index]
        header_cells = [plain(text[a:b]) for a, b in _cells(text, s, e)]
    header = " | ".join(c for c in header_cells if c)
    context = " — ".join(p for p in (lead_in, header) if p)
    for k, (s, e) in enumerate(block):
        if k == separator or k == header_index:
            continue
        cells = _cells(text, s, e)
        if not cells:
            continue
        label_cells = [cells[0]]
        for c, (a, b) in enumerate(cells[1:], start=1):  # other condition columns, named by the header
            if c < len(header_cells) and re.search(r"years? of service|service|tenure|grade|location|city|employee type|employment|schedule|length of (?:trip|travel|stay)|trip", header_cells[c], re.I):
                label_cells.append((a, b))
        unit = _add(units, text, masked, source_n, s, e, "row", context=context, label_span=cells[0], group=group, heading=heading)
        if unit is not None:
            label_text = " ".join(plain(text[a:b]) for a, b in label_cells)
            header_label = " ".join(header_cells[: len(label_cells)]) if header_cells else ""
            unit.label = label_text
            unit.condition = parse_condition(_with_header_unit(label_text, header_label), "label", context=f"{header_label} {context} {heading}")
            if len(cells) > 1 and not unit.condition:
                # a value cell may still state the condition ("Employees with fewer than 3 years")
                unit.condition = parse_condition(plain(text[s:e]), "prose", context=f"{context} {heading}")


_HEADER_UNIT = re.compile(r"\b(years?|months?|weeks?|days?|nights?)\b", re.I)


def _with_header_unit(label: str, header: str) -> str:
    """A label cell with bare numbers ("3 to 15") under a header naming the unit ("Years of
    service") reads as "3 to 15 years"."""
    unit = _HEADER_UNIT.search(header)
    if unit and re.search(r"\d", label) and not _EN_UNIT.search(label) and not re.search(f"[{CJK}]", label):
        return f"{label} {unit.group(1).lower()}"
    return label


_LABEL_SPLIT = re.compile(r"^\s*(?:\*\*|__)?(?P<label>[^:\n]{1,80}?)(?:\*\*|__)?\s*(?::|：|\s[–—-]\s)")


def _add_list(units, text, masked, source_n, lines, i, lead_in, heading, new_group) -> int:
    """Adds the items of the list starting at line ``i``; returns the first line after it."""
    stack: list[tuple[int, int, Unit | None, int]] = []  # (indent, group, unit, item start)
    while i < len(lines):
        start, end = lines[i]
        line = masked[start:end]
        item = _LIST_ITEM.match(line)
        if not item:
            break
        indent = len(item.group(1).expandtabs(4))
        j = i + 1
        item_end = end
        while j < len(lines):  # continuation lines: indented, not a new item
            s, e = lines[j]
            nxt = masked[s:e]
            if not nxt.strip() or _LIST_ITEM.match(nxt) or _HEADING_LINE.match(nxt) or _is_table_line(nxt):
                break
            if len(nxt) - len(nxt.lstrip()) < 2:
                break
            item_end = e
            j += 1
        while stack and stack[-1][0] > indent:
            stack.pop()
        if stack and stack[-1][0] == indent:
            group = stack[-1][1]
            stack.pop()
        else:
            group = new_group()
        parent = stack[-1][2] if stack else None
        context = plain(parent.text) if parent is not None else lead_in
        content_start = start + item.end()
        label_match = _LABEL_SPLIT.match(masked[content_start:item_end])
        label_span = None
        if label_match and len(label_match.group("label").split()) <= 8 and not re.search(r"[.!?。]\s", label_match.group("label")):
            a = content_start + label_match.start("label")
            label_span = (a, a + len(label_match.group("label").rstrip()))
        first = None
        if item_end - content_start > _LONG_ITEM:
            block = masked[content_start:item_end].replace("\n", " ")
            for a, b in sentences(block):
                unit = _add(units, text, masked, source_n, content_start + a, content_start + b, "item", context=context, label_span=label_span if first is None else None, group=group, heading=heading)
                first = first or unit
                if unit is not None:
                    unit.label = plain(text[label_span[0] : label_span[1]]) if label_span else ""
        else:
            first = _add(units, text, masked, source_n, content_start, item_end, "item", context=context, label_span=label_span, group=group, heading=heading)
        parent_condition = parent.condition if parent is not None else Condition()
        item_units = [u for u in units if u.group == group and u.start >= content_start and u.end <= item_end]
        for unit in item_units:
            if label_span:
                own = parse_condition(unit.label, "label", context=f"{context} {heading}")
            else:
                own = parse_condition(plain(unit.text), "prose", context=f"{context} {heading}")
            unit.condition = own.filled_from(parent_condition)
        stack.append((indent, group, first, content_start))
        i = j
        while i < len(lines) and not masked[lines[i][0] : lines[i][1]].strip():
            # a blank line inside a list: the list goes on if an item follows
            if i + 1 < len(lines) and _LIST_ITEM.match(masked[lines[i + 1][0] : lines[i + 1][1]]):
                i += 1
            else:
                break
    return i


# =============================================================================================
# Sources and the index over their units
# =============================================================================================
@dataclass
class Source:
    n: int
    text: str
    heading: str = ""
    title: str = ""


def as_source(item, position: int = 1) -> Source:
    """A source from a ``Source``, a dict (``n``, ``text``, ``heading``/``section``,
    ``title``), an object with those attributes, an ``(n, text)`` tuple or a bare string."""
    if isinstance(item, Source):
        return item
    if isinstance(item, str):
        return Source(position, item)
    if isinstance(item, (tuple, list)):
        return Source(int(item[0]), str(item[1]), *(str(x or "") for x in item[2:4]))
    get = item.get if isinstance(item, dict) else (lambda key, default=None: getattr(item, key, default))
    return Source(
        int(get("n", position) or position),
        str(get("text", "") or ""),
        str(get("heading", None) or get("section", None) or ""),
        str(get("title", None) or ""),
    )


@dataclass
class EvidenceSentence:
    """A supporting unit: ``text`` is exactly ``source.text[start:end]``; ``quote`` is the
    same with Markdown made readable; ``context`` the table header or list lead-in it belongs
    to; ``condition`` whether its condition matches the question's ("match", "mismatch", None)."""

    source_n: int
    text: str
    score: float
    start: int
    end: int
    context: str = ""
    kind: str = "sentence"
    condition: str | None = None
    heading: str = ""
    semantic: float | None = None  # cosine with the question, when it was embedded

    @property
    def quote(self) -> str:
        return plain(self.text)


_GENERIC_WORDS = (
    "how many much long often what when where which who whom whose why do does did can could should would will "
    "shall may might must i me my mine we us our you your get gets got have has had need needs want know tell please "
    "about is are am be been there any some give given there's what's i'm i've let allowed allow able "
    "amount number"
)
_GENERIC = frozenset(tokenize(_GENERIC_WORDS)) | {
    "多少", "什么", "怎么", "如何", "可以", "请问", "时候", "需要", "我的", "我们", "哪些", "是否", "能否",
    "几天", "几个", "多久", "多长", "长时", "时间", "我有", "我能", "我可", "有多", "吗", "呢", "我", "么",
}
_QUESTION_NAME = re.compile(r"\b[A-Z][a-z]+(?:\s+(?:of|and|for|the|&)?\s*[A-Z][a-z]+)+\b|\b[A-Z]{2,}[a-z]*\b|\b[A-Z]{1,6}-\d+\b")


def wanted_value(question: str) -> str | None:
    """The kind of value the question asks for: "duration", "amount", "date", "number" or None."""
    q = question.lower()
    if re.search(r"how long|how many (?:days|weeks|hours|months|years|minutes|nights)|多久|多长时间|几天|几周|几个月|几个小时|几年|多少天|多少周|多少小时|多少个月|多少年", q):
        return "duration"
    if re.search(r"how much|cost|price|reimburs\w* (?:amount|rate|limit)|多少钱|金额|费用|价格", q):
        return "amount"
    if re.search(r"\bwhen\b|what date|what day|by when|deadline|什么时候|何时|哪天|几号|截止", q):
        return "date"
    if re.search(r"how many|number of|maximum|minimum|\blimit\b|\bcap\b|what percent|多少|几|最多|最少|上限|下限|百分之", q):
        return "number"
    return None


_ASKED_UNIT = re.compile(
    r"how many (?P<en>weeks?|days?|hours?|months?|years?|minutes?|nights?|pay periods?)|(?:多少|几)个?(?P<zh>周|星期|天|小时|个月|月|年)"
)
_ZH_ASKED = {"周": "week", "星期": "week", "天": "day", "小时": "hour", "个月": "month", "月": "month", "年": "year"}


def asked_unit(question: str) -> str | None:
    """The unit a "how many weeks / 多少天" question asks for, canonical (week, day, ...)."""
    match = _ASKED_UNIT.search(question.lower())
    if not match:
        return None
    if match.group("zh"):
        return _ZH_ASKED[match.group("zh")]
    unit = _EN_UNIT.fullmatch(match.group("en"))
    return unit.lastgroup if unit else None


def _fits(wanted: str | None, quantities: list[Quantity]) -> bool:
    kinds = {q.kind for q in quantities if not q.ordinal}
    if wanted is None:
        return True
    if wanted == "duration":
        return bool(kinds & {"duration"})
    if wanted == "amount":
        return bool(kinds & {"money", "number", "percent", "duration"})
    if wanted == "date":
        return bool(kinds & {"date", "duration", "time"})
    return bool(kinds - {"code", "phone"})


_NAME_LIKE = re.compile(rf"[A-Z]|[{CJK}]")  # a label that names something: "Chicago, IL", "Full-time", "兼职"


class EvidenceIndex:
    """The units of a list of sources, with the statistics scoring needs. Build it once per
    answer and share it between :func:`rank_evidence`, :func:`answerability` and
    ``verification.verify``."""

    max_encoded = 48  # units embedded per question (the lexically best ones); MiniLM: ~1.5 s on 2 cores

    def __init__(self, sources: Iterable):
        self.sources = [as_source(s, k) for k, s in enumerate(sources, start=1)]
        self.by_n = {s.n: s for s in self.sources}
        self.units: list[Unit] = []
        self.acronyms = acronym_definitions(" \n".join(f"{s.title}\n{s.heading}\n{s.text}" for s in self.sources))
        for source in self.sources:
            head = " ".join(p for p in (source.title, source.heading) if p)
            for unit in split_units(source.text, source.n, source.heading):
                unit.tokens = self._expand(tokenize(plain(unit.text)))
                unit.context_tokens = self._expand(tokenize(unit.context))
                unit.heading_tokens = self._expand(tokenize(f"{head} {unit.heading}"))
                unit.label_tokens = frozenset(t for t in tokenize(unit.label) if not t.isdigit() and len(t) > 1)
                self.units.append(unit)
        self.df: dict[str, int] = {}
        for unit in self.units:
            for token in unit.tokens | unit.context_tokens:
                self.df[token] = self.df.get(token, 0) + 1
        self.groups: dict[int, list[Unit]] = {}
        for unit in self.units:
            if unit.group >= 0:
                self.groups.setdefault(unit.group, []).append(unit)
        self._quantities: dict[int, list[Quantity]] = {}

    def _expand(self, tokens: list[str]) -> frozenset:
        """``tokens`` plus the words of each acronym they contain that the sources define."""
        out = set(tokens)
        for token in tokens:
            out.update(self.acronyms.get(token, ()))
        return frozenset(out)

    # -- statistics --------------------------------------------------------------------------
    def idf(self, token: str) -> float:
        n = max(1, len(self.units))
        return math.log(1 + (n + 1) / (self.df.get(token, 0) + 0.5))

    def quantities(self, unit: Unit) -> list[Quantity]:
        key = id(unit)
        if key not in self._quantities:
            self._quantities[key] = parse_quantities(unit.text)
        return self._quantities[key]

    def unit_at(self, source_n: int, offset: int) -> Unit | None:
        """The unit of source ``source_n`` that contains ``offset``."""
        for unit in self.units:
            if unit.source_n == source_n and unit.start <= offset < unit.end:
                return unit
        return None

    # -- conditions --------------------------------------------------------------------------
    @staticmethod
    def named_label(unit: Unit) -> bool:
        """Whether ``unit`` is a row or item labelled by a short name ("Chicago, IL",
        "Full-time", "Civilian"), not by a number or a phrase."""
        return bool(unit.label_tokens) and len(unit.label_tokens) <= 3 and not unit.condition.ranges and bool(_NAME_LIKE.match(unit.label))

    def label_hits(self, question_tokens: set[str], group: int) -> set[int]:
        """Ids of the units of ``group`` whose name label the question names (at least half of
        the label's idf weight)."""
        hits = set()
        for unit in self.groups.get(group, []):
            if not self.named_label(unit):
                continue
            weight = sum(self.idf(t) for t in unit.label_tokens)
            found = sum(self.idf(t) for t in unit.label_tokens if t in question_tokens)
            if weight and found / weight >= 0.5:
                hits.add(id(unit))
        return hits

    def condition_state(self, unit: Unit, asked: Condition, question_tokens: set[str] | None = None) -> str | None:
        """Whether ``unit``'s condition fits ``asked``: "match", "mismatch" or None. Beyond the
        parsed conditions, rows or items labelled by name (cities, employee types) match when
        the question names their label, and mismatch when it names only siblings' labels."""
        state = compare_conditions(asked, unit.condition)
        if state == "mismatch" or question_tokens is None or unit.group < 0 or not self.named_label(unit):
            return state
        hits = self.label_hits(question_tokens, unit.group)
        named = {id(u) for u in self.groups.get(unit.group, []) if self.named_label(u)}
        if not hits or hits == named:
            return state
        return "match" if id(unit) in hits else "mismatch"

    # -- scoring -----------------------------------------------------------------------------
    def question_weights(self, question: str) -> dict[str, float]:
        tokens = tokenize(plain(question))
        named = set()
        for match in _QUESTION_NAME.finditer(question):
            named.update(tokenize(match.group(0)))
        weights: dict[str, float] = {}
        for token in tokens:
            w = self.idf(token)
            if token in _GENERIC:
                w *= 0.1
            if token.isdigit():
                w *= 2.0
            if token in named:
                w *= 1.5
            weights[token] = max(weights.get(token, 0.0), w)
        return weights

    def rank(self, question: str, encode: Encode | None = None, *, only: int | None = None) -> list[EvidenceSentence]:
        units = [u for u in self.units if only is None or u.source_n == only]
        if not units:
            return []
        weights = self.question_weights(question)
        total = sum(weights.values()) or 1.0
        q_tokens = set(weights)
        asked = parse_condition(question, "question")
        wanted = wanted_value(question)
        unit_asked = asked_unit(question)
        lexicals = []
        for unit in units:
            lexical = 0.0
            for token, w in weights.items():
                if token in unit.tokens:
                    lexical += w
                elif token in unit.context_tokens:
                    lexical += 0.6 * w
                elif token in unit.heading_tokens:
                    lexical += 0.3 * w
            lexicals.append(lexical / total)
        semantic: list[float | None] = [None] * len(units)
        if encode is not None:
            # only the lexically best units are embedded (in source order when none matches:
            # a question in another language than the sources): embedding is the slow part
            chosen = sorted(range(len(units)), key=lambda k: (-lexicals[k], k))[: self.max_encoded]
            for k, cos in zip(chosen, _cosines(encode, question, [_embed_text(units[k]) for k in chosen])):
                semantic[k] = cos
        ranked = []
        for unit, lexical, cos in zip(units, lexicals, semantic):
            score = 0.6 * lexical + 0.4 * max(0.0, cos or 0.0) if encode is not None else lexical
            if wanted:
                quantities = self.quantities(unit)
                score = score + 0.08 if _fits(wanted, quantities) else score * 0.85
                if unit_asked and any(q.unit == unit_asked for q in quantities):
                    score += 0.08
            if len(unit.tokens) < 2:
                score *= 0.5
            state = self.condition_state(unit, asked, q_tokens)
            if state == "match":
                score = score * 1.25 + 0.1
            elif state == "mismatch":
                score *= 0.4
            ranked.append(
                EvidenceSentence(unit.source_n, unit.text, round(score, 6), unit.start, unit.end, unit.context, unit.kind, state, unit.heading, cos)
            )
        order = sorted(range(len(ranked)), key=lambda k: (-ranked[k].score, ranked[k].source_n, ranked[k].start))
        return [ranked[k] for k in order]


_DEFINITION = re.compile(r"((?:[A-Za-z][\w’'-]*\s+){1,8})\(([A-Z][A-Za-z]{1,7})\)")
_MINOR = {"and", "of", "the", "for", "to", "a", "an", "in", "on", "&"}


def acronym_definitions(text: str) -> dict[str, tuple[str, ...]]:
    """Acronyms ``text`` defines, "Paid Parental Leave (PPL)": {"ppl": ("paid", "parent", "leav")}
    (keys and values are retrieval tokens)."""
    found: dict[str, tuple[str, ...]] = {}
    for match in _DEFINITION.finditer(plain(text)):
        acronym = match.group(2)
        letters = [c for c in acronym if c.isupper()]
        words = match.group(1).split()
        for k in range(len(words), 0, -1):  # the shortest tail whose initials spell the acronym
            tail = words[-k:]
            initials = [w[0].upper() for w in tail if w.lower() not in _MINOR]
            if initials == letters and tail[0].lower() not in _MINOR:
                found[acronym.lower()] = tuple(tokenize(" ".join(tail)))
                break
    return found


def _embed_text(unit: Unit) -> str:
    body = plain(unit.text)
    return f"{unit.context}: {body}" if unit.kind in ("row", "item") and unit.context else body


def _cosines(encode: Encode, question: str, texts: list[str]) -> list[float]:
    vectors = encode([question, *texts])
    q = vectors[0]
    return [float(sum(a * b for a, b in zip(q, v))) if not hasattr(v, "dot") else float(v.dot(q)) for v in vectors[1:]]


# =============================================================================================
# Public functions
# =============================================================================================
def rank_evidence(question: str, sources: Sequence | None = None, encode: Encode | None = None, *, index: EvidenceIndex | None = None, only: int | None = None, limit: int | None = None) -> list[EvidenceSentence]:
    """Every unit of the sources, best first, scored against ``question`` (``only``: the
    units of one source, e.g. to highlight what supports an answer sentence in source n)."""
    index = index or EvidenceIndex(sources or [])
    ranked = index.rank(question, encode, only=only)
    return ranked[:limit] if limit else ranked


def best_evidence(question: str, sources: Sequence | None = None, encode: Encode | None = None, *, k: int = 2, index: EvidenceIndex | None = None, ranked: list[EvidenceSentence] | None = None) -> list[EvidenceSentence]:
    """The one or two units to quote under the answer: the best, and the runner-up when it
    scores nearly as well (>= 70%) and does not contradict the question's condition."""
    ranked = ranked if ranked is not None else rank_evidence(question, sources, encode, index=index)
    if not ranked or ranked[0].score <= 0:
        return []
    best = [ranked[0]]
    for candidate in ranked[1:]:
        if len(best) >= k or candidate.score < 0.7 * ranked[0].score:
            break
        if candidate.condition == "mismatch" or any(candidate.text == b.text for b in best):
            continue
        best.append(candidate)
    return best


ANSWERABLE = 0.5  # default threshold on Answerability.score; calibrate on an evaluation set


@dataclass
class Answerability:
    """How well the evidence answers the question (not just its topic).

    ``coverage``: idf-weighted share of the question's key words found in the best unit (its
    context and heading count); ``wanted``: the kind of value asked for, if any;
    ``has_value``: the best unit holds one; ``condition``: the best unit's condition state;
    ``score``: the coverage, halved when a wanted value is missing or the condition
    contradicts the question; ``missing``: key words of the question found nowhere in it."""

    score: float
    coverage: float
    wanted: str | None
    has_value: bool
    condition: str | None
    missing: list[str]
    best: EvidenceSentence | None

    @property
    def answered(self) -> bool:
        return self.score >= ANSWERABLE


def answerability(question: str, sources: Sequence | None = None, encode: Encode | None = None, *, index: EvidenceIndex | None = None, ranked: list[EvidenceSentence] | None = None, top: int = 3) -> Answerability:
    """See :class:`Answerability`. The best of the ``top`` ranked units decides."""
    index = index or EvidenceIndex(sources or [])
    ranked = ranked if ranked is not None else index.rank(question, encode)
    wanted = wanted_value(question)
    key: dict[str, float] = {}
    shown: dict[str, str] = {}
    for word in re.findall(rf"[^\W_{CJK}]+(?:['’][^\W_{CJK}]+)*|[{CJK}]+", plain(question)):
        for token in tokenize(word):
            if token not in _GENERIC and not token.startswith("i'"):
                key[token] = index.idf(token)
                shown.setdefault(token, word)
    # words that state the question's condition ("new employee", "20 years of service") are
    # covered by a unit whose condition matches, whatever its own words
    condition_tokens = set()
    for match in _NEW_EMPLOYEE.finditer(question):
        condition_tokens.update(tokenize(match.group(0)))
    for match in re.finditer(r"(?:after|with|for|over|under)?\s*\S+\s+(?:years?|months?)(?:\s+of\s+(?:federal\s+)?service)?|GS[-\s]?\d+|full[\s-]?time|part[\s-]?time", question, re.I):
        condition_tokens.update(tokenize(match.group(0)))
    semantic = {(ev.source_n, ev.start): ev.semantic for ev in ranked[:top] if ev.semantic is not None}
    missing_cos = [ev for ev in ranked[:top] if ev.semantic is None]
    if encode is not None and missing_cos:
        texts = [f"{ev.context} {plain(ev.text)}" for ev in missing_cos]
        for ev, cos in zip(missing_cos, _cosines(encode, question, texts)):
            semantic[(ev.source_n, ev.start)] = cos
    best_result = Answerability(0.0, 0.0, wanted, False, None, _unique(shown[t] for t in key), None)
    total = sum(key.values())
    for ev in ranked[:top]:
        unit = index.unit_at(ev.source_n, ev.start)
        if unit is None:
            continue
        present = unit.tokens | unit.context_tokens | unit.heading_tokens
        if ev.condition == "match":
            present = present | condition_tokens
        coverage = sum(w for t, w in key.items() if t in present) / total if total else 0.0
        if semantic:
            cos = semantic.get((ev.source_n, ev.start), 0.0)
            coverage = max(coverage, 0.5 * coverage + 0.5 * min(1.0, max(0.0, (cos - 0.2) / 0.5)))
        has_value = _fits(wanted, index.quantities(unit)) if wanted else True
        score = coverage
        if wanted and not has_value:
            score *= 0.5
        if ev.condition == "mismatch":
            score *= 0.5
        if score > best_result.score or best_result.best is None:
            missing = _unique(shown[t] for t in key if t not in present)
            best_result = Answerability(round(score, 4), round(coverage, 4), wanted, has_value, ev.condition, missing, ev)
    return best_result


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))
