"""What a question asks: the kind of value it wants ("how long" wants a duration, "how much"
an amount; :func:`wanted_value`), the unit it names ("how many weeks", "多少天";
:func:`asked_unit`), the names it uses (:func:`name_tokens`), and the words every question
uses (``GENERIC``), which say nothing about its topic, and the part of it that asks, after the
asker's setup (:func:`asking_part`).
"""

from __future__ import annotations

import re

from kbassist.chat.facts.quantities import EN_UNIT, Quantity
from kbassist.retrieval.tokenize import tokenize
from kbassist.text import sentence_spans

_GENERIC_WORDS = (
    "how many much long often what when where which who whom whose why do does did can could should would will "
    "shall may might must i me my mine we us our you your get gets got have has had need needs want know tell please "
    "about is are am be been there any some give given there's what's i'm i've let allowed allow able "
    "amount number myself yourself ourselves yourselves themselves himself herself itself"
)
GENERIC = frozenset(tokenize(_GENERIC_WORDS)) | {
    "多少", "什么", "怎么", "如何", "可以", "请问", "时候", "需要", "我的", "我们", "哪些", "是否", "能否",
    "几天", "几个", "多久", "多长", "长时", "时间", "我有", "我能", "我可", "有多", "吗", "呢", "我", "么",
}
_QUESTION_NAME = re.compile(r"\b[A-Z][a-z]+(?:\s+(?:of|and|for|the|&)?\s*[A-Z][a-z]+)+\b|\b[A-Z]{2,}[a-z]*\b|\b[A-Z]{1,6}-\d+\b")


def name_tokens(question: str) -> set[str]:
    """The retrieval tokens of the names ``question`` uses ("Paid Parental Leave", "HR",
    "SF-71")."""
    named = set()
    for match in _QUESTION_NAME.finditer(question):
        named.update(tokenize(match.group(0)))
    return named


# "What is the monthly stipend ...", "what's the annual deductible ...": a question whose
# subject is a sum of money (or a rate or share of one) wants an amount, though it never says
# "how much". Only as the head of what is asked: "which website is the subsidy on?" and "what is
# the process for a stipend?" want none.
_MONEY_NOUNS = r"stipend|budget|deductible|allowance|subsidy|bonus|premium|fee|payout|rate|percentage|salary|match|reimbursement|补贴|津贴|预算|奖金|工资|比例|报销"
_ASKS_FOR_MONEY = re.compile(
    rf"^(?:what(?:'s| is| are| was)|is there)\s+(?:(?:the|my|our|a|an)\s+)?(?:(?!(?:for|to|of|on|in|about|with|process|procedure|policy|rules?|form|way|steps?)\b)[\w&-]+\s+){{0,4}}?(?:{_MONEY_NOUNS})\b"
    rf"|(?:{_MONEY_NOUNS})[^，。？?]{{0,6}}(?:多少|几)|(?:多少|几)[^，。？?]{{0,6}}(?:{_MONEY_NOUNS})"
)


# "What's the phone number of the service desk?": a phone number is the answer, not any number.
_ASKS_FOR_PHONE = re.compile(r"phone number|telephone|\bnumber (?:do|should|can) i (?:call|dial)|\bcall\b.{0,30}\bnumber|电话|热线")
# "What's the name and email address of the HR specialist?": an address is the answer, as a
# phone number is for the phone; "which email should I use?" wants a kind of account, not one.
_ASKS_FOR_EMAIL = re.compile(
    r"\be-?mail address(?:es)? (?:of|for|do)\b|\b(?:name|phone(?: number)?) and e-?mail\b"
    r"|(?:'s|\bwhat(?:'s| is) (?:the|their|his|her)) e-?mail(?: address)?(?=\s*(?:[?.,;]|$|and\b|of\b|for\b))"
)
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# "What score do I need to pass?", "What was the latest eNPS score?": a score is a number.
_ASKS_FOR_SCORE = re.compile(
    r"\bwhat score\b|\bpassing (?:score|grade|mark)\b"
    r"|\bwhat(?:'s| is| was| are)\s+(?:(?:the|my|our|a|an)\s+)?(?:[\w'-]+\s+){0,3}?score\s*(?:[?.,]|$|in\b|on\b|for\b|to\b|needed|required)"
)
# "How long does the password have to be?": a length (of text, a queue, a list), not a time.
_ASKS_FOR_LENGTH = re.compile(r"how long (?:does|do|must|should|can|will|is|are)\b[^?]{0,60}\b(?:be|have to be|need to be)\s*\??\s*$")
# Days of the week answer "when is it due?" as a date does ("each Friday", "周五").
_WEEKDAY = re.compile(
    r"\b(?:mon|tues|wednes|thurs|fri|satur|sun)days?\b|(?:星期|礼拜|周)[一二三四五六日天]", re.I
)
# ... and so does a day of the month ("on the 10th of every month", "the 15th and the last day
# of every month", "每月10号").
_DAY_OF_MONTH = re.compile(
    r"\b(?:\d{1,2}(?:st|nd|rd|th)|first|last|final)(?:\s+(?:business|working|calendar))?\s+(?:day\s+)?of\s+(?:each|every|the|the following|the next)?\s*month\b"
    r"|\b\d{1,2}(?:st|nd|rd|th)\s+and\s+(?:the\s+)?(?:\d{1,2}(?:st|nd|rd|th)|last\s+day)\s+of\s+(?:each|every|the)\s+month\b|每[个]?月\s*\d{1,2}\s*[日号]",
    re.I,
)


