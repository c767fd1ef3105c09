"""Knowledge gaps: unanswered questions clustered by meaning with the real embedders, English
and Chinese together; gaps keep their identity as questions join them."""

import io
import json
import os

import pytest
from django.core.management import call_command

from kbassist.curation import gaps
from kbassist.curation.models import Gap, GapQuestion

pytestmark = pytest.mark.django_db

# Three topics the knowledge base does not cover, each asked in English and in Chinese.
TOPICS = {
    "parking": ["Is there parking at the office?", "Where can I park my car at work?", "Do employees get a free parking space?",
                "公司有停车位吗？", "上班可以把车停在哪里？"],
    "laptop": ["My laptop screen is broken, how do I get it repaired?", "Who fixes a broken work laptop?",
               "How do I request a replacement laptop?", "笔记本电脑坏了怎么修？", "公司电脑屏幕坏了找谁？"],
    "gym": ["Does the company pay for a gym membership?", "Is there a fitness allowance?", "Can I expense my gym subscription?",
            "公司报销健身房会员费吗？", "有健身补贴吗？"],
}
# The chat's translations of the Chinese questions (what Message.search_query holds).
TRANSLATIONS = {
    "公司有停车位吗？": "Does the company have parking spaces?",
    "上班可以把车停在哪里？": "Where can I park the car when I go to work?",
    "笔记本电脑坏了怎么修？": "How do I repair a broken laptop?",
    "公司电脑屏幕坏了找谁？": "Who do I contact when the company computer screen is broken?",
    "公司报销健身房会员费吗？": "Does the company reimburse gym membership fees?",
    "有健身补贴吗？": "Is there a fitness subsidy?",
}


@pytest.fixture
def embeddinggemma():
    from django.conf import settings

    from kbassist.retrieval.bundled import EMBEDDINGGEMMA, is_prepared
    from kbassist.retrieval.embedder import build_embedder, set_embedder

    folder = settings.BASE_DIR / "data" / "models" / EMBEDDINGGEMMA.folder
    if not is_prepared(folder, EMBEDDINGGEMMA):
        if os.environ.get("KB_REQUIRE_SERVERS") == "1":
            pytest.fail("EmbeddingGemma is not prepared in data/models (./kb test prepares it)")
        pytest.skip("EmbeddingGemma is not prepared in data/models")
    set_embedder(build_embedder("embeddinggemma", model_path=folder))
    yield
    set_embedder(None)


def plant(asked, people, translate: bool):
    """Each topic's questions, asked by different people; refused, disliked or corrected."""
    made = {}
    reasons = [dict(kind="refused"), dict(kind="generated", helpful=False), dict(kind="generated", claims_removed=1)]
    for t, (topic, questions) in enumerate(TOPICS.items()):
        for i, question in enumerate(questions):
            query = TRANSLATIONS.get(question, question) if translate else question
            message = asked(people[(t * 5 + i) % len(people)], question, search_query=query, **reasons[i % 3])
            made[message.pk] = topic
    return made


def topic_of_each_gap(made):
    found = {}
    for gap in Gap.objects.all():
        topics = {made[q.record.message_id] for q in gap.questions.select_related("record")}
        found[gap.pk] = topics
    return found


def test_english_and_chinese_questions_form_three_gaps_with_embeddinggemma(asked, people, embeddinggemma):
    made = plant(asked, people, translate=False)  # the questions as asked: a multilingual model needs no translation
    report = gaps.refresh()
    assert len(report.new_gaps) == 3 and report.joined == 0
    by_gap = topic_of_each_gap(made)
    assert sorted(len(t) for t in by_gap.values()) == [1, 1, 1]  # each gap is one topic
    summaries = gaps.summaries()
    assert [s.size for s in summaries] == [5, 5, 5]
    assert all(s.languages == ["en", "zh"] and s.askers == 5 for s in summaries)
    assert all(set(s.reasons) == {"refused", "disliked", "claims"} for s in summaries)
    parking = next(pk for pk, t in by_gap.items() if t == {"parking"})

    # A new paraphrase, in Chinese, joins the parking gap; nothing else changes.
    message = asked(people[19], "办公室附近哪里能停车？")
    report = gaps.refresh()
    assert report.joined == 1 and report.new_gaps == []
    assert GapQuestion.objects.get(record_id=message.pk).gap_id == parking
    assert set(Gap.objects.values_list("pk", flat=True)) == set(by_gap)  # the same three gaps, same ids
    assert gaps.refresh().joined == 0  # nothing new: nothing moves


def test_chinese_questions_join_english_ones_through_their_translation_with_minilm(asked, people):
    made = plant(asked, people, translate=True)
    report = gaps.refresh()
    by_gap = topic_of_each_gap(made)
    assert len(report.new_gaps) == 3 and sorted(len(t) for t in by_gap.values()) == [1, 1, 1]
    gym = next(pk for pk, t in by_gap.items() if t == {"gym"})
    message = asked(people[3], "健身卡能报销吗？", search_query="Can I claim my gym card back?")
    gaps.refresh()
    question = GapQuestion.objects.get(record_id=message.pk)
    assert question.gap_id == gym and question.text == "Can I claim my gym card back?"


def test_a_resolved_gap_asked_about_again_reopens(asked, people):
    asked(people[0], "Is there parking at the office?")
    gaps.refresh()
    gap = Gap.objects.get()
    from django.utils import timezone

    Gap.objects.filter(pk=gap.pk).update(status=Gap.Status.RESOLVED, resolved_at=timezone.now())
    asked(people[1], "Where can I park my car at the office?")
    report = gaps.refresh()
    assert report.reopened == [gap.pk]
    assert Gap.objects.get().status == Gap.Status.OPEN


def test_answered_questions_are_no_gaps(asked, people):
    asked(people[0], "How many vacation days do I get?", kind="generated", helpful=True)
    asked(people[1], "How many vacation days do I get?", kind="curated")
    assert gaps.refresh().new_gaps == [] and not Gap.objects.exists()


def test_the_command_prints_the_gaps_and_narrows_them_to_a_collection(asked, people, public_collection, hr_collection, hr_user):
    asked(people[0], "Is there parking at the office?")
    asked(people[1], "Where can I park my car at work?")
    asked(hr_user, "What is the bonus of my manager?")  # hr_user may search both collections
    out = io.StringIO()
    call_command("knowledge_gaps", "--json", stdout=out)
    data = json.loads(out.getvalue())
    assert [g["size"] for g in data["gaps"]] == [2, 1]
    assert data["gaps"][0]["askers"] == 2 and set(data["gaps"][0]["questions"]) == {"Is there parking at the office?", "Where can I park my car at work?"}
    out = io.StringIO()
    call_command("knowledge_gaps", "--collection", "HR confidential", stdout=out)
    text = out.getvalue()
    assert "What is the bonus of my manager?" in text and "parking" not in text
    assert "asked 1x by 1 people; languages en" in text
