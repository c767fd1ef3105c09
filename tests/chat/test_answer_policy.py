"""Curated answers first, cached answers while nothing changed, and honest refusals."""

import pytest
from django.conf import settings

from kbassist.chat.answering import answer
from kbassist.chat.models import CachedAnswer, Conversation, Message
from kbassist.chat.policy import normalise
from kbassist.ingestion.importing import import_faq_csv
from kbassist.llm.line import GenerationLine

from tests.fakes import ScriptedBackend

pytestmark = pytest.mark.django_db

ZH = "# 休假制度\n\n## 年假\n\n全职员工每年享有二十八个工作日的带薪年假。\n\n## 病假\n\n请在上午十点前通知经理，从第四天起需要医生证明。\n"
FAQ = (
    "question,answer\n"
    "How do I reset my password?,Use the self-service portal at id.northwind.example or call ext. 4400.\n"
    "How many days of bereavement leave do I get?,3 paid working days for a close family member.\n"
    "我每年有多少天年假？,全职员工每年有 28 个工作日的年假。\n"
)


@pytest.fixture
def kb(public_collection, handbook, make_document, django_capture_on_commit_callbacks):
    make_document(public_collection, "zh.md", ZH)
    with django_capture_on_commit_callbacks(execute=True):
        import_faq_csv(public_collection, FAQ.encode())
    return public_collection


def run(question, user, backend=None, **kwargs):
    return list(answer(question, user=user, backend=backend or ScriptedBackend(), line=GenerationLine(), **kwargs))


def test_matching_faq_is_answered_as_written_without_the_model(kb, employee):
    backend = ScriptedBackend()
    events = run("how do I reset my password", employee, backend)
    done = events[-1]
    assert done["kind"] == "curated" and backend.calls == []
    assert done["answer"] == "Use the self-service portal at id.northwind.example or call ext. 4400. [1]"
    assert done["citations"][0]["kind"] == "faq" and done["citations"][0]["cited"]
    timings = done["timings"]
    assert timings["faq_similarity"] >= min(settings.KB_FAQ_MATCH_LEXICAL, settings.KB_FAQ_MATCH_COSINE)
    assert 0 < timings["retrieval_ms"] <= timings["ttft_ms"] <= timings["total_ms"]  # the answer came after the search
    assert "tokens" not in timings and "queue_ms" not in timings  # no model, no place in its line
    assert Message.objects.get(pk=done["message_id"]).kind == "curated"


def test_chinese_faq_is_matched_lexically(kb, employee):
    done = run("我每年有多少天年假", employee)[-1]
    assert done["kind"] == "curated" and "28" in done["answer"]


@pytest.mark.parametrize("question", ["我每年有多少天丧假？", "我每年有多少天病假？"])
def test_a_chinese_question_sharing_most_bigrams_with_an_faq_but_asking_about_other_leave_does_not_get_its_answer(kb, employee, question):
    """Bereavement or sick leave is not annual leave: the two questions share 7 of 8 bigrams,
    but the character they differ in (丧, 病) is what is asked about, not grammar."""
    done = run(question, employee, ScriptedBackend(reply="知识库没有说明。"))[-1]
    assert done["kind"] != "curated" and not done["answer"].startswith("全职员工每年有 28 个工作日的年假。")


def test_a_latin_word_neither_the_faq_question_nor_its_answer_uses_is_asked_beyond_it():
    """"忘记 Bitwarden 密码怎么办？" asks about the password manager, not the company account
    whose reset the FAQ's answer gives; a product the answer names, or a word differing only in
    case or width, is not asked beyond it (session 22, bench/faq_crosslingual.py)."""
    from kbassist.chat.policy import asks_more

    reset = "请访问 https://id.northwind.example，点击 Forgot password，用 MFA 验证后设置新密码。"
    assert "bitwarden" in asks_more("忘记 Bitwarden 密码怎么办？", "忘记密码怎么办？", reset)
    assert asks_more("忘记 Northwind ID 密码怎么办？", "忘记密码怎么办？", reset) == set()
    assert asks_more("PeopleHub 工资单什么时候发？", "工资单什么时候发？", "工资单每月 25 日在 PeopleHub 中发布。") == set()
    assert asks_more("怎么连接公司 ｖｐｎ？", "如何连接公司 VPN？") == set()


@pytest.mark.parametrize("question", ["我一年有多少天年假？", "我每年有多少天年假呢"])
def test_a_chinese_question_differing_from_an_faq_only_in_grammar_gets_its_answer(kb, employee, question):
    done = run(question, employee)[-1]
    assert done["kind"] == "curated" and "28" in done["answer"]


def test_a_related_but_different_question_goes_to_the_model(kb, employee):
    backend = ScriptedBackend(reply="Bring a doctor's note from day 4.")
    done = run("When do I need a doctor's note for sick leave?", employee, backend)[-1]
    assert done["kind"] == "generated" and backend.calls


def test_a_question_sharing_most_words_with_an_faq_but_asking_another_thing_does_not_get_its_answer(kb, employee):
    """Annual leave is not bereavement leave, however many words the two questions share."""
    backend = ScriptedBackend(reply="Full-time staff get 28 days of annual leave [1].")
    done = run("How many days of annual leave do new employees get?", employee, backend)[-1]
    assert done["kind"] != "curated" and "3 paid working days" not in done["answer"]


def test_nearly_the_same_words_and_meaning_get_the_curated_answer(kb, employee):
    done = run("How many days of bereavement leave do we get?", employee)[-1]
    assert done["kind"] == "curated" and "3 paid working days" in done["answer"]


