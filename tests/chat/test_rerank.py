"""Reranking the fused candidates (issue 9, section 4): a passage just below the sources shown
whose sentence answers the question takes a place among them; the fused order still counts."""

from __future__ import annotations

import pytest
from django.test import override_settings

from kbassist.chat.answering import answer
from kbassist.chat.rerank import by_evidence, candidate_depth, evidence_scores, rerank
from kbassist.knowledge.models import Chunk
from kbassist.llm.line import GenerationLine
from kbassist.retrieval.search import Hit


def hits(*texts: str, heading: str = "") -> list[Hit]:
    """Candidates in fused order (unsaved chunks: the pass reads only their text)."""
    return [Hit(Chunk(pk=k, text=text, heading=heading), score=1 / (1 + k)) for k, text in enumerate(texts, start=1)]


OVERVIEW = "Parental leave at a glance. Parental leave is one of our leave types; parental leave is explained below."
WEEKS = "After the birth or adoption of a child, employees receive 12 weeks of paid parental leave."
TRAVEL = "Book travel through the travel system at least two weeks before the trip."


def test_the_passage_whose_sentence_answers_climbs_above_one_that_only_names_the_topic():
    fused = hits(OVERVIEW, TRAVEL, WEEKS)
    ordered = by_evidence("How many weeks of paid parental leave do employees get?", fused, weight=0.5)
    assert ordered[0].chunk.text == WEEKS


def test_with_no_weight_on_the_evidence_the_fused_order_stays():
    fused = hits(OVERVIEW, TRAVEL, WEEKS)
    assert by_evidence("How many weeks of paid parental leave do employees get?", fused, weight=0.0) == fused


def test_a_passage_with_none_of_the_question_s_words_keeps_its_fused_place_among_equals():
    fused = hits("Alpha beta gamma.", "Delta epsilon zeta.", "Eta theta iota.")
    assert by_evidence("How do I reset my password?", fused, weight=0.5) == fused


def test_each_candidate_is_scored_by_its_best_unit():
    scores = evidence_scores("How many weeks of paid parental leave do employees get?", hits(TRAVEL, WEEKS))
    assert scores[1] > scores[0] > 0


@override_settings(KB_RERANK="off")
def test_off_keeps_the_fused_order_and_fetches_no_more_than_shown():
    fused = hits(OVERVIEW, TRAVEL, WEEKS)
    assert rerank("How many weeks of parental leave?", fused, top_k=2) == fused[:2]
    assert candidate_depth(5) == 5


@override_settings(KB_RERANK="evidence", KB_RERANK_DEPTH=20)
def test_a_pass_fetches_its_depth_of_candidates_and_returns_only_the_sources_to_show():
    assert candidate_depth(5) == 20
    ordered = rerank("How many weeks of paid parental leave do employees get?", hits(OVERVIEW, TRAVEL, WEEKS), top_k=2)
    assert len(ordered) == 2 and ordered[0].chunk.text == WEEKS


def test_an_unknown_pass_is_a_clear_error():
    with pytest.raises(ValueError, match="KB_RERANK must be one of off, evidence"):
        rerank("question", hits(OVERVIEW, WEEKS), top_k=1, mode="cross-encoder")


# --- through answer(): what the asker is shown -------------------------------------------------
LEAVE_PAGE = "\n\n".join(
    [
        "# Parental leave\n\n" + OVERVIEW,
        "## Who may take it\n\nParental leave is open to every employee, full-time or part-time, from the first day.",
        "## How long\n\n" + WEEKS,
    ]
)


def shown(question: str, user) -> list[str]:
    events = list(answer(question, user=user, line=GenerationLine()))
    sources = next(e for e in events if e["type"] == "sources")["sources"]
    return [s["text"] for s in sources]


@pytest.mark.django_db
@override_settings(KB_TOP_K=1, KB_GENERATE=False, KB_CHUNK_SIZE=40, KB_CHUNK_OVERLAP=0)
def test_with_one_source_shown_the_evidence_pass_shows_the_passage_that_states_the_answer(public_collection, make_document, employee):
    make_document(public_collection, "parental-leave.md", LEAVE_PAGE)
    assert Chunk.objects.count() >= 3
    question = "How many weeks of paid parental leave do employees get?"
    with override_settings(KB_RERANK="off"):  # fused, the passages naming "parental leave" most come first
        assert not any("12 weeks" in text for text in shown(question, employee))
    with override_settings(KB_RERANK="evidence"):
        assert any("12 weeks" in text for text in shown(question, employee))