# ... and so does a time relative to another ("the first payroll of the month following the
# approval", "at the end of each quarter", "次月").
_RELATIVE_DATE = re.compile(
    r"\b(?:following|next|coming|same) (?:day|week|month|quarter|year|pay ?period|payroll|business day)\b"
    r"|\b(?:day|week|month|quarter|year|pay period) (?:following|after)\b|\b(?:first|next) payroll\b"
    r"|\b(?:end|beginning|start) of (?:the|each|every) (?:week|month|quarter|year|pay period)\b|次月|下个?月|下周|下一?个?发薪",
    re.I,
)


# "When does the balance reset?" asks for a date; "the shortcut to lock it when I step away"
# and "the rate when traveling" use "when" for a circumstance, not as the question word.
_ASKS_WHEN = re.compile(
    r"(?:^|[.?!;,]\s*|\band\s+|\bor\s+)when\b|\bby when\b|\bwhen\s+(?:is|are|was|were|do|does|did|will|would|should|must|can|could|may|might|has|have|had|am)\b"
)
# "How soon / how quickly / how far in advance / how much notice …": a lead time or a deadline
# after an event ("within 1 hour", "two weeks before"), not a sum of money.
_ASKS_HOW_SOON = re.compile(r"\bhow (?:fast|quickly|soon|far (?:in advance|ahead)|much (?:advance |lead )?(?:time|notice|lead time))\b|多快|提前多")
# "What time of day ...": a time (3:30 PM) answers it, as a date would.
_ASKS_TIME = re.compile(r"\bwhat time\b|\bby what time\b|几点|什么时间")


def wanted_value(question: str) -> str | None:
    """The kind of value the question asks for: "phone", "email", "duration", "amount",
    "date", "number" or None, read from the part that asks (``asking_part``): "I've used up
    the statutory minimum. How do I log more days off?" asks for no number. Where that part
    asks for none, a phone number or an address the setup names is still what is wanted ("I
    need the phone number for IT. Who do I call?")."""
    whole = question.lower().replace("’", "'")
    kind = _kind_asked(asking_part(whole))
    if kind is None and _ASKS_FOR_PHONE.search(whole):
        return "phone"
    if kind is None and _ASKS_FOR_EMAIL.search(whole):
        return "email"
    return kind


def _kind_asked(q: str) -> str | None:
    if _ASKS_FOR_PHONE.search(q):
        return "phone"
    if _ASKS_FOR_EMAIL.search(q):
        return "email"
    if _ASKS_FOR_LENGTH.search(q):
        return "number"
    # 哪几 is "which" ("哪几个角色": which roles), not "how many"
    if re.search(r"how long|how many (?:days|weeks|hours|months|years|minutes|nights)|多久|多长时间|(?<!哪)几个?(?:天|周|个月|个小时|年|工作日|自然日)|多少个?(?:工作日|自然日|日历日)|多少天|多少周|多少小时|多少个月|多少年", q) or _ASKS_HOW_SOON.search(q):
        return "duration"
    if _ASKS_TIME.search(q):
        return "date"
    if re.search(r"how much|how many (?:dollars|euros|pounds)|cost|price|reimburs\w* (?:amount|rate|limit)|多少钱|多少美元|金额|费用|价格", q) or _ASKS_FOR_MONEY.search(q):
        return "amount"
    # which day (of the week or month) asks for a date too: "On which day of the week is it
    # posted?" answered "every week" gave none (sg-s19-15); 周几 is no count
    if _ASKS_WHEN.search(q) or re.search(r"what date|what day\b(?!-)|which days?\b(?!-)|(?:what|which) weekday|deadline|什么时候|何时|哪天|几号|截止|星期几|周几|礼拜几", q):
        return "date"
    if re.search(r"how many|number of|maximum|minimum|\blimit\b|\bcap\b|what percent|多少|(?<!哪)几|最多|最少|上限|下限|百分之", q) or _ASKS_FOR_SCORE.search(q):
        return "number"
    return None


