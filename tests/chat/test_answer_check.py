"""The answer check: where the evidence answerability is unsure, a model says whether the best
evidence states the answer to this question; "no" refuses, before anything is generated."""

import pytest

from kbassist.chat.answer_check import check_messages, evidence_mentions, evidence_states_answer, mention_messages
from kbassist.llm import set_checker
from tests.chat.test_answer_trust import ACCRUAL, ask
from tests.fakes import ScriptedBackend

pytestmark = pytest.mark.django_db

QUESTION = "How many weeks of paid parental leave do I get?"


@pytest.fixture
def handbook(public_collection, make_document):
    return make_document(public_collection, "leave.md", ACCRUAL)


@pytest.fixture
def checker(settings):
    """The check runs for every answerable question (the band reaches 1.0), answered by a script."""
    settings.KB_CHECK_MODEL, settings.KB_CHECK_BELOW = "qwen-1.5b", 1.01

    def use(reply):
        backend = ScriptedBackend(reply)
        set_checker(backend)
        return backend

    yield use
    set_checker(None)


def test_evidence_the_model_says_does_not_state_the_answer_is_refused_before_generating(handbook, employee, checker):
    check = checker("No")
    chat = ScriptedBackend("You get 12 weeks of paid parental leave.")
    done = ask(QUESTION, employee, chat)
    assert done["kind"] == "refused" and not chat.calls
    assert "none of them answers this question" in done["answer"]
    prompt = check.calls[0][-1].content
    assert QUESTION in prompt and "12 weeks of paid parental leave" in prompt  # the best evidence, verbatim
    assert done["timings"]["answer_check"]["verdict"] is False


def test_evidence_the_model_says_states_the_answer_is_answered(handbook, employee, checker):
    checker("Yes.")
    done = ask(QUESTION, employee, ScriptedBackend("You get 12 weeks of paid parental leave."))
    assert done["kind"] == "generated" and done["timings"]["answer_check"]["verdict"] is True


def test_a_reply_that_is_neither_yes_nor_no_decides_nothing(handbook, employee, checker):
    checker("Perhaps")
    done = ask(QUESTION, employee, ScriptedBackend("You get 12 weeks of paid parental leave."))
    assert done["kind"] == "generated" and done["timings"]["answer_check"]["verdict"] is None


def test_evidence_sure_enough_is_not_checked(handbook, employee, checker, settings):
    check = checker("No")
    settings.KB_CHECK_BELOW = 0.0
    done = ask(QUESTION, employee, ScriptedBackend("You get 12 weeks of paid parental leave."))
    assert done["kind"] == "generated" and not check.calls and "answer_check" not in done["timings"]


def test_no_check_when_it_is_turned_off(handbook, employee, checker, settings):
    check = checker("No")
    settings.KB_CHECK_MODEL = ""
    assert ask(QUESTION, employee, ScriptedBackend("You get 12 weeks of paid parental leave."))["kind"] == "generated"
    assert not check.calls


def test_chinese_yes_and_no_are_read():
    assert evidence_states_answer("我可以休几周育儿假？", ["12 weeks of paid parental leave."], ScriptedBackend("是的")) is True
    assert evidence_states_answer("我可以休几天婚假？", ["12 weeks of paid parental leave."], ScriptedBackend("否")) is False
    assert evidence_states_answer("Anything?", [], ScriptedBackend("Yes")) is None  # nothing to check


def test_the_check_prompt_lists_each_evidence_sentence():
    messages = check_messages("Q?", ["First.", "Second."])
    assert messages[0].role == "system" and "yes or no" in messages[0].content
    assert "- First.\n- Second." in messages[1].content and "Question: Q?" in messages[1].content


def test_the_check_reads_the_sentence_the_answerability_rests_on_first():
    """The quoted evidence ranks sentences by the question's words; the answerability may rest
    on another of the top ones (the one with the asked-for value). The model must see that one,
    or it says "no" to a question the sources answer."""
    from kbassist.chat.grounding import Grounding

    sources = [{"n": 1, "title": "Travel FAQ", "section": "Securing approvals", "location": "", "text":
                "Having official travel approved for the days in between is possible if it is not possible to "
                "reschedule one of the meetings to avoid having days in between.\n\n"
                "Ensure this is complete by 3:30 PM Eastern, else your travel will not be approved until the next business day."}]
    grounding = Grounding("What time of day must my travel authorization be approved by to avoid a one-day delay?", sources)
    read = grounding.check_evidence()
    assert read[0] == grounding.answerability.best.quote
    assert any("3:30 PM" in sentence for sentence in read)


def test_the_mention_check_asks_whether_the_text_names_the_word_or_says_it_in_other_words():
    messages = mention_messages("sabbatical", ["Up to 4 weeks of paid care leave."])
    assert messages[0].role == "system" and "yes or no" in messages[0].content
    assert 'mention "sabbatical", or something that means the same?' in messages[-1].content
    assert "- Up to 4 weeks of paid care leave." in messages[-1].content
    assert evidence_mentions("sabbatical", ["Up to 4 weeks of paid care leave."], ScriptedBackend("No")) is False
    assert evidence_mentions("", ["Text."], ScriptedBackend("No")) is None  # nothing to ask


SABBATICAL = "How many weeks of paid sabbatical leave do I get?"


def test_a_benefit_the_handbook_never_names_is_refused_however_well_the_passage_scores(handbook, employee, checker, settings):
    """The parental-leave passage covers most words of a sabbatical question but never says
    "sabbatical" (a word no chunk of the knowledge base uses): even above KB_CHECK_BELOW the
    model is asked whether the passage mentions it in other words, and "no" refuses."""
    check = checker("No")
    settings.KB_CHECK_BELOW = 0.0
    chat = ScriptedBackend("12 weeks.")
    done = ask(SABBATICAL, employee, chat)
    assert done["kind"] == "refused" and not chat.calls
    assert done["timings"]["answer_check"]["missing"] == "sabbatical"
    assert done["timings"]["answer_check"]["mentioned"] is False
    assert 'mention "sabbatical"' in check.calls[0][-1].content


def test_a_word_the_model_finds_in_other_words_does_not_refuse(handbook, employee, checker, settings):
    """ "Yes, it mentions it" (a paraphrase, such as "child care" for "childcare"): a sure
    answerability is answered without the answer check's second question."""
    check = checker("Yes")
    settings.KB_CHECK_BELOW = 0.0
    done = ask(SABBATICAL, employee, ScriptedBackend("12 weeks."))
    assert done["kind"] == "generated" and len(check.calls) == 1
    assert done["timings"]["answer_check"] == {**done["timings"]["answer_check"], "verdict": None, "mentioned": True}


def test_questions_whose_words_the_evidence_uses_get_no_mention_check(handbook, employee, checker, settings):
    check = checker("No")
    settings.KB_CHECK_BELOW = 0.0
    assert ask(QUESTION, employee, ScriptedBackend("You get 12 weeks of paid parental leave."))["kind"] == "generated"
    assert not check.calls
