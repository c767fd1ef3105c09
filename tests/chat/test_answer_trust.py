"""Answers an employee can rely on: every fact checked against the sources before it is
shown, the supporting sentences quoted, and "the knowledge base does not say" when the
sources do not answer the question itself."""

import pytest
from django.urls import reverse

from kbassist.chat.answering import answer
from kbassist.chat.models import Message
from kbassist.llm.line import GenerationLine
from tests.fakes import ScriptedBackend

pytestmark = pytest.mark.django_db

ACCRUAL = (
    "# Leave\n\n## Annual leave\n\n"
    "Annual leave accrues based on how long you have worked for the government:\n\n"
    "- Fewer than 3 years: 4 hours per pay period\n"
    "- Between 3 and 15 years: 6 hours per pay period\n"
    "- More than 15 years: 8 hours per pay period\n\n"
    "## Parental leave\n\nEligible employees get 12 weeks of paid parental leave after the birth of a child.\n"
)


class Translating(ScriptedBackend):
    """Answers translation requests with ``english``, everything else with ``reply``."""

    def __init__(self, english, reply):
        super().__init__(reply)
        self.english = english

    def stream(self, messages, **kwargs):
        if "You translate" in messages[0].content:
            self.calls.append(messages)
            yield self.english
            return
        yield from super().stream(messages, **kwargs)


@pytest.fixture
def handbook(public_collection, make_document):
    return make_document(public_collection, "leave.md", ACCRUAL)


def ask(question, user, backend, **kwargs):
    return list(answer(question, user=user, backend=backend, line=GenerationLine(), **kwargs))[-1]


def test_a_supported_answer_is_shown_with_its_evidence_and_the_supporting_sentence(handbook, employee):
    done = ask("How many weeks of paid parental leave do I get?", employee,
               ScriptedBackend("You get 12 weeks of paid parental leave."))
    assert done["kind"] == "generated" and "12 weeks" in done["answer"]
    assert done["verification"]["claims_checked"] >= 1 and done["verification"]["claims_removed"] == 0
    assert any("12 weeks" in e["quote"] for e in done["evidence"])
    assert done["evidence"][0]["title"] == "Leave" and "Parental leave" in done["evidence"][0]["section"]
    cited = next(c for c in done["citations"] if c["cited"])
    start, end = cited["support"][0]
    assert "12 weeks" in cited["text"][start:end]


def test_a_duration_that_appears_in_no_source_is_never_shown(handbook, employee):
    done = ask("How many weeks of paid parental leave do I get?", employee,
               ScriptedBackend("You get 12 weeks of paid parental leave. You can extend it by 4 weeks."))
    assert "4 weeks" not in done["answer"] and "extend" not in done["answer"]
    assert done["kind"] == "generated" and "12 weeks" in done["answer"]
    assert done["verification"]["claims_removed"] == 1
    message = Message.objects.get(pk=done["message_id"])
    assert message.verification["claims_removed"] == 1 and message.verification["removed"][0]["claims"][0]["text"].startswith("4")


def test_an_answer_whose_every_fact_is_in_no_source_is_a_refusal_that_quotes_the_closest_sentences(handbook, employee):
    """The model had to make its answer up (a small model does when its sources do not answer):
    not an answer with its facts taken out, but "I could not confirm", with what comes closest."""
    done = ask("How many weeks of paid parental leave do I get?", employee,
               ScriptedBackend("You get 16 weeks of paid parental leave."))
    assert done["kind"] == "refused" and "16" not in done["answer"]
    assert "could not confirm" in done["answer"] and "12 weeks" in done["answer"]  # quoted, for the asker to judge
    assert done["verification"]["invented"] and done["verification"]["claims_removed"] == 1
    message = Message.objects.get(pk=done["message_id"])
    assert message.kind == "refused" and message.verification["removed"][0]["claims"][0]["text"].startswith("16")
    assert message.verification["model_answer"] == "You get 16 weeks of paid parental leave."


