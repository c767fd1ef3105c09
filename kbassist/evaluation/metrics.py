"""What an evaluation measures, as plain functions over plain data (no Django, no database).

A *question* is one line of a question set (bench/eval/README.md): ``id``, ``question``,
``language``, ``answerable``, ``sources`` (paths relative to the corpus root), ``facts`` (a
list of facts, each a list of alternative surface forms), ``category``.

An *outcome* is what the assistant did with it: ``kind``, ``status``, ``answer``, the source
paths it showed and the ones it cited (``[n]`` in the answer), the quoted ``evidence`` texts
(None when the answer carries no evidence), the seconds, and an ``error`` if it failed.

:func:`score` turns the two into checks (True / False, or None where a check does not apply
to the question), and :func:`summarise` counts them over many questions.
"""

from __future__ import annotations

import json
import math
import re
import statistics
import unicodedata
from collections.abc import Iterable, Sequence
from pathlib import Path

# The ``kind`` of a done event that means "the knowledge base does not answer this".
REFUSAL_KINDS = frozenset({"refused"})

# The checks, in the order reports show them: key, label, what the rate is over.
METRICS: list[tuple[str, str]] = [
    ("source_shown", "right source among all sources shown"),
    ("source_cited", "right source among cited ([n] in the answer)"),
    ("facts", "key facts stated (answer or quoted evidence)"),
    ("facts_in_text", "key facts stated in the generated text alone"),
    ("refused_unanswerable", "unanswerable refused"),
    ("wrongly_refused", "answerable wrongly refused (lower is better)"),
    ("facts_in_refusal", "answerable refused: key facts in the refusal's quotes"),
    ("refusal_precision", "refusals that were right (precision)"),
    ("crosslingual_source_shown", "cross-lingual: right source shown"),
    ("crosslingual_source_cited", "cross-lingual: right source cited"),
    ("crosslingual_facts", "cross-lingual: key facts stated"),
    ("unsourced_numbers", "answers showing a number no source states (lower is better)"),
    ("errors", "questions that failed with an error (lower is better)"),
]
LOWER_IS_BETTER = {"wrongly_refused", "unsourced_numbers", "errors"}

# =============================================================================================
# Question sets
# =============================================================================================
REQUIRED = ("id", "question", "answerable")


