"""Named terms: the names of forms, systems and programs a text uses ("HR Links",
"Voluntary Leave Transfer Program", "PPL"; codes such as "SF-71" are quantities).
:func:`named_terms` finds them in a sentence, :class:`TermIndex` says whether some texts name
one (case, spacing, word order and initials aside), :func:`acronym_definitions` reads the
acronyms a text defines ("Paid Parental Leave (PPL)").
"""

from __future__ import annotations

import functools
import logging
import re

from kbassist.chat.facts.markup import plain
from kbassist.retrieval.tokenize import tokenize
from kbassist.text import CJK

_NAME_RUN = re.compile(r"(?<![\w-])[A-Z][A-Za-z’'&-]*(?:\s+(?:(?:of|and|or|for|the|on|to|in|&)\s+)*[A-Z][A-Za-z’'&-]*)*(?![\w-])")
_WORD = re.compile(r"[A-Za-z][A-Za-z’'.-]*[A-Za-z]|[A-Za-z]")
_FUNCTION = set(
    "the a an you your yours if for as in on to at after before when whenever this that these those all each "
    "every our we it its they their yes no please also note however and but or so then from with by under "
    "per during while since once because most some many both either neither any there here what which who how "
    "why where contact ask use go visit check submit see refer talk email call make take get keep request "
    "employees employee new current unless until within about over only even just first next finally "
    "i my me he she his her us one two three ok okay sure according".split()
)
_NOT_TERMS = {
    "I", "OK", "AM", "PM", "US", "USA", "FAQ", "FAQs", "ID", "IDs", "PDF", "URL", "HR", "IT", "TV", "AI", "Q", "A",
    "N/A", "NA", "ETC", "EN", "ZH", "COVID",
}
_MONTH_OR_DAY = set(
    "january february march april may june july august september october november december monday tuesday "
    "wednesday thursday friday saturday sunday english chinese".split()
)



_JOINERS = {"·", "•", "・", "‧"}  # between the parts of a transliterated name


@functools.cache
def _tagger():
    """jieba's part-of-speech tagger, loaded once, on the first Chinese answer (its dictionary
    takes ~1 s), without its "Building prefix dict" log lines."""
    import jieba
    import jieba.posseg

    jieba.setLogLevel(logging.WARNING)
    return jieba.posseg


def chinese_names(scan: str) -> list[tuple[int, int, str]]:
    """People's names written in Chinese characters ("陈明", "王伟"), found by jieba's part-of-
    speech tagger (``nr``, two or three characters), as ``(start, end, name)``. A name joined
    by "·" is a transliteration ("珍妮·罗斯塔米") and left out: over English sources it cannot be
    looked up. A 1.5B answering in Chinese from English pages made up "负责人叫陈明" for a
    centre's lead no page names (18f-s21-20)."""
    if not re.search(f"[{CJK}]", scan):
        return []
    names, position = [], 0
    for word in _tagger().cut(scan, HMM=True):
        start, end = position, position + len(word.word)
        position = end
        if (word.flag == "nr" and 2 <= len(word.word) <= 3 and re.fullmatch(f"[{CJK}]+", word.word)
                and scan[start - 1 : start] not in _JOINERS and scan[end : end + 1] not in _JOINERS):
            names.append((start, end, word.word))
    return names


def named_terms(scan: str) -> list[tuple[int, int, str]]:
    """Named terms: acronyms and CamelCase names anywhere, runs of capitalised words (a run
    at the start of the sentence loses its leading function words: "If Paid Parental
    Leave" -> "Paid Parental Leave"), and single capitalised words inside a sentence.
    ``scan``: one sentence, its markup masked; returns (start, end, text) of each term."""
    terms = []
    first_word = re.search(r"[A-Za-z]", scan)
    sentence_start = first_word.start() if first_word else 0
    for match in _NAME_RUN.finditer(scan):
        words = list(_WORD.finditer(match.group(0)))
        if not words:
            continue
        while words and words[0].group(0).lower() in _FUNCTION:
            words = words[1:]
        while words and words[-1].group(0).lower() in _FUNCTION:
            words = words[:-1]
        if not words:
            continue
        a = match.start() + words[0].start()
        b = match.start() + words[-1].end()
        text = scan[a:b]
        at_start = a <= sentence_start or re.search(r"(?:^|[:：.!?;(\"“*]\s*|\n\s*)$", scan[:a]) is not None
        capitalised = [w for w in words if w.group(0)[0].isupper()]
        if len(capitalised) >= 2:
            terms.append((a, b, text))
            continue
        word = words[0].group(0)
        if word in _NOT_TERMS or word.lower() in _MONTH_OR_DAY or len(word) < 2:
            continue
        is_acronym = sum(c.isupper() for c in word) >= 2
        if is_acronym or (not at_start and word[0].isupper() and len(words) == 1):
            terms.append((a, b, text))
    return terms



def _words(text: str) -> list[str]:
    return re.findall(rf"[0-9a-z]+|[{CJK}]", text.lower())


class TermIndex:
    """What the sources (and the question) name, for matching terms case- and space-blind."""

    def __init__(self, texts: list[str]):
        self.words_by_text = []
        self.joined = set()  # concatenations of 1..4 consecutive words ("hr links" -> "hrlinks")
        self.normalised = []
        initials = set()
        for text in texts:
            clean = plain(text)
            words = _words(clean)
            self.normalised.append(" " + " ".join(words) + " ")
            self.words_by_text.append(set(words))
            for n in range(1, 5):
                for k in range(len(words) - n + 1):
                    self.joined.add("".join(words[k : k + n]))
            for run in re.finditer(r"[A-Z][\w’'-]*(?:\s+(?:(?:of|and|for|the|&)\s+)?[A-Z][\w’'-]*)+", clean):
                letters = "".join(w[0] for w in run.group(0).split() if w[0].isupper())
                for i in range(len(letters)):
                    for j in range(i + 2, len(letters) + 1):
                        initials.add(letters[i:j].lower())
        self.initials = initials

    def supports(self, term: str) -> bool:
        """Whether one of the texts names ``term``."""
        words = _words(term)
        if not words:
            return True
        phrase = " " + " ".join(words) + " "
        if any(phrase in text for text in self.normalised):
            return True
        compact = "".join(words)
        for candidate in (compact, compact[:-1] if compact.endswith("s") and len(compact) > 3 else None):
            if candidate and (candidate in self.joined or (len(words) == 1 and term.isupper() and candidate in self.initials)):
                return True
        if len(words) >= 2:  # word order or endings differ: every content word in one source
            content = [w for w in words if w not in ("of", "and", "for", "the", "to", "in", "on")]
            for vocabulary in self.words_by_text:
                if all(any(v.startswith(w[:5]) for v in vocabulary if v[:1] == w[:1]) for w in content):
                    return True
        return False


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
