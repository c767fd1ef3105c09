"""The answer check: where the evidence answerability is unsure, a model says whether the best
evidence states the answer to this question; "no" refuses, before anything is generated."""

import pytest

from kbassist.chat.answer_check import answer_probability, check_messages, evidence_mentions, mention_messages
from kbassist.llm.base import yes_share
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
    assert "could not confirm that any of them answers this question" in done["answer"]
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


def test_a_translated_question_is_checked_however_sure_its_evidence(handbook, employee, checker, settings):
    """Its answerability was read through a machine translation: the check runs even above
    KB_CHECK_BELOW, and its hesitant "yes" refuses."""
    from tests.chat.test_answer_trust import Translating

    settings.KB_CHECK_BELOW = 0.0
    check = checker("Yes")
    check.p_yes = 0.4
    chat = Translating(QUESTION, "您可以享受12周的带薪育儿假。")
    done = ask("我可以休几周带薪育儿假？", employee, chat)
    assert done["kind"] == "refused" and done["timings"]["answer_check"]["p_yes"] == 0.4
    assert "我可以休几周带薪育儿假？" in check.calls[0][-1].content  # the question as asked
    assert ask(QUESTION, employee, ScriptedBackend("You get 12 weeks of paid parental leave."))["kind"] == "generated"


def test_no_check_when_it_is_turned_off(handbook, employee, checker, settings):
    check = checker("No")
    settings.KB_CHECK_MODEL = ""
    assert ask(QUESTION, employee, ScriptedBackend("You get 12 weeks of paid parental leave."))["kind"] == "generated"
    assert not check.calls


def test_a_question_asking_for_a_duration_over_evidence_stating_none_is_refused_without_asking(public_collection, make_document, employee, checker):
    make_document(public_collection, "accounts.md", "# Recruiting tools\n\n## LinkedIn Recruiter\n\n"
                  "Reach out to #hiring in Slack and we will get your LinkedIn Recruiter account activated.\n")
    check = checker("Yes")
    check.p_yes = 0.95
    chat = ScriptedBackend("It takes 1 week to activate your LinkedIn Recruiter account.")
    done = ask("How many days does it take to activate my LinkedIn Recruiter account?", employee, chat)
    assert done["kind"] == "refused" and not chat.calls
    assert not any("state the answer" in call[-1].content for call in check.calls)  # the yes/no check is not asked
    assert done["timings"]["answer_check"] == {**done["timings"]["answer_check"], "verdict": False, "no_value": True}


@pytest.mark.parametrize("text, question", [
    ("Travel approval usually takes about a week.", "How long does travel approval take?"),  # a value in words
    ("Telework days are not limited.", "Is there a limit on how many days I can telework?"),  # a yes/no question
])
def test_evidence_giving_the_value_in_words_or_answering_yes_or_no_is_not_refused_for_lacking_one(public_collection, make_document, employee, checker, text, question):
    make_document(public_collection, "rules.md", f"# Rules\n\n## Timing\n\n{text}\n")
    check = checker("Yes")
    check.p_yes = 0.95
    done = ask(question, employee, ScriptedBackend("It depends [1]."))
    assert "no_value" not in done["timings"].get("answer_check", {})


def test_evidence_stating_the_duration_asked_is_still_checked(public_collection, make_document, employee, checker):
    make_document(public_collection, "accounts.md", "# Recruiting tools\n\n## LinkedIn Recruiter\n\n"
                  "Reach out to #hiring in Slack and we will get your LinkedIn Recruiter account activated within 2 days.\n")
    check = checker("Yes")
    check.p_yes = 0.95
    done = ask("How many days does it take to activate my LinkedIn Recruiter account?", employee, ScriptedBackend("2 days [1]."))
    assert done["kind"] == "generated" and check.calls and "no_value" not in done["timings"]["answer_check"]


def test_a_hesitant_yes_refuses(handbook, employee, checker, settings):
    """Where the backend gives the first token's probabilities, "yes" must be at least
    KB_CHECK_MIN_YES likely: a near-topic passage gets a hesitant "yes" from the 1.5B model
    (README, "Knowing when the sources do not answer")."""
    settings.KB_CHECK_MIN_YES = 0.7
    check = checker("Yes")
    check.p_yes = 0.62
    chat = ScriptedBackend("You get 12 weeks of paid parental leave.")
    done = ask(QUESTION, employee, chat)
    assert done["kind"] == "refused" and not chat.calls
    assert done["timings"]["answer_check"] == {**done["timings"]["answer_check"], "verdict": False, "p_yes": 0.62}