def test_an_answer_that_repeats_the_questions_own_figures_and_invents_the_one_asked_for_is_a_refusal(handbook, employee):
    """"The IG made 10 recommendations in the October 2016 evaluation": October 2016 is the
    question's, not a finding; the 10 is in no source (18f-s17-16)."""
    done = ask("My child was born in 2024. How many weeks of paid parental leave do I get?", employee,
               ScriptedBackend("For a child born in 2024 you get 16 weeks of paid parental leave."))
    assert done["kind"] == "refused" and "16 weeks" not in done["answer"] and "12 weeks" in done["answer"]
    assert done["verification"]["claims_restating_question"] == 1 and done["verification"]["invented"]


def test_a_made_up_figure_beside_a_sentence_that_only_repeats_the_question_is_still_a_refusal(handbook, employee):
    done = ask("My child was born in 2024. How many weeks of paid parental leave do I get?", employee,
               ScriptedBackend("Your child was born in 2024. You get 16 weeks of paid parental leave."))
    assert done["kind"] == "refused" and "16 weeks" not in done["answer"]


def test_a_made_up_yes_over_evidence_that_says_no_is_answered_by_that_evidence(public_collection, make_document, employee):
    make_document(public_collection, "carry.md", "# Leave\n\n## Carry-over\n\nAnnual leave cannot be carried over into the next year.\n")
    done = ask("Can I carry over my annual leave into the next year?", employee,
               ScriptedBackend("Yes, you can carry over up to 40 hours of annual leave."))
    assert done["kind"] == "generated" and done["verification"]["yes_against_evidence"]
    assert "cannot be carried over" in done["answer"] and "40 hours" not in done["answer"]


def test_a_name_inside_a_word_of_the_question_is_no_repetition_of_it(public_collection, make_document, employee, settings):
    """"OPM" is not in "development": a finding of the answer's, so its made-up 40 hours is
    taken out and the quote answers, as for any answer with a fact found."""
    settings.KB_CHECK_BELOW = settings.KB_MIN_ANSWERABILITY = settings.KB_WEAK_ANSWERABILITY = 0.0  # generate, unchecked
    make_document(public_collection, "training.md", "# Training\n\n## Development\n\nOPM runs professional development training for employees.\n")
    done = ask("How many hours of professional development training must I take?", employee,
               ScriptedBackend("OPM requires 40 hours of training."))
    assert done["verification"]["claims_restating_question"] == 0 and done["kind"] == "generated"


def test_what_the_model_wrote_is_kept_for_curators_not_sent_to_the_asker(handbook, employee):
    """It may draw on passages the asker cannot open (a refusal lists only the first few)."""
    from kbassist.chat.views import message_data

    done = ask("How many weeks of paid parental leave do I get?", employee, ScriptedBackend("You get 16 weeks of paid parental leave."))
    assert "model_answer" not in done["verification"]
    message = Message.objects.get(pk=done["message_id"])
    assert message.verification["model_answer"] == "You get 16 weeks of paid parental leave."
    assert "model_answer" not in message_data(message)["verification"]


def test_an_empty_reply_is_answered_by_the_quote_not_refused(handbook, employee):
    done = ask("How many weeks of paid parental leave do I get?", employee, ScriptedBackend("[1]"))
    assert done["kind"] == "generated" and "12 weeks" in done["answer"]


def test_a_number_from_the_wrong_table_row_is_caught(handbook, employee):
    done = ask("I am a new employee. How many hours of annual leave do I earn per pay period?", employee,
               ScriptedBackend("You earn 6 hours per pay period."))
    assert "6 hours" not in done["answer"] and "4 hours" in done["answer"]
    assert done["verification"]["claims_misread"] == 1


def test_days_allowed_abroad_are_not_shown_as_days_allowed_at_home(public_collection, make_document, employee):
    """Seen in a fresh start of the starter knowledge base: "How many days can I work from
    home?" answered with the 30 calendar days a year allowed abroad."""
    from pathlib import Path

    from django.conf import settings

    policy = Path(settings.BASE_DIR, "knowledge", "hr", "remote-work.md").read_text()
    make_document(public_collection, "remote-work.md", policy)
    done = ask("How many days can I work from home?", employee,
               ScriptedBackend("You can work from home for up to 30 calendar days per calendar year [1]."))
    assert "30 calendar days" not in done["answer"]
    assert done["verification"]["claims_misread"] == 1
    assert "3 days per week from home" in done["answer"]  # the quote that fits is the answer


