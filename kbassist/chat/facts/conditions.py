"""Conditions: what a question, a table row, a list item or a sentence is conditioned on.
Years of service ("fewer than 3 years", "15+ years", "new employee"), trip length, GS grade,
full-time/part-time and the place of work (from home, abroad), as intervals per dimension (:class:`Condition`,
:func:`parse_condition`), and whether two of them agree (:func:`compare_conditions`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from kbassist.chat.facts.markup import mask
from kbassist.chat.facts.quantities import RANGE_JOIN, parse_quantities
from kbassist.chat.facts.spans import split_at

INF = float("inf")
EPS = 1e-6


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
# Where the work is done: "How many days can I work from home?" is not answered by the rule
# for working abroad ("up to 30 calendar days per calendar year" from another country).
_PLACES = [
    ("home", re.compile(r"\b(?:from|at) home\b|\bwork(?:ing)? remotely\b|\btelework\w*|\bwfh\b|在家|居家", re.I)),
    ("abroad", re.compile(
        r"\babroad\b|\boverseas\b|\binternational(?:ly)?\b|\b(?:another|a foreign|foreign|other) countr(?:y|ies)\b"
        r"|\bcountry other than\b|\boutside (?:of )?(?:the|your) (?:country|u\.?s\.?|united states)\b|出国|国外|海外|境外|国际",
        re.I,
    )),
]


def place_condition(text: str) -> Condition:
    """The place of work ``text`` speaks of ("from home", "abroad"), as a condition (dimension
    "place"); empty when it names none."""
    condition = Condition()
    scan = mask(text)
    for value, pattern in _PLACES:
        if pattern.search(scan):
            condition.add_category("place", value)
    return condition


# The quarter a figure is for: "What are my Q4 targets?" is not answered by the list under
# "Q3:" ("YTD Closed Won ACV: $650K", sg-s16-17). Ordinal words only with "quarter": "last
# quarter" may be the one before.
_QUARTER = re.compile(r"(?<![A-Za-z0-9])Q([1-4])(?![0-9])|\b(first|second|third|fourth)[\s-]quarter\b|第?([一二三四1-4])季度", re.I)
_QUARTER_NUMBER = {"first": "1", "second": "2", "third": "3", "fourth": "4", "一": "1", "二": "2", "三": "3", "四": "4"}


def quarter_condition(text: str) -> Condition:
    """The quarter ``text`` names ("Q3", "third quarter", "第三季度"), as a condition
    (dimension "quarter"); empty when it names none."""
    condition = Condition()
    for match in _QUARTER.finditer(mask(text)):
        number = next(g for g in match.groups() if g)
        condition.add_category("quarter", _QUARTER_NUMBER.get(number.lower(), number))
    return condition


# Whose family event a rule is for: "How many days off when my grandmother dies?" is not
# answered by "3 working days for a spouse or partner, child, parent or sibling" when the next
# item says "1 working day for a grandparent, grandchild, …". In-laws and grand- come first:
# a "parent-in-law" is no parent, a "grandchild" no child.
_RELATIONS = [
    ("parent-in-law", r"(?:parent|mother|father)s?[\s-]in[\s-]laws?|(?:partner|spouse|wife|husband)['’]s\s+(?:parent|mother|father|mum|mom|dad)s?|岳父母|岳父|岳母|公公|婆婆|公婆"),
    ("sibling-in-law", r"(?:sibling|brother|sister)s?[\s-]in[\s-]laws?|(?:partner|spouse|wife|husband)['’]s\s+(?:sibling|brother|sister)s?|大?小?姑子|小叔子|大伯子|嫂子|弟媳|姐夫|妹夫|小舅子|大舅子|小姨子|大姨子"),
    ("child-in-law", r"(?:son|daughter|child)s?[\s-]in[\s-]laws?|女婿|儿媳"),
    ("grandparent", r"grand(?:parent|mother|father|ma|pa|mum|mom|dad)s?|grann(?:y|ies)|祖父母|祖父|祖母|外祖父母|外祖父|外祖母|外公|外婆|爷爷|奶奶|姥姥|姥爷"),
    ("grandchild", r"grand(?:child|children|son|daughter|kid)s?|孙子|孙女|外孙|外孙女|孙辈"),
    ("spouse", r"spouses?|husbands?|wi(?:fe|ves)|(?:domestic|life|civil) partners?|配偶|妻子|丈夫|老公|老婆|爱人|伴侣"),
    ("child", r"child(?:ren)?|sons?|daughters?|kids?|step(?:child|children|son|daughter)s?|子女|孩子|儿子|女儿|小孩"),
    ("parent", r"(?:step)?parents?|(?:step)?mothers?|(?:step)?fathers?|mums?|moms?|dads?|父母|父亲|母亲|爸爸|妈妈"),
    ("sibling", r"siblings?|brothers?|sisters?|兄弟姐妹|兄弟|姐妹|哥哥|姐姐|弟弟|妹妹"),
]
# ... but a "sister agency", a "parent company" or a "child page" is no relative
_NOT_KIN = r"(?!\s+(?:agenc|compan|organi[sz]ation|office|team|department|division|unit|group|project|program|page|site|node|element|component|directory|folder|account|issue|ticket|task|epic|class|process|branch|repo|record|entit|doc|contract|order)\w*)"
_RELATION = re.compile("|".join(f"(?P<{name.replace('-', '_')}>(?<![A-Za-z-])(?:{pattern})(?![A-Za-z-]){_NOT_KIN})" for name, pattern in _RELATIONS), re.I)
# a question's "partner" is a spouse only when it is the asker's own ("my partner's father" is
# about a father)
_MY_PARTNER = re.compile(r"\bmy (?:partner|girlfriend|boyfriend)\b(?!['’]s)", re.I)


def relation_condition(text: str, mode: str = "question") -> Condition:
    """The family members ``text`` speaks of (dimension "relation": spouse, child, parent,
    sibling, grandparent, grandchild and in-laws). A question (or an answer's clause) names whose
    event it asks about ("my grandmother"); a source states a relation condition only by listing two or more kinds
    ("for a spouse or partner, child, parent or sibling"): a lone "birth parent" in a parental
    leave rule is who takes the leave, not a condition on the relative."""
    condition = Condition()
    scan = mask(text)
    kinds = {match.lastgroup.replace("_", "-") for match in _RELATION.finditer(scan)}
    asks = mode in ("question", "claim")  # a question or an answer's clause names one relative
    if asks and _MY_PARTNER.search(scan):
        kinds.add("spouse")
    if asks or len(kinds) >= 2:
        for kind in kinds:
            condition.add_category("relation", kind)
    return condition


def scope_condition(text: str, mode: str = "source") -> Condition:
    """What scopes whatever ``text`` heads or states, however it is phrased: the place of work,
    the quarter and the family member."""
    return place_condition(text).filled_from(quarter_condition(text)).filled_from(relation_condition(text, mode))


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
    condition = scope_condition(text, mode)  # a place, a quarter or a relative is a scope, whatever the phrasing
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
        if i + 1 < len(quantities) and quantities[i + 1].unit == q.unit and RANGE_JOIN.fullmatch(scan[q.end : quantities[i + 1].start] or "x"):
            nxt = quantities[i + 1]
            lo, hi, end = q.value, nxt.value, nxt.end
            compared = True
            i += 1
        else:
            after = scan[end : end + 20]
            compared = True
            if q.modifier == "+" or _LOWER_AFTER.match(after):
                hi = INF
            elif q.modifier == "-" or _UPPER_AFTER.match(after):
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


# phrases that state a condition, whatever they compare: "20 years of service", "GS-13"
_CONDITION_PHRASE = re.compile(
    r"(?:after|with|for|over|under)?\s*\S+\s+(?:years?|months?)(?:\s+of\s+(?:federal\s+)?service)?|GS[-\s]?\d+|full[\s-]?time|part[\s-]?time",
    re.I,
)


def condition_phrases(text: str) -> list[str]:
    """The phrases of ``text`` that state a condition ("new employee", "after 20 years of
    service", "GS-13", "part-time"), in that order: the words a unit whose condition matches
    covers, whatever its own words."""
    return [m.group(0) for m in _NEW_EMPLOYEE.finditer(text)] + [m.group(0) for m in _CONDITION_PHRASE.finditer(text)]


_CLAUSE = re.compile(r"[,;:，；：]|\b(?:and|but|while|whereas|then)\b|而|但")
# Where a source's sentence moves on to another case: "3 paid working days for a spouse or
# partner, child, parent or sibling, and 1 paid working day for a grandparent, …" (not at a
# bare comma, which also separates the items of one case's list)
_SOURCE_CLAUSE = re.compile(r"[;；]|,\s*(?:and|but|while|whereas)\s|\s(?:while|whereas)\s|，(?:而|但)?")


def clause_condition(text: str, position: int) -> Condition:
    """The condition of the clause of a source's ``text`` that holds ``position``, when the
    text states cases clause by clause ("3 days for a spouse …, and 1 day for a grandparent
    …"); empty when it is one clause, or its clause states none (the text's own condition is
    then the one in force)."""
    parts = split_at(text, _SOURCE_CLAUSE)
    if len(parts) < 2:
        return Condition()
    a, b = next(((a, b) for a, b in parts if a <= position < b), parts[-1])
    return parse_condition(text[a:b], "prose")


def condition_at(sentence: str, position: int, asked: Condition) -> Condition:
    """The condition in force at ``position`` of a sentence (of an answer): that of its
    clause, or of the nearest earlier clause that states one; else ``asked`` (the question's)."""
    clauses = split_at(sentence, _CLAUSE)
    index = next((k for k, (a, b) in enumerate(clauses) if a <= position <= b), len(clauses) - 1)
    for k in range(index, -1, -1):
        a, b = clauses[k]
        condition = parse_condition(sentence[a:b], "claim")
        if condition:
            return condition.filled_from(asked)
    return asked