def test_a_confident_yes_answers(handbook, employee, checker, settings):
    settings.KB_CHECK_MIN_YES = 0.7
    check = checker("No")  # the greedy reply is not read when the probability is known
    check.p_yes = 0.91
    done = ask(QUESTION, employee, ScriptedBackend("You get 12 weeks of paid parental leave."))
    assert done["kind"] == "generated" and done["timings"]["answer_check"]["verdict"] is True
    assert len(check.calls) == 1  # one prompt evaluated, nothing generated by the check


@pytest.fixture
def weak(settings):
    """Every answerability counts as weak (below KB_WEAK_ANSWERABILITY)."""
    settings.KB_MIN_ANSWERABILITY, settings.KB_WEAK_ANSWERABILITY, settings.KB_CHECK_MIN_YES_WEAK = 0.0, 1.01, 0.85


def test_weak_evidence_needs_a_confident_yes(handbook, employee, checker, weak):
    check = checker("Yes")
    check.p_yes = 0.8  # enough for KB_CHECK_MIN_YES, not for weak evidence
    chat = ScriptedBackend("You get 12 weeks of paid parental leave.")
    assert ask(QUESTION, employee, chat)["kind"] == "refused" and not chat.calls
    check.p_yes = 0.9
    assert ask(QUESTION, employee, chat)["kind"] == "generated"


def test_over_weak_evidence_a_model_that_declines_after_the_checks_yes_is_believed(handbook, employee, checker, weak):
    # two judgments against one: the check's "yes" lets the model write, its "not covered" refuses
    check = checker("Yes")
    check.p_yes = 0.9
    done = ask(QUESTION, employee, ScriptedBackend("The knowledge base does not cover this question."))
    assert done["kind"] == "refused" and done["timings"]["answer_check"]["verdict"] is True
    assert "12 weeks of paid parental leave" in done["answer"]  # the closest sentence, quoted to judge


def test_over_evidence_that_is_not_weak_the_checks_yes_overrules_a_model_that_declines(handbook, employee, checker):
    checker("Yes")
    done = ask(QUESTION, employee, ScriptedBackend("The knowledge base does not cover this question."))
    assert done["kind"] == "generated" and done["answer"].startswith("Here is what the sources say:")


def test_weak_evidence_is_refused_when_no_check_runs(handbook, employee, checker, weak, settings):
    check = checker("Yes")
    settings.KB_CHECK_MODEL = ""
    chat = ScriptedBackend("You get 12 weeks of paid parental leave.")
    assert ask(QUESTION, employee, chat)["kind"] == "refused" and not chat.calls and not check.calls


def test_without_probabilities_the_greedy_reply_decides():
    assert answer_probability("Q?", ["Text."], ScriptedBackend("Yes")) == 1.0
    assert answer_probability("Q?", ["Text."], ScriptedBackend("No")) == 0.0
    assert answer_probability("Q?", ["Text."], ScriptedBackend("Perhaps")) is None
    assert answer_probability("Q?", ["Text."], ScriptedBackend("No", p_yes=0.8)) == 0.8


def test_yes_and_no_share_the_first_tokens_probability():
    assert yes_share([("Yes", 0.6), (" yes", 0.1), ("No", 0.2), ("Maybe", 0.1)]) == pytest.approx(0.7 / 0.9)
    assert yes_share([("是", 0.3), ("否", 0.1)]) == pytest.approx(0.75)
    assert yes_share([("Perhaps", 0.9)]) is None


def test_chinese_yes_and_no_are_read():
    assert answer_probability("我可以休几周育儿假？", ["12 weeks of paid parental leave."], ScriptedBackend("是的")) == 1.0
    assert answer_probability("我可以休几天婚假？", ["12 weeks of paid parental leave."], ScriptedBackend("否")) == 0.0
    assert answer_probability("Anything?", [], ScriptedBackend("Yes")) is None  # nothing to check


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


def test_the_check_reads_each_sentence_after_its_page_and_section():
    """Told whose row a value is ("Account Executive" or "Customer Engineer"), the model says
    "yes" less often to another thing's value."""
    from kbassist.chat.grounding import Grounding

    sources = [{"n": 1, "title": "Sales compensation", "section": "Draws", "location": "Draws › Account Executives", "text":
                "Account Executives receive a quarterly draw of $2,500 against their year-end payout."},
               {"n": 2, "title": "Travel FAQ", "section": "", "location": "", "text": "Book trips through the travel desk."}]
    grounding = Grounding("How much is the quarterly draw?", sources)
    titled = grounding.titled_check_evidence()
    assert titled[0] == "[Sales compensation › Draws › Account Executives] " + grounding.check_evidence()[0]
    assert all(t.startswith("[") for t in titled)


def test_the_answer_check_is_asked_over_the_titled_evidence(handbook, employee, checker):
    check = checker("Yes")
    ask(QUESTION, employee, ScriptedBackend("You get 12 weeks of paid parental leave."))
    asked = [m.content for call in check.calls for m in call if "Does the text state the answer" in m.content]
    assert asked and all("Text:\n- [" in content for content in asked)


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