def test_an_on_topic_question_the_sources_do_not_answer_is_refused(handbook, employee):
    backend = ScriptedBackend("You get 10 days of leave for your wedding.")
    done = ask("How many days of wedding leave do I get?", employee, backend)
    assert done["kind"] == "refused" and not backend.calls
    assert "could not confirm that any of them answers this question" in done["answer"] and "Leave" in done["answer"]


def test_a_value_from_a_page_that_never_names_what_the_question_names_is_refused(public_collection, make_document, employee, monkeypatch):
    """sg-s20-16: the CE Teachback is named on one page, without a length; the "30 minutes"
    of an interview's working session on another page is not its length."""
    monkeypatch.setattr("kbassist.chat.evidence.RARE_NAME_SHARE", 0.5)  # a name in 1 of this tiny knowledge base's 2 chunks is rare
    make_document(public_collection, "ce-team-norms.md",
                  "# CE Team Norms\n\n## Recurring Team Meetings\n\n- **CE Teachbacks** (monthly): Regular sync for the CE team to learn from each other.\n")
    make_document(public_collection, "interviews.md",
                  "# Types of interviews\n\n## Customer Engineering (CE) working session\n\n"
                  "Plan to spend roughly 30 minutes on the session topic in an open, collaborative manner.\n")
    backend = ScriptedBackend("The CE Teachback session is 30 minutes long [2].")
    done = ask("I've been asked to present something at the next CE Teachback. How long is the session?", employee, backend)
    assert done["kind"] == "refused" and not backend.calls
    assert done["timings"]["named_elsewhere"] == ["Teachback"]
    assert "30 minutes" in done["answer"]  # quoted as the closest sentence, for the asker to judge
    from kbassist.chat.answering import explain  # the curators' try page says why

    explained = explain("I've been asked to present something at the next CE Teachback. How long is the session?", user=employee)
    assert explained.path == "refused" and "“Teachback”" in explained.reason


def test_a_refusal_on_the_topic_quotes_the_sentences_that_come_closest(handbook, employee):
    """The check that refuses can be wrong: the closest sentences, verbatim with their source,
    let the asker judge (and hold the fact when an answerable question was refused)."""
    done = ask("How many days of wedding leave do I get?", employee, ScriptedBackend())
    assert done["kind"] == "refused"
    quotes = [line for line in done["answer"].split("\n") if line.startswith("> ")]
    assert quotes and len(quotes) == len(done["evidence"]) <= 2
    for line, quoted in zip(quotes, done["evidence"]):
        assert quoted["quote"] in done["citations"][quoted["n"] - 1]["text"]  # verbatim, from the source it names
        assert line.endswith(f"[{quoted['n']}]") and quoted["title"] == "Leave"
        assert line.startswith(f"> From *{quoted['section']}*: ")  # where it comes from: a quote alone can mislead
    assert done["verification"] == {"from_evidence": True}  # the chat shows the quotes once, in the text
    assert not any(c["cited"] for c in done["citations"])
    # what each [n] is, in the text itself (a chat bot shows no sources beside it)
    assert all(f"- [{c['n']}] Leave" in done["answer"] for c in done["citations"])


def test_a_chinese_refusal_says_so_in_chinese_and_quotes_the_english_sentences(handbook, employee):
    done = ask("我结婚可以请几天婚假？", employee, Translating("How many days of wedding leave do I get?", ""))
    assert done["kind"] == "refused"
    assert done["answer"].startswith("知识库中有与此主题相关的内容") and "最接近的原文" in done["answer"]
    assert any(line.startswith("> 摘自*Leave") and line.endswith("]") for line in done["answer"].split("\n"))


def test_a_refusal_on_the_topic_gives_the_passages_it_covers_to_open_but_cites_none(handbook, employee):
    """"What it does cover" is something the asker can open and read, as a source of no claim."""
    events = list(answer("How many days of wedding leave do I get?", user=employee, backend=ScriptedBackend(), line=GenerationLine()))
    done = events[-1]
    assert done["kind"] == "refused"
    assert done["citations"] and all(not c["cited"] for c in done["citations"])
    assert {c["title"] for c in done["citations"]} == {"Leave"} and all(c["text"] for c in done["citations"])
    sent = next(e for e in events if e["type"] == "sources")["sources"]
    assert [s["n"] for s in sent] == [c["n"] for c in done["citations"]]
    assert Message.objects.get(pk=done["message_id"]).citations == done["citations"]


