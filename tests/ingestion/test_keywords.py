"""What BM25 indexes for a chunk (``ingestion.indexing.keywords``)."""

from kbassist.ingestion.indexing import keywords
from kbassist.knowledge.models import Chunk, Document
from kbassist.retrieval.tokenize import tokenize


def test_an_faq_entry_is_indexed_without_the_words_that_say_how_a_question_asks():
    entry = Chunk(faq_id=1, text="Q: How many days of bereavement leave do I get?\nA: 3 paid working days.")
    assert keywords(entry) == ["q", "day", "bereav", "leav", "3", "paid", "work", "day"]


def test_a_document_passage_keeps_every_word_it_has():
    passage = Chunk(document=Document(title="Time off"), heading="Leave", text="How do you request leave? Ask your manager.")
    assert keywords(passage) == tokenize("Time off\nLeave\nHow do you request leave? Ask your manager.")
    assert "how" in keywords(passage)
