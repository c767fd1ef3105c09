"""Which sources an answer used, and ``[n]`` markers where it used them.

Small local models answer well from sources but cite them unreliably, so citations are
attributed after generation: each sentence of the answer is compared with each source it
was given (by the same tokens BM25 uses: stemmed words, Chinese bigrams); a sentence whose
content words mostly appear in one source gets that source's marker. Markers the model
wrote itself are kept. A sentence that matches no source gets no marker: nothing is cited
that the answer did not draw on.
"""

from __future__ import annotations

from kbassist.retrieval.tokenize import tokenize
from kbassist.text import CITATION, sentence_spans

MIN_SUPPORT = 0.5  # share of a sentence's tokens that must appear in the source
MIN_TOKENS = 3  # shorter sentences ("Yes.") are not attributed


def attribute(answer: str, sources: list[str]) -> str:
    """``answer`` with a ``[n]`` marker after each sentence that one of ``sources`` supports."""
    if not sources or not answer.strip():
        return answer
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
            out.append(sentence)
            continue
        body = sentence.rstrip()
        trailing = sentence[len(body) :]
        cut = len(body.rstrip(".!?。！？"))
        out.append(f"{body[:cut]} [{best}]{body[cut:]}{trailing}")
    out.append(answer[position:])
    return "".join(out)