def test_the_model_saying_its_sources_do_not_answer_counts_as_a_refusal_where_the_evidence_was_unsure(handbook, employee, settings):
    settings.KB_CHECK_MODEL, settings.KB_CHECK_BELOW = "", 1.01  # unsure, and nothing checked it
    done = ask("How many weeks of paid parental leave do I get?", employee,
               ScriptedBackend("The knowledge base does not cover this question."))
    assert done["kind"] == "refused"
    assert done["citations"] and not any(c["cited"] for c in done["citations"])  # the sources it was given stay listed
    # and, as a refusal before generating does, it quotes what comes closest
    assert done["answer"].startswith("The knowledge base does not cover this question.")
    assert "> From *Leave › Parental leave*: Eligible employees get 12 weeks of paid parental leave after the birth of a child. [" in done["answer"]
    assert done["evidence"] and done["verification"] == {"from_evidence": True}


def test_a_model_declining_over_evidence_judged_to_answer_gives_the_quoted_evidence(handbook, employee, settings):
    """Sure evidence (nothing to check) or the check's confident "yes": the model's "does not
    cover" is the model failing to read it, so the quote is the answer."""
    settings.KB_CHECK_BELOW = 0.0
    done = ask("How many weeks of paid parental leave do I get?", employee,
               ScriptedBackend("The knowledge base does not cover this question."))
    assert done["kind"] == "generated" and done["status"] == "complete"
    assert done["answer"].startswith("Here is what the sources say:") and "12 weeks of paid parental leave" in done["answer"]
    assert done["verification"] == {"from_evidence": True, "model_declined": True}
    assert [c["section"] for c in done["citations"] if c["cited"]] == ["Leave › Parental leave"]


def test_a_chinese_question_is_translated_to_search_english_documents(handbook, employee):
    backend = Translating("How many weeks of paid parental leave do I get?", "您可以享受12周的带薪育儿假。")
    done = ask("我可以休几周带薪育儿假？", employee, backend)
    assert done["kind"] == "generated" and "12" in done["answer"]
    assert Message.objects.get(pk=done["message_id"]).search_query == "How many weeks of paid parental leave do I get?"
    assert done["verification"]["claims_removed"] == 0  # "12周" is the source's "12 weeks"


def test_a_name_made_up_in_chinese_is_never_shown(handbook, employee):
    """18f-s21-20: "负责人叫陈明", a lead no page names: every fact of the answer is in no
    source, so it is the refusal on the topic."""
    backend = Translating("Who approves paid parental leave?", "带薪育儿假由陈明审批 [1]。")
    done = ask("带薪育儿假由谁审批？", employee, backend)
    assert "陈明" not in done["answer"]
    assert done["kind"] == "refused" and done["verification"]["invented"] is True


def test_the_question_as_asked_adds_by_words_only_passages_in_its_own_language(public_collection, make_document, employee, settings):
    """The translation searches the English passages; the Chinese question, matched against
    English text by its few Latin words ("IAA"), would only push the answering page out.
    (The cross-lingual index's places, switched off here, are the next test's.)"""
    from kbassist.chat.answering import found_hits

    settings.KB_CROSSLINGUAL_HITS = 0
    from kbassist.retrieval.search import search

    for k in range(6):
        make_document(public_collection, f"agreements-{k}.md", f"# Agreements {k}\n\nAn interagency agreement of kind {k} can take {10 + k} days to sign.\n")
    for k in range(3):
        make_document(public_collection, f"iaa-{k}.md", f"# IAA form {k}\n\nIAA attachment {k}: IAA.\n")
    make_document(public_collection, "协议.md", "# 协议\n\nIAA 协议一般需要10到90天。\n")
    translation, question = "How long does an interagency agreement take to sign?", "IAA 协议需要多久？"
    hits = found_hits(translation, "translated", question, employee)
    english = {h.chunk.pk for h in search(translation, employee).hits}
    assert all(h.chunk.pk in english or "协议" in h.chunk.text for h in hits)
    assert any("协议" in h.chunk.text for h in hits)