def test_same_question_is_served_from_cache_until_the_collection_changes(kb, employee, make_document):
    backend = ScriptedBackend(reply="Full-time staff get 28 vacation days per year.")
    first = run("How many vacation days do I get?", employee, backend)[-1]
    assert first["kind"] == "generated" and len(backend.calls) == 1
    again = run("  how many VACATION days do I get ", employee, backend)[-1]
    assert again["kind"] == "cached" and len(backend.calls) == 1
    assert again["answer"] == first["answer"] and again["citations"] == first["citations"]
    assert CachedAnswer.objects.get().hits == 1
    make_document(kb, "parking.md", "# Parking\n\nParking is free.\n")  # the knowledge changed
    third = run("How many vacation days do I get?", employee, backend)[-1]
    assert third["kind"] == "generated" and len(backend.calls) == 2


def test_cache_is_per_visible_collections(kb, employee, hr_user, hr_collection, make_document):
    make_document(hr_collection, "bonus.md", "# Bonus\n\nThe annual vacation bonus is 500 EUR.\n")
    backend = ScriptedBackend(reply="Full-time staff get 28 vacation days per year.")
    run("How many vacation days do I get?", employee, backend)
    done = run("How many vacation days do I get?", hr_user, backend)[-1]
    assert done["kind"] == "generated"  # hr_user sees another set of collections


def test_follow_ups_and_stopped_answers_are_not_cached(kb, employee):
    stop_after_one = {"n": 0}

    def stop():
        return stop_after_one["n"] >= 1

    events = []
    for event in answer("How many vacation days do I get?", user=employee, backend=ScriptedBackend(reply="one two three"),
                        should_stop=stop, line=GenerationLine()):
        events.append(event)
        if event["type"] == "token":
            stop_after_one["n"] += 1
    assert events[-1]["status"] == "stopped"
    assert not CachedAnswer.objects.exists()


@pytest.mark.parametrize("question", ["What is the capital of France?", "How do I bake sourdough bread?", "火星的首都是什么？", "如何做红烧肉？"])
def test_off_topic_questions_are_refused_and_recorded(kb, employee, question):
    backend = ScriptedBackend()
    done = run(question, employee, backend)[-1]
    assert done["kind"] == "refused"
    assert not [call for call in backend.calls if "Sources:" in call[0].content]  # never asked to answer
    assert done["citations"] == []
    message = Message.objects.get(pk=done["message_id"])
    assert message.kind == "refused" and message.conversation.messages.first().content == question


def test_refusal_suggests_the_closest_faqs(kb, employee, settings):
    settings.KB_MIN_SIMILARITY = 0.4  # the espresso machine is off the topic at this bar
    backend = ScriptedBackend()
    done = run("What is the wifi password for the espresso machine?", employee, backend)[-1]
    assert done["kind"] == "refused" and backend.calls == []
    suggested = [s["faq_question"] for s in done["suggestions"]]
    assert suggested[0] == "How do I reset my password?"
    assert all(s["kind"] == "faq" for s in done["suggestions"])
    assert "The closest FAQ entries:\n- How do I reset my password?" in done["answer"]
    assert done["citations"] == []  # suggestions, not sources of the answer


@pytest.mark.parametrize("question", ["How do I bake sourdough bread?", "Who won the world cup in 2018?"])
def test_a_question_off_every_topic_is_declined_at_the_default_bar(kb, employee, question):
    backend = ScriptedBackend()
    done = run(question, employee, backend)[-1]
    assert done["kind"] == "refused" and backend.calls == []
    assert "does not cover this question" in done["answer"]


def test_regenerate_answers_again_with_the_model_without_a_new_question(kb, employee):
    first = run("how do I reset my password", employee)
    conversation_id = first[0]["id"]
    conversation = Conversation.objects.get(pk=conversation_id)
    conversation.messages.filter(role="assistant").delete()
    backend = ScriptedBackend(reply="Use the self-service portal.")
    done = run("how do I reset my password", employee, backend, conversation=conversation, regenerate=True)[-1]
    assert done["kind"] == "generated" and backend.calls
    assert list(conversation.messages.values_list("role", flat=True)) == ["user", "assistant"]


def test_normalise():
    assert normalise("  How many VACATION days?? ") == normalise("how many vacation days")
    assert normalise("年假有多少天？") == normalise("年假有多少天")


def test_hit_testing_shows_what_a_chinese_question_asks_beyond_an_faq(kb, employee):
    from kbassist.chat.policy import explain_curated
    from kbassist.retrieval.search import search

    rows = explain_curated("我每年有多少天丧假？", search("我每年有多少天丧假？", employee).hits)
    assert any(r["faq_question"] == "我每年有多少天年假？" and r["asks_more"] == "丧" and r["dice"] >= 0.7 for r in rows)


def test_a_chinese_question_is_asked_anew_once_its_cross_lingual_index_is_built(kb, public_collection, employee):
    """After an upgrade, ``rebuild_index --stale`` builds the cross-lingual index alone (the
    main index keeps its version): answers cached before it to Chinese questions are not
    served again; English ones are."""
    from kbassist.chat.policy import cache_key
    from kbassist.ingestion.indexing import sync_crosslingual
    from kbassist.retrieval import store

    chinese, english = cache_key("我每年有多少天年假？", [public_collection.pk]), cache_key("How many vacation days?", [public_collection.pk])
    store.drop_collection(public_collection.pk, space=store.CROSSLINGUAL)
    assert cache_key("我每年有多少天年假？", [public_collection.pk]) != chinese
    sync_crosslingual(public_collection.pk)
    assert cache_key("How many vacation days?", [public_collection.pk]) == english
