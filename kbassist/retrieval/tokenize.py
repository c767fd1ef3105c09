"""One tokenizer for indexing and querying, for English and Chinese text.

Latin-script words are lower-cased, stop words dropped and Snowball-stemmed (the same
recipe as Lucene's English analyzer, which the published BM25 baselines use). Chinese has
no spaces, so each run of CJK characters becomes overlapping character bigrams (a lone
character stays a unigram), which retrieves Chinese text well without a segmenter.
"""

import re
from functools import lru_cache

import Stemmer

from kbassist.text import CJK

# Lucene's default English stop words.
STOP_WORDS = frozenset(
    "a an and are as at be but by for if in into is it no not of on or such that the their "
    "then there these they this to was will with".split()
)

_TOKEN_RE = re.compile(rf"([{CJK}]+)|([^\W_{CJK}]+(?:['’][^\W_{CJK}]+)*)")

_stemmer = Stemmer.Stemmer("english")


@lru_cache(maxsize=200_000)
def _stem(word: str) -> str:
    return _stemmer.stemWord(word)


def tokenize(text: str) -> list[str]:
    tokens: list[str] = []
    for cjk, word in _TOKEN_RE.findall(text.lower()):
        if cjk:
            if len(cjk) == 1:
                tokens.append(cjk)
            else:
                tokens.extend(cjk[i : i + 2] for i in range(len(cjk) - 1))
        else:
            word = word.replace("’", "'")
            if word.endswith("'s"):
                word = word[:-2]
            if word and word not in STOP_WORDS:
                tokens.append(_stem(word))
    return tokens


# Words that say how a question asks, not what it asks about, as ``tokenize`` writes them. An
# FAQ entry's question is written the way employees ask, so it shares them with every question;
# documents rarely hold them. See ``ingestion.indexing.keywords``. Not "may" (the month).
ASKING_WORDS = frozenset(tokenize(
    "how many much what when where who whom which why can could do does did i my me we our you your "
    "am were would should shall might must its those he she his her so get"
))


def without_asking_words(tokens: list[str]) -> list[str]:
    return [t for t in tokens if t not in ASKING_WORDS]


def query_tokens(query: str) -> list[str]:
    """What BM25 searches for: the query's tokens without the words that only say how it asks
    ("I've been asked … How long is the session?" matched personal README pages full of "I" and
    "my" before the page naming the CE Teachbacks); all of them when nothing else is left.
    Measured with bench/rerank.py (fused order, answerable questions of both handbooks' sets,
    session 19): right page shown 499 → 502 of 580, the chunk holding the key fact first
    320 → 330, the key fact in the quoted evidence 351 → 349."""
    tokens = tokenize(query)
    return without_asking_words(tokens) or tokens