def test_a_reopened_answer_keeps_its_evidence(client, handbook, employee):
    done = ask("How many weeks of paid parental leave do I get?", employee,
               ScriptedBackend("You get 12 weeks of paid parental leave."))
    client.force_login(employee)
    conversation = Message.objects.get(pk=done["message_id"]).conversation
    page = client.get(reverse("chat:conversation", args=[conversation.pk])).content.decode()
    assert "evidence" in page and "12 weeks" in page


def test_curators_can_list_answers_whose_claims_were_removed(client, handbook, employee, admin_user):
    ask("How many weeks of paid parental leave do I get?", employee, ScriptedBackend("You get 16 weeks of paid parental leave."))
    ask("How many weeks of paid parental leave do I get?", employee, ScriptedBackend("You get 12 weeks of paid parental leave."))
    client.force_login(admin_user)
    page = client.get(reverse("admin:chat_message_changelist") + "?verified=removed").content.decode()
    assert "1 message" in page or page.count('class="action-select"') == 1


def test_without_generation_the_answer_is_the_quoted_evidence(handbook, employee, settings):
    settings.KB_GENERATE = False
    backend = ScriptedBackend("never asked")
    done = ask("How many weeks of paid parental leave do I get?", employee, backend)
    assert done["kind"] == "quoted" and not backend.calls
    assert "12 weeks of paid parental leave" in done["answer"] and done["evidence"]


def test_when_the_model_fails_the_evidence_still_answers(handbook, employee):
    done = ask("How many weeks of paid parental leave do I get?", employee, ScriptedBackend("x y", fail_after=0))
    assert done["kind"] == "passages" and "12 weeks of paid parental leave" in done["answer"]


@pytest.mark.parametrize("reply, expected", [
    ("How many weeks of paid parental leave do I get?", "How many weeks of paid parental leave do I get?"),
    ("How many weeks of 带薪 parental leave do I get?", "How many weeks of parental leave do I get?"),  # left out
    ("You get 12 weeks of paid parental leave.", None),  # an answer, not a translation: a number it was not asked
    ("我可以休几周带薪育儿假？", None),  # not translated
])
def test_only_a_translation_is_searched_for(reply, expected):
    from kbassist.chat.rewrite import to_english

    assert to_english("我可以休几周带薪育儿假？", Translating(reply, "unused")) == expected


def test_a_number_the_question_writes_in_chinese_numerals_may_be_translated_to_digits():
    from kbassist.chat.rewrite import to_english

    question = "纽约办公室在世贸中心一号楼的第几层？"
    assert to_english(question, Translating("Which floor of Building 1 of the World Trade Center is the New York office on?",
                                            "unused")) is not None
    assert to_english(question, Translating("The New York office is on the 28th floor of Building 1.", "unused")) is None


def test_a_number_the_model_adds_to_a_translated_question_is_left_out_of_the_search():
    from kbassist.chat.rewrite import to_english

    reply = "Can I get an equity refresh after 6 months, given that my last score was 2 out of 5?"
    assert to_english("我入职才6个月，上次绩效评分是2分，能拿到年度股权刷新吗？", Translating(reply, "unused")) == (
        "Can I get an equity refresh after 6 months, given that my last score was 2 out of ?")


def test_the_quote_under_an_answer_is_the_sentence_that_supports_it(handbook, employee):
    done = ask("What leave do I get after the birth of my child?", employee,
               ScriptedBackend("Eligible employees get 12 weeks of paid parental leave."))
    assert "12 weeks of paid parental leave" in done["evidence"][0]["quote"]


def test_an_answer_without_the_value_asked_for_over_evidence_that_gives_one_is_a_refusal_quoting_it(handbook, employee):
    """The model read values of the kind asked for and stated none: it found none that
    answers (8 unanswerable questions of our runs against 4 answerable ones). The quote still
    shows the value, marked as the closest the sources come."""
    done = ask("How many weeks of paid parental leave do I get?", employee,
               ScriptedBackend("You want to know how many weeks of paid parental leave you get."))
    assert done["kind"] == "refused" and done["verification"]["passed_over"]
    assert "could not confirm" in done["answer"] and "12 weeks" in done["answer"]
    # what the model wrote is kept for the curators, though the asker is shown the quote
    assert Message.objects.get(pk=done["message_id"]).verification["model_answer"].startswith("You want to know")