def read_questions(path: str | Path) -> list[dict]:
    """The questions of a JSONL set; each gets ``set`` (the file's stem). Raises ValueError
    naming the line of a malformed one."""
    path = Path(path)
    questions = []
    with open(path, encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{number}: not JSON ({exc.msg})") from None
            missing = [key for key in REQUIRED if key not in row]
            if missing:
                raise ValueError(f"{path}:{number}: missing {', '.join(missing)}")
            row.setdefault("sources", [])
            row.setdefault("facts", [])
            row.setdefault("language", "en")
            row.setdefault("category", "")
            if not all(isinstance(f, list) for f in row["facts"]):
                raise ValueError(f"{path}:{number}: each fact must be a list of alternative forms")
            questions.append({**row, "set": path.stem})
    return questions


def select(questions: Sequence[dict], *, limit: int | None = None, categories: Iterable[str] = ()) -> list[dict]:
    """The questions of the given categories (all if none), then at most ``limit`` of them
    spread evenly over the set, so that a short run still sees every part of it (sets are
    often ordered by category)."""
    wanted = set(categories)
    chosen = [q for q in questions if not wanted or q.get("category") in wanted]
    if limit is not None and 0 <= limit < len(chosen):
        chosen = [chosen[i * len(chosen) // limit] for i in range(limit)]
    return chosen


def is_crosslingual(question: dict) -> bool:
    return question.get("category") == "crosslingual" or question.get("language") == "zh"


# =============================================================================================
# Facts: alternative surface forms found in a text
# =============================================================================================
_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})
_SPACE = re.compile(r"\s+")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")  # 1,500 -> 1500 (NFKC made ， a comma)
_HYPHEN = re.compile(r"(?<=[0-9a-z])[-\u2010\u2011\u2013](?=[0-9a-z\u3400-\u9fff])")  # 12-week -> 12 week
_PLURAL_AFTER_NUMBER = re.compile(r"(?<=\d) ([a-z]{2,}?)s\b")  # 12 weeks -> 12 week (after the hyphen rule)
_CJK_GAP = re.compile(r"(?<=\d) (?=[\u3400-\u9fff])|(?<=[\u3400-\u9fff]) (?=\d)")  # 12 周 -> 12周
_ASCII_ALNUM = re.compile(r"[0-9a-z]")
_TRAILING_PLURAL = re.compile(r"e?s(?![a-z])")
_TRAILING_ZEROS = re.compile(r"\.0+(?!\d)")


def normalise(text: str) -> str:
    """Text as facts are compared: NFKC, lower case, one space for any white space, digit
    groups without thousands separators, a hyphen or dash between letters or digits read as a
    space ("12-week" -> "12 week", "3–5" -> "3 5"), the plural "s" of the word right after a
    number dropped ("12 weeks" -> "12 week"), no space between a number and a Chinese
    character. Both the facts' forms and the texts they are looked for in go through it."""
    text = unicodedata.normalize("NFKC", text or "").translate(_QUOTES).lower()
    text = _SPACE.sub(" ", text).strip()
    text = _THOUSANDS.sub("", text)
    text = _HYPHEN.sub(" ", text)
    text = _PLURAL_AFTER_NUMBER.sub(r" \1", text)
    return _CJK_GAP.sub("", text)


def _is_ascii_alnum(char: str) -> bool:
    return bool(char) and bool(_ASCII_ALNUM.fullmatch(char))


def _whole_at(text: str, start: int, end: int, form: str) -> bool:
    """Whether ``form`` found at ``text[start:end]`` stands on its own: "4 hour" not inside
    "14 hour", "1500" not inside "15000" or "1.1500", "six" not inside "sixty" (a plural
    "s"/"es" after a word is fine)."""
    before = text[start - 1] if start else ""
    if _is_ascii_alnum(form[0]):
        if _is_ascii_alnum(before):
            return False
        if form[0].isdigit() and before in ".," and start >= 2 and text[start - 2].isdigit():
            return False
    after = text[end] if end < len(text) else ""
    if form[-1].isdigit():
        if after.isdigit():
            return False
        if after in ".," and end + 1 < len(text) and text[end + 1].isdigit():
            return bool(_TRAILING_ZEROS.match(text, end))  # 1500.00 is 1500; 1.5 is not 1
    elif _is_ascii_alnum(form[-1]) and after.isalpha() and after.isascii():
        return bool(_TRAILING_PLURAL.match(text, end))
    return True


def form_in(form: str, normalised_text: str) -> bool:
    """Whether one surface form of a fact occurs in an already normalised text."""
    wanted = normalise(form)
    if not wanted:
        return False
    start = normalised_text.find(wanted)
    while start != -1:
        if _whole_at(normalised_text, start, start + len(wanted), wanted):
            return True
        start = normalised_text.find(wanted, start + 1)
    return False


def fact_found(forms: Sequence[str], texts: Iterable[str]) -> bool:
    """Whether any of a fact's alternative forms occurs in any of ``texts``."""
    normalised = [normalise(t) for t in texts if t]
    return any(form_in(form, text) for form in forms for text in normalised)


def missing_facts(facts: Sequence[Sequence[str]], texts: Iterable[str]) -> list[list[str]]:
    """The facts (each a list of forms) that none of ``texts`` states."""
    texts = list(texts)
    return [list(forms) for forms in facts if not fact_found(forms, texts)]


# =============================================================================================
# Sources: an expected path is the tail of a document's source path
# =============================================================================================


def _parts(path: str) -> list[str]:
    return [p for p in str(path).replace("\\", "/").split("/") if p and p != "."]


def source_matches(path: str, expected: str) -> bool:
    """Whether ``expected`` (relative to the corpus root) is the tail of ``path``, compared a
    whole path segment at a time: "travel-and-leave/leave.md" matches
    "/data/pages/travel-and-leave/leave.md", never ".../paid-parental-leave.md"."""
    want, have = _parts(expected), _parts(path or "")
    return bool(want) and len(have) >= len(want) and have[-len(want):] == want


def right_source(paths: Iterable[str], expected: Iterable[str]) -> bool:
    expected = list(expected)
    return any(source_matches(path, want) for path in paths for want in expected)


# =============================================================================================
# One question
# =============================================================================================


def score(question: dict, outcome: dict) -> dict:
    """The checks for one answered question. Keys are those of :data:`METRICS`; a value is
    None where the check does not apply (facts of an unanswerable question, ...).

    ``outcome``: ``kind``, ``answer``, ``shown`` and ``cited`` (source paths), ``evidence``
    (quoted texts, or None), ``error`` (None if the answer came through)."""
    answerable = bool(question.get("answerable"))
    crosslingual = answerable and is_crosslingual(question)
    failed = bool(outcome.get("error"))
    refused = not failed and outcome.get("kind") in REFUSAL_KINDS
    checks: dict = {key: None for key, _ in METRICS}
    checks["errors"] = failed
    checks["refusal_precision"] = (not answerable) if refused else None
    if not failed and not refused and outcome.get("unsourced") is not None:
        checks["unsourced_numbers"] = bool(outcome["unsourced"])
    if not answerable:
        checks["refused_unanswerable"] = refused
        return checks
    expected = question.get("sources") or []
    answer = outcome.get("answer") or ""
    evidence = list(outcome.get("evidence") or [])
    facts = question.get("facts") or []
    if expected:
        checks["source_shown"] = right_source(outcome.get("shown") or [], expected)
        checks["source_cited"] = right_source(outcome.get("cited") or [], expected)
    if facts:
        # A refusal states no fact, even where the sentences it quotes as coming closest hold
        # it: counted apart, so that "key facts stated" means what an answer stated.
        stated = not missing_facts(facts, [answer, *evidence])
        checks["facts"] = stated and not refused
        checks["facts_in_text"] = not refused and not missing_facts(facts, [answer])
        checks["facts_in_refusal"] = stated if refused else None
    checks["wrongly_refused"] = refused
    if crosslingual:
        checks["crosslingual_source_shown"] = checks["source_shown"]
        checks["crosslingual_source_cited"] = checks["source_cited"]
        checks["crosslingual_facts"] = checks["facts"]
    return checks


def failures(question: dict, outcome: dict, checks: dict) -> list[str]:
    """What went wrong with one question, in a few words each (empty when nothing did)."""
    if checks.get("errors"):
        return [f"error: {outcome.get('error')}"]
    found = []
    kind = outcome.get("kind") or "?"
    if checks.get("refused_unanswerable") is False:
        found.append(f"unanswerable but answered ({kind})")
    if checks.get("wrongly_refused"):
        found.append("answerable but refused")
    if checks.get("source_shown") is False:
        shown = ", ".join(dict.fromkeys(_short(p) for p in outcome.get("shown") or [])) or "none"
        found.append(f"right source not shown (expected {question['sources'][0]}; shown: {shown})")
    elif checks.get("source_cited") is False:
        found.append("right source shown but not cited")
    if checks.get("facts") is False:
        missing = missing_facts(question.get("facts") or [], [outcome.get("answer") or "", *(outcome.get("evidence") or [])])
        found.append("facts missing: " + "; ".join(" / ".join(forms[:3]) for forms in missing))
    if outcome.get("status") not in (None, "complete"):
        found.append(f"status {outcome.get('status')}")
    return found


def _short(path: str, keep: int = 2) -> str:
    return "/".join(_parts(path)[-keep:])


# =============================================================================================
# Many questions
# =============================================================================================


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile (0-100) of ``values``, linearly interpolated; None if empty."""
    ordered = sorted(v for v in values if v is not None and not math.isnan(v))
    if not ordered:
        return None
    position = (len(ordered) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _seconds(values: list[float]) -> dict:
    return {
        "n": len(values),
        "median": round(statistics.median(values), 3) if values else None,
        "p95": round(percentile(values, 95), 3) if values else None,
    }


def summarise(records: Sequence[dict]) -> dict:
    """Counts and rates of every check over ``records`` (each with ``checks``, ``seconds``,
    ``seconds_to_first_token``), and the median and p95 seconds."""
    summary: dict = {
        "questions": len(records),
        "answerable": sum(1 for r in records if r.get("answerable")),
        "unanswerable": sum(1 for r in records if not r.get("answerable")),
    }
    for key, _label in METRICS:
        applicable = [r["checks"][key] for r in records if r["checks"].get(key) is not None]
        hits = sum(1 for value in applicable if value)
        summary[key] = {"hits": hits, "of": len(applicable), "rate": round(hits / len(applicable), 4) if applicable else None}
    total = [r["seconds"] for r in records if r.get("seconds") is not None and not r["checks"].get("errors")]
    first = [r["seconds_to_first_token"] for r in records if r.get("seconds_to_first_token") is not None]
    summary["seconds"] = _seconds(total)
    summary["seconds_to_first_token"] = _seconds(first)
    return summary


def group_by(records: Sequence[dict], key: str) -> dict[str, list[dict]]:
    groups: dict[str, list[dict]] = {}
    for record in records:
        groups.setdefault(str(record.get(key) or ""), []).append(record)
    return groups