@pytest.mark.parametrize("question", [
    "In Denver, how many weeks of paid parental leave do I get?",  # a name: the asker's city
    "I flew out on a Sunday. How many weeks of paid parental leave do I get?",  # a word of the asker's setup only
])
def test_the_askers_circumstance_no_chunk_uses_only_makes_the_check_run(handbook, employee, checker, settings, question):
    """ "Denver" and "flew" are in no chunk, but they tell the asker's circumstances, not a
    thing the knowledge base lacks: the model is not asked whether the evidence mentions them
    (it never does), but the answer is checked however sure the answerability is."""
    check = checker("Yes")
    check.p_yes = 0.9
    settings.KB_CHECK_BELOW = 0.0
    done = ask(question, employee, ScriptedBackend("12 weeks."))
    assert done["kind"] == "generated" and len(check.calls) == 1
    assert "mention" not in check.calls[0][-1].content and "missing" not in done["timings"]["answer_check"]
    check.p_yes = 0.3
    settings.KB_ANSWER_CACHE = False
    assert ask(question, employee, ScriptedBackend("12 weeks."))["kind"] == "refused"


def test_questions_whose_words_the_evidence_uses_get_no_mention_check(handbook, employee, checker, settings):
    check = checker("No")
    settings.KB_CHECK_BELOW = 0.0
    assert ask(QUESTION, employee, ScriptedBackend("You get 12 weeks of paid parental leave."))["kind"] == "generated"
    assert not check.calls


def test_a_word_only_the_machine_translation_uses_is_not_asked_about(handbook, employee, checker, settings):
    """The translator's "subsidy" for 补贴, where the handbook says "allowance" or "stipend": a
    word of the translation that no chunk uses is its synonym, not a thing the knowledge base
    lacks; only the answer check reads a translated question."""
    from tests.chat.test_answer_trust import Translating

    check = checker("No")  # would refuse as the reply to "does it mention 'subsidy'?"
    check.p_yes = 0.9
    english = "How many weeks of paid parental leave subsidy do I get?"
    done = ask("带薪育儿假补贴有几周？", employee, Translating(english, "您可以享受12周的带薪育儿假。"))
    assert done["kind"] == "generated" and len(check.calls) == 1 and "missing" not in done["timings"]["answer_check"]
    # the same words asked in English are asked about
    assert ask(english, employee, ScriptedBackend("12 weeks."))["kind"] == "refused"
    assert 'mention "subsidy"' in check.calls[-1][-1].content


def test_a_hesitant_yes_to_a_question_asking_for_a_value_is_confirmed_by_copying_the_answer(handbook, employee, checker):
    """Below KB_CHECK_CONFIRM_BELOW the model copies the words that answer; a copy with no
    value in it (NONE, or words without a number) declines."""
    check = checker("NONE")
    check.p_yes = 0.7
    chat = ScriptedBackend("You get 12 weeks of paid parental leave.")
    done = ask(QUESTION, employee, chat)
    assert done["kind"] == "refused" and not chat.calls
    assert done["timings"]["answer_check"] == {**done["timings"]["answer_check"], "verdict": False, "p_yes": 0.7, "copied": ""}
    assert "Copy the shortest words" in check.calls[-1][-1].content and QUESTION in check.calls[-1][-1].content
    check.reply = "12 weeks"
    done = ask(QUESTION, employee, chat)
    assert done["kind"] == "generated" and done["timings"]["answer_check"]["copied"] == "12 weeks"


def test_a_translation_that_loses_the_kind_of_value_asked_for_is_still_checked_by_a_copy(handbook, employee, checker, settings):
    """ "最晚几点提交？" asks for a time; its translation "What is the latest to submit …?" names
    none. The asker's own words say a value is wanted, so a hesitant "yes" is confirmed."""
    from tests.chat.test_answer_trust import Translating

    check = checker("NONE")
    check.p_yes = 0.7
    done = ask("带薪育儿假申请最晚几点提交？", employee, Translating("What is the latest to request paid parental leave?", "12周。"))
    assert done["kind"] == "refused" and done["timings"]["answer_check"]["copied"] == ""


def test_a_confident_yes_or_a_question_asking_for_no_value_is_not_copied(handbook, employee, checker, settings):
    check = checker("NONE")
    check.p_yes = 0.8  # above KB_CHECK_CONFIRM_BELOW
    assert ask(QUESTION, employee, ScriptedBackend("You get 12 weeks."))["kind"] == "generated" and len(check.calls) == 1
    check.p_yes = 0.7
    done = ask("Where do I request paid parental leave?", employee, ScriptedBackend("Ask HR."))
    assert "copied" not in done["timings"].get("answer_check", {})