def test_an_answer_that_only_asks_the_question_back_is_a_refusal_whatever_its_characters_look_like(handbook, employee):
    """The "一" of "一共" (in all) is no number stated (18f-s17-20 restated its question)."""
    done = ask("How many weeks of paid parental leave do I get?", employee, ScriptedBackend("你一共可以休几周的带薪育儿假？"))
    assert done["kind"] == "refused" and done["verification"]["passed_over"]


def test_a_value_the_question_states_is_no_value_of_the_answer(handbook, employee):
    done = ask("How long is paid parental leave for 1 child?", employee,
               ScriptedBackend("Paid parental leave for 1 child is given to eligible employees."))
    assert done["kind"] == "refused" and done["verification"]["passed_over"] and "12 weeks" in done["answer"]


def test_an_answer_without_the_value_asked_for_over_evidence_without_one_is_answered_by_the_quote(public_collection, make_document, employee, settings):
    """Where the evidence states no value of the kind asked either ("once its goal is met"
    for "how long"), the quote is the answer: the model may have failed to read it (7 of the 8
    such answers of our runs were to answerable questions)."""
    # evidence taken as answering: no check
    settings.KB_CHECK_BELOW = settings.KB_MIN_ANSWERABILITY = settings.KB_WEAK_ANSWERABILITY = 0.0
    make_document(public_collection, "groups.md", "# Working groups\n\n## Lifetime\n\nA working group that lives on once its goal is met should be wound down by its sponsor.\n")
    done = ask("How long may a working group live before it is wound down?", employee,
               ScriptedBackend("A working group should be wound down by its sponsor."))
    assert done["kind"] == "generated" and done["verification"]["from_evidence"] and not done["verification"].get("passed_over")
    assert "once its goal is met" in done["answer"]


def test_an_answer_without_the_value_its_evidence_gives_is_not_shown_as_one(public_collection, make_document, employee, settings):
    """"Two quarters" is a duration: a reply that leaves it out did not answer "how long"."""
    settings.KB_CHECK_BELOW = settings.KB_MIN_ANSWERABILITY = 0.0
    make_document(public_collection, "groups.md", "# Working groups\n\n## Lifetime\n\nA working group that lives longer than two quarters should be wound down by its sponsor.\n")
    done = ask("How long may a working group live before it is wound down?", employee,
               ScriptedBackend("A working group should be wound down by its sponsor."))
    assert done["kind"] == "refused" and done["verification"]["passed_over"]
    assert "two quarters" in done["answer"]


def test_a_yes_that_its_evidence_says_no_to_is_replaced_by_the_quote(public_collection, make_document, employee):
    make_document(public_collection, "equipment.md", "# Equipment\n\n## Furniture\n\nGSA does not provide desk chairs to remote workers.\n")
    done = ask("I work remotely. Will GSA send me a desk chair?", employee, ScriptedBackend("Yes, GSA will send you a desk chair."))
    assert done["verification"]["from_evidence"] and done["verification"]["yes_against_evidence"]
    assert "does not provide desk chairs" in done["answer"] and not done["answer"].startswith("Yes")


def test_the_best_quote_is_shown_before_the_model_writes_its_first_word(handbook, employee):
    events = list(answer("How many weeks of paid parental leave do I get?", user=employee,
                         backend=ScriptedBackend("You get 12 weeks of paid parental leave."), line=GenerationLine()))
    kinds = [e["type"] for e in events]
    assert kinds.index("sources") < kinds.index("evidence") < kinds.index("token")
    early = events[kinds.index("evidence")]["evidence"]
    assert any("12 weeks" in e["quote"] and e["section"] for e in early)


def test_a_quote_from_a_later_passage_lists_every_passage_up_to_it(public_collection, make_document, employee, monkeypatch, settings):
    """A refusal lists three passages, or as many as its quotes need: no [n] without its passage."""
    from kbassist.chat.grounding import Grounding

    for k in range(6):
        make_document(public_collection, f"leave-{k}.md", f"# Leave in office {k}\n\nStaff in office {k} take leave by asking their manager.\n")
    monkeypatch.setattr(Grounding, "closest", lambda self, k=2: [ev for ev in self.ranked if ev.source_n == max(self.source_by_n)][:1])
    settings.KB_MIN_ANSWERABILITY = 1.01  # on the topic, never taken as answered
    done = ask("How do staff in an office take leave?", employee, ScriptedBackend())
    assert done["kind"] == "refused"
    n = done["evidence"][0]["n"]
    assert n > 3 and [c["n"] for c in done["citations"]] == list(range(1, n + 1))
    assert f"- [{n}] " in done["answer"] and done["answer"].count("\n> ") == 1


