"""Which sources an answer used, and ``[n]`` markers where it used them.

Small local models answer well from sources but cite them unreliably, so citations are
attributed after generation: each sentence of the answer is compared with each source it
was given (by the same tokens BM25 uses: stemmed words, Chinese bigrams); a sentence whose
content words mostly appear in one source gets that source's marker. Markers the model
wrote itself are kept. A sentence whose words match no source, but whose facts (numbers,
durations, amounts, named terms) verification found in one, is cited for that source: a
Chinese answer over English sources shares no words with them, yet its "12周" was read from
one of them. A sentence that matches no source either way gets no marker: nothing is cited
that the answer did not draw on, with one exception. An answer whose words cannot be compared
with its sources at all (a Chinese answer over English sources, or a bare "Yes.") and that no
marker could be put on, cites the source of the evidence it was judged on (``rests_on``),
after its first sentence: the answer was allowed only because that evidence answers the
question, and the chat quotes it beside the answer. "不需要。" over an English page stating
"they do not need a GSA provided computer" otherwise cited nothing (5 of the 10 held-out
Chinese answers of session 10).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from kbassist.retrieval.tokenize import tokenize
from kbassist.text import CITATION, is_chinese, sentence_spans

MIN_SUPPORT = 0.5  # share of a sentence's tokens that must appear in the source
MIN_TOKENS = 3  # shorter sentences ("Yes.") are not attributed


def attribute(answer: str, sources: list[str], facts: Sequence[tuple[int, int]] = (), rests_on: int | None = None) -> str:
    """``answer`` with a ``[n]`` marker after each sentence that one of ``sources`` supports.
    ``facts``: ``(offset in answer, source n)`` of each fact that verification found stated in
    source n; they cite a sentence whose words alone do not. ``rests_on``: the source of the
    evidence the answer was judged on, cited by an answer that cannot be compared by words
    (see the module's docstring); the caller passes it only when no fact of the answer was
    found wanting."""
    if not sources or not answer.strip():
        return answer
    cited = _attribute(answer, sources, facts)
    if rests_on is None or not 1 <= rests_on <= len(sources) or CITATION.search(cited) or not _incomparable(answer, sources[rests_on - 1]):
        return cited
    start, end = sentence_spans(answer)[0]
    return answer[:start] + _marked(answer[start:end], rests_on) + answer[end:]


def _incomparable(answer: str, source: str) -> bool:
    """The answer's words cannot be compared with the source's: another language, or too few."""
    return is_chinese(answer) != is_chinese(source) or len(set(tokenize(answer))) < MIN_TOKENS


def _marked(sentence: str, n: int) -> str:
    """``sentence`` with ``[n]`` before its closing punctuation."""
    body = sentence.rstrip()
    trailing = sentence[len(body) :]
    cut = len(body.rstrip(".!?。！？"))
    return f"{body[:cut]} [{n}]{body[cut:]}{trailing}"


def _attribute(answer: str, sources: list[str], facts: Sequence[tuple[int, int]]) -> str:
    source_tokens = [set(tokenize(text)) for text in sources]
    out = []
    position = 0
    for start, end in sentence_spans(answer):
        sentence = answer[start:end]
        out.append(answer[position:start])
        position = end
        if CITATION.search(sentence) or CITATION.match(answer[end:].lstrip()):
            out.append(sentence)  # the model cited this sentence itself (inside or right after it)
            continue
        tokens = set(tokenize(sentence))
        best, best_support = None, 0.0
        if len(tokens) >= MIN_TOKENS:
            for n, vocab in enumerate(source_tokens, start=1):
                support = len(tokens & vocab) / len(tokens)
                if support > best_support:
                    best, best_support = n, support
        if best is None or best_support < MIN_SUPPORT:
            best = _source_of_facts(facts, start, end, len(sources))
        out.append(sentence if best is None else _marked(sentence, best))
    out.append(answer[position:])
    return "".join(out)


def _source_of_facts(facts: Sequence[tuple[int, int]], start: int, end: int, n_sources: int) -> int | None:
    """The source in which most of the facts between ``start`` and ``end`` were found (the
    first such source on a tie), or None."""
    found = Counter(n for offset, n in facts if start <= offset < end and 1 <= n <= n_sources)
    if not found:
        return None
    top = max(found.values())
    return min(n for n, count in found.items() if count == top)