_ASKED_UNIT = re.compile(
    r"how many (?P<en>weeks?|days?|hours?|months?|years?|minutes?|nights?|pay periods?)|(?:多少|几)个?(?P<zh>周|星期|天|小时|个月|月|年|工作日|自然日|日历日)"
)
_ZH_ASKED = {"周": "week", "星期": "week", "天": "day", "小时": "hour", "个月": "month", "月": "month", "年": "year",
             "工作日": "day", "自然日": "day", "日历日": "day"}


def asked_unit(question: str) -> str | None:
    """The unit a "how many weeks / 多少天" question asks for, canonical (week, day, ...)."""
    match = _ASKED_UNIT.search(question.lower())
    if not match:
        return None
    if match.group("zh"):
        return _ZH_ASKED[match.group("zh")]
    unit = EN_UNIT.fullmatch(match.group("en"))
    return unit.lastgroup if unit else None


# "Which website …?", "What HR Links code do I use?", "Which Slack channel …?", "Which law …?":
# the answer is a name, not a value. The kind of name says what in a sentence gives one.
_NAME_NOUNS = {
    # a mailing, postal or street address is a place, not a site or an e-mail address
    "address": r"website|web ?site|site|url|link|web ?page|(?<!mailing )(?<!postal )(?<!street )(?<!physical )(?:e-?mail )?address|"
               r"网站|网址|链接|邮箱|地址",
    "channel": r"(?:slack )?channel|频道",
    "code": r"code|shortcode|command|编码|代码|命令|指令",
    "name": r"law|act|team|office|group|system|tool|app|application|form|template|platform|vendor|service|program|portal|"
            r"category|option|button|label|tag|widget|repo|repository|工具|系统|表格|表单|团队|部门|平台|法律|法案|软件|应用|模板|小组",
}


def _name_kinds(suffix: str = "") -> str:
    """The name nouns as one alternation, each kind a named group (``address``, ``code_zh`` …)."""
    return "|".join(f"(?P<{kind}{suffix}>{nouns})" for kind, nouns in _NAME_NOUNS.items())


# The head noun is the last noun of the phrase after which/what: not one another noun follows
# ("What are the office hours …?" asks for hours, "What Slack channel settings …" for
# settings, "Which team members …" for members), nor "between" or "of conduct" ("What is the
# link between pay and grade?", "What is the code of conduct?" ask for no name). A word in -s
# that may be a noun or a verb ("processes", "leads", "reviews") is a noun only where an
# auxiliary, a preposition or the end follows it: "Which office processes payroll?" asks for
# an office.
_FOLLOWING_NOUNS = (r"(?:hour|setting|member|rule|guideline|name|page|meeting|day|week|month|year|step|option|field|doc|"
                    r"permission|role|goal|type|kind|level|item|norm|fee|date|detail|ticket|owner|manager)s?|"
                    r"polic(?:y|ies)|responsibilit(?:y|ies)|lead\s+time")
_NOUN_OR_VERB = r"processes|leads|reviews|requests|notes|lists|numbers|changes|updates|files|costs|limits|covers|uses|needs"
_AUX_OR_PREPOSITION = (r"do|does|did|should|can|could|would|will|must|may|might|is|are|was|were|has|have|had|"
                       r"for|of|in|on|at|to|with|from|about|by")
_NOT_THE_HEAD = (rf"(?!\s+(?:{_FOLLOWING_NOUNS})\b)"
                 rf"(?!\s+(?:{_NOUN_OR_VERB})(?:\s+(?:{_AUX_OR_PREPOSITION})\b|\s*(?:[?.,;:!]|$)))"
                 r"(?!\s+between\b)(?!\s+of\s+(?:conduct|ethics|practice)\b)")