GOALS = (
    "# Sales goals\n\n## FY24 goal outline\n\n"
    "**Q1:**\n\n- YTD Closed Won ACV: $50k\n- Weighted Pipeline: $200k\n\n"
    "**Q2:**\n\n- YTD Closed Won ACV: $300k\n- Weighted Pipeline: $750k\n\n"
    "**Q3:**\n\n- YTD Closed Won ACV: $650K\n- Weighted Pipeline: $1M\n\n"
    "**Q4:**\nUpdated metrics will be released at the start of the quarter.\n"
)


def test_a_figure_from_another_quarters_list_is_caught(public_collection, make_document, employee):
    """Presence is not enough: "$650K" is on the page, but under "Q3:" (sg-s16-17 answered a
    Q4 question with the Q3 targets)."""
    make_document(public_collection, "goals.md", GOALS)
    done = ask("What is my Q2 target for YTD Closed Won ACV?", employee, ScriptedBackend("Your Q2 target is $650K [1]."))
    assert "$650K" not in done["answer"] and "$300k" in done["answer"]
    assert done["verification"]["claims_misread"] == 1
    done = ask("第二季度的 YTD Closed Won ACV 目标是多少？", employee, Translating("What is the second quarter target for YTD Closed Won ACV?", "$300k [1]"))
    assert done["kind"] != "refused" and "$300k" in done["answer"]  # the right quarter's figure stands



def test_a_page_the_translation_names_otherwise_is_found_by_the_question_as_asked(public_collection, make_document, employee):
    """18f-s21-10: "新主管手册" (the New Supervisor Playbook) translated "the new manager's
    manual" found manuals for managers; the cross-lingual index, searched with the question as
    asked, takes the last places of the five and brings the playbook's page. The translation's
    first hits keep their places."""
    from kbassist.chat.answering import found_hits
    from kbassist.retrieval.search import search

    for k in range(6):
        make_document(public_collection, f"manual-{k}.md", f"# Manager's manual {k}\n\nThe new manager's manual, volume {k}, lists the equipment a manager orders.\n")
    playbook = make_document(public_collection, "play-12.md", "# New Supervisor Playbook: play 12\n\n"
                             "When other teams set due dates for your team, first ask whether the deadlines are negotiable.\n")
    translation = "What does the new manager's manual say?"
    question = "新主管手册说，其他团队给我们定的截止日期，应该先问清楚什么？"
    translated = search(translation, employee).hits
    assert playbook.pk not in {h.chunk.document_id for h in translated}
    hits = found_hits(translation, "translated", question, employee)
    assert [h.chunk.pk for h in hits[:3]] == [h.chunk.pk for h in translated[:3]]
    assert len(hits) == 5 and any(h.chunk.document_id == playbook.pk for h in hits[3:])


def test_an_untranslated_chinese_question_also_searches_the_cross_lingual_index(handbook, public_collection, make_document, employee):
    """The model is down (no translation): a Chinese question's last places still go to the
    cross-lingual index's nearest passages; an English question's never do."""
    from kbassist.chat.answering import found_hits

    for k, topic in enumerate(["printer toner", "parking permits", "badge photos", "VPN tokens", "desk booking", "coffee machine"]):
        make_document(public_collection, f"it-{k}.md", f"# {topic.title()}\n\nQuestions about {topic} go to the office team, room {k + 10}.\n")
    question = "我每年有多少天年假？"  # "how many days of annual leave do I get a year?"
    hits = found_hits(question, "as asked", question, employee)
    assert len(hits) == 5 and len([h for h in hits[3:] if h.crosslingual_score is not None]) == 2
    english = "How many vacation days do I get?"
    assert all(h.crosslingual_score is None for h in found_hits(english, "as asked", english, employee))