def test_a_copied_answer_holds_a_value_in_digits_or_words():
    from kbassist.chat.answer_check import holds_value

    assert holds_value("12 weeks") and holds_value("ONE year") and holds_value("$75") and holds_value("十二周")
    assert not holds_value("") and not holds_value("GSA") and not holds_value("Annual Leave")


def test_a_copy_counts_only_if_the_evidence_states_its_value():
    """The 1.5B "copied" 12:00 from a weekly timecard deadline: a value the text does not hold
    is no copy. Format, words and units may differ."""
    from kbassist.chat.answer_check import copies_a_value

    evidence = ["You must submit your timecard each week by the end of the day on Friday.", "Parental leave: up to twelve weeks, or 1,200 hours.",
                "Check in by 10 a.m. on December 31."]
    assert not copies_a_value("12:00", evidence) and not copies_a_value("$1,200", evidence)  # a time, an amount the text does not give
    assert copies_a_value("12 weeks", evidence) and copies_a_value("1200", evidence) and copies_a_value("十二周", evidence)
    assert copies_a_value("84 days", evidence) and copies_a_value("10:00", evidence) and copies_a_value("12月31日", evidence)
    assert not copies_a_value("December 30", evidence) and not copies_a_value("12 days", evidence)
    assert not copies_a_value("Friday", evidence)  # no value at all


def test_a_sum_of_money_is_no_copy_of_a_count():
    from kbassist.chat.answer_check import copies_a_value

    evidence = ["The prizes will vary each week, but will be worth a minimum of $50 USD."]
    assert not copies_a_value("50", evidence, "number")  # "the minimum number of steps a day?"
    assert copies_a_value("$50", evidence, "amount") and copies_a_value("50", evidence)
    # a copied sum is still the answer to "what's the maximum I can claim?" (a "number" question)
    assert copies_a_value("$150", ["The maximum hotel rate is $150 per night."], "number")


def test_a_hesitant_yes_with_a_copy_the_evidence_does_not_hold_refuses(handbook, employee, checker):
    check = checker("20 weeks")  # the handbook's passage says 12 weeks
    check.p_yes = 0.7
    done = ask(QUESTION, employee, ScriptedBackend("You get 20 weeks."))
    assert done["kind"] == "refused" and done["timings"]["answer_check"]["copied"] == "20 weeks"


RELOCATION = (
    "# Working remotely\n\n## Relocating\n\n"
    "If you are relocating for 120 days or less, you do not need to notify PeopleOps or update GSA systems.\n"
    "Longer moves need a new duty station.\n"
)


def test_evidence_that_says_no_to_a_yes_no_question_is_answered_without_asking_the_check(public_collection, make_document, employee, checker):
    make_document(public_collection, "remote.md", RELOCATION)
    check = checker("No")  # a small model hears no "yes" in a "no"
    done = ask("I am relocating to my parents' house for two months. Do I need to notify PeopleOps?", employee,
               ScriptedBackend("No, you do not need to notify PeopleOps for 120 days or less [1]."))
    assert done["kind"] == "generated" and not check.calls
    assert done["timings"]["answer_check"]["verdict"] is True
    assert "do not need to notify PeopleOps" in done["timings"]["answer_check"]["says_no"]


def test_the_try_page_asks_the_check_before_generating_as_the_chat_does(handbook, employee, checker):
    """The curators' try page showed a generated answer where the chat refused: the check
    that runs before generating was only described there, never asked."""
    from kbassist.chat.answering import explain

    checker("No")
    chat = ScriptedBackend("You get 12 weeks of paid parental leave.")
    ex = explain(QUESTION, user=employee, generate=True, backend=chat)
    assert ex.path == "refused" and "asked here, it refuses" in ex.reason and not chat.calls
    assert ex.check["verdict"] is False and not ex.generated

    checker("Yes.")
    ex = explain(QUESTION, user=employee, generate=True, backend=chat)
    assert ex.path == "generated" and "asked here, it answers" in ex.reason and "12 weeks" in ex.generated
    assert ex.check["verdict"] is True


def test_without_generating_the_try_page_asks_no_model(handbook, employee, checker):
    from kbassist.chat.answering import explain

    check = checker("No")
    ex = explain(QUESTION, user=employee)
    assert ex.path == "generated" and "the answer check's model is asked first" in ex.reason
    assert not check.calls and ex.check is None


def test_the_try_page_shows_what_the_check_said(client, admin_user, handbook, checker, backend):
    from django.urls import reverse

    checker("No")
    backend(ScriptedBackend("You get 12 weeks of paid parental leave."))
    client.force_login(admin_user)
    page = client.get(reverse("curation:try"), {"q": QUESTION, "generate": "1"}).content.decode()
    assert 'id="path">refused<' in page and 'id="answer-check">refuses' in page