_ASKS_FOR_NAME = re.compile(
    r"\b(?:which|what)(?:'s| is| are| was| were)?\s+(?:of\s+)?(?:(?:the|a|an|my|our|their)\s+)?"
    r"(?:(?!(?:for|to|of|on|in|at|about|with|from|by|do|does|did|should|can|could|would|will|must|is|are|was|were|i|we|you)\b)[\w.-]+\s+){0,3}"
    rf"(?:{_name_kinds()})(?:e?s)?\b(?!-){_NOT_THE_HEAD}"
    rf"|(?:哪个|哪一个|哪些|(?<!为)什么)\s*(?:[A-Za-z][A-Za-z0-9 .-]{{0,20}}?\s*)?(?:{_name_kinds('_zh')})(?!设置|成员|规则)",
    re.I,
)
_URL = re.compile(r"https?://\S+|\b[\w-]+(?:\.[\w-]+)*\.(?:com|gov|org|net|io|edu|us|co|dev)\b|" + EMAIL.pattern, re.I)
_CHANNEL = re.compile(r"(?<![\w&])#[a-z][\w-]+", re.I)
# a code: in backticks, "T-TECH", "094", "SF182"; not a fiscal year, a quarter or COVID-19
_CODE = re.compile(r"`[^`\n]+`|\b(?!(?:FY\d{2}(?:\d{2})?|Q[1-4])(?![\w-])|COVID\b)(?:(?:[A-Z]{1,}[-_])+[A-Z0-9]+|[A-Z]+\d+[A-Z0-9]*)\b|\b0\d{2,}\b")
# a run of capitalised words, not counting a word that opens a sentence ("Please Note"); a
# preposition opening it stays ("In Entitle, request …": the name is one word after it)
_PROPER_NAME = re.compile(
    r"\b(?!(?:Please|Note|If|When|This|That|These|Those|You|Your|We|Our|See|Each|All|Any|Once|"
    r"Then|Also|And|But|Or|It|As|The|A|An)\b)[A-Z][a-z]+(?:\s+(?:of|and|for|the|&)?\s*[A-Z][a-z]+)+\b")
_QUOTED_NAME = re.compile(r"`[^`\n]+`|(?<!\w)[\"“'‘][^\"”'’\n]{2,40}[\"”'’](?!\w)")


def wanted_name(question: str) -> str | None:
    """The kind of name the part of ``question`` that asks wants: "address" (a website, link or
    e-mail address), "channel", "code" (a code, shortcode or command) or "name" (a law, team,
    tool, form …); None when it asks for none. Read from the head noun, the last of up to four
    words after "which"/"what", where no other noun follows it (``_NOT_THE_HEAD``): "What HR
    Links code do I use?" wants a code, "What are the office hours?" no name. "Which website
    does the handbook send me to?" is answered by a sentence giving a site, not by the one that
    says the topic is covered."""
    match = _ASKS_FOR_NAME.search(asking_part(question.replace("’", "'")))
    if not match:
        return None
    return next(kind.removesuffix("_zh") for kind, text in match.groupdict().items() if text)


def states_name(kind: str, text: str, question: str) -> bool:
    """Whether ``text`` gives a name of the ``kind`` asked (``wanted_name``) that ``question``
    does not already use: a site or address, a #channel or a code (in backticks, "094",
    "T-TECH") not written in the question ("#news-18f" answers which channel is for 18F news),
    or a name whose words the question does not all use ("Federal Records Act", `uswds_icon`,
    "Anyone on the web" in quotes)."""
    literal = {"address": _URL, "channel": _CHANNEL, "code": _CODE}.get(kind)
    if literal is not None:
        asked = question.lower()
        return any(not re.search(rf"(?<!\w){re.escape(_bare(span).lower())}(?!\w)", asked) for span in literal.findall(text) if _bare(span))
    spans = _PROPER_NAME.findall(text) + _QUOTED_NAME.findall(text) + _CHANNEL.findall(text) + _URL.findall(text)
    if not spans:  # most units: no question to tokenize (called for every unit ranked)
        return False
    question_tokens = set(tokenize(question))
    return any(not set(tokenize(span)) <= question_tokens for span in spans if tokenize(span))


def _bare(span: str) -> str:
    """A code or address as the question would write it: without backticks or the sentence's
    closing punctuation."""
    return span.strip("`").rstrip(".,;:!?)")


# A value the parser reads no number in: "about a week", "half a day", "free", "unlimited",
# "twice a year", "the 5th working day", "第五个工作日".
_VALUE_IN_WORDS = re.compile(
    r"\b(?:an?|one|half an?|a couple of|a few)\s+(?:business |working |calendar )?(?:day|week|month|year|hour|minute|fortnight|quarter)s?\b"
    r"|\bfortnight\b|\bsame day\b|\bfree\b|\bno (?:fee|cost|charge|limit)\b|\bunlimited\b|\bonce\b|\btwice\b|\b\d+(?:st|nd|rd|th)\b|第[一二三四五六七八九十\d]+",
    re.I,
)


def value_in_words(text: str) -> bool:
    """Whether ``text`` may state a value in words ``parse_quantities`` reads no number in
    ("about a week", "free", "unlimited", "twice a year"): not proof of none."""
    return bool(_VALUE_IN_WORDS.search(text))


# The kinds of value (``wanted_value``) that are a figure or a date: a question asking for one is
# answered by a sentence that states it, which is what the value checks look for.
VALUE_KINDS = ("number", "amount", "duration", "date")


def fits_wanted(wanted: str | None, quantities: list[Quantity], text: str = "") -> bool:
    """Whether ``quantities`` (found in ``text``) hold a value of the kind ``wanted`` (see
    :func:`wanted_value`); a day of the week or of the month, or a time relative to another
    ("the month following the approval"), in ``text`` counts as a date."""
    kinds = {q.kind for q in quantities if not q.ordinal}
    if wanted is None:
        return True
    if wanted == "phone":
        return "phone" in kinds
    if wanted == "email":
        return bool(EMAIL.search(text))
    if wanted == "date" and (_WEEKDAY.search(text) or _DAY_OF_MONTH.search(text) or _RELATIVE_DATE.search(text)):
        return True
    if wanted == "duration":
        return bool(kinds & {"duration"})
    if wanted == "amount":
        return bool(kinds & {"money", "number", "percent", "duration"})
    if wanted == "date":
        return bool(kinds & {"date", "duration", "time"})
    return bool(kinds - {"code", "phone"})


# "Can I get my laundry reimbursed?", "Do I need to tell PeopleOps?", "可以报销吗？": a question
# answered yes or no, where a rule for another condition ("only from 4 nights on") is the answer.
_YES_NO = re.compile(
    # at a sentence's start, or after a clause that sets it up ("Now that my name is in, am I
    # required to interview?")
    r"(?:^|[.?!;:,]\s+)(?i:can|could|do|does|did|is|are|am|may|will|would|should|must|have|has|was|were)\s+"
    # the subject: a pronoun, an article, a plural ... a name ("Will GSA send me a chair?") or
    # a date ("Is 24 December a working day?")
    r"(?:(?i:i|we|you|my|our|the|a|an|it|this|that|these|those|there|they|he|she|someone|anyone|employees?|\w+s)\b|[A-Z][\w.&-]*\b|\d)"
    r"[^.?!]*\?\s*$"
    r"|(?:吗|么|是否|能否|可否|可不可以|能不能|是不是|有没有)[^。？?]*[？?]?\s*$"
)


def is_yes_no(question: str) -> bool:
    """Whether the question (its last sentence) is answered yes or no."""
    return bool(_YES_NO.search(question.strip()))


# Where a question's setup ends and its asking begins inside one sentence: "Thanksgiving is a
# Thursday, so how many hours ...", "I'm in Lisbon; can I ..."
_ASKING_CLAUSE = re.compile(r"(?:,\s*(?:so|and so|but|then)|;|\s[-–—]+)\s+(?=(?:how|what|which|who|when|where|why|can|could|do|does|did|is|are|am|will|would|should|may|must)\b)", re.I)


def asking_part(question: str) -> str:
    """The part of ``question`` that asks: its sentences ending with a question mark, the last
    of them from its last clause joined by "so", "and so", "but", "then", ";" or a dash that
    starts like a question. What comes before is the asker's setup ("I flew to Denver on a
    Sunday for a TDY."); "Is there a paid sabbatical? If so, how long is it?" asks in both
    sentences. With no question mark, all of it."""
    asking = [question[a:b] for a, b in sentence_spans(question) if question[a:b].rstrip("!！ ").endswith(("?", "？"))]
    if not asking:
        return question
    clauses = list(_ASKING_CLAUSE.finditer(asking[-1]))
    if clauses:
        asking[-1] = asking[-1][clauses[-1].end():]
    return " ".join(asking)
