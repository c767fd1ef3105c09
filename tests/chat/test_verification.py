"""Verification before display (issue 9, section 2): every number, amount, duration, date,
percentage and named form/system in an answer must be found in its sources, with the
condition of the row it comes from fitting the question. Plain functions, no database."""

from __future__ import annotations

import pytest

from kbassist.chat.evidence import best_evidence
from kbassist.chat.verification import (
    MISREAD,
    SUPPORTED,
    UNSUPPORTED,
    evidence_answer,
    extract_claims,
    shown_answer,
    verify,
    yes_against_evidence,
)

# A few rows of the 18F handbook, travel-and-leave/leave.md (annual leave) and
# travel-and-leave/paid-parental-leave.md.
ANNUAL_LEAVE = """You may use annual leave for any reason. Annual leave accrues based on how long you’ve worked for the federal government:

* Fewer than 3 years: 4 hours per pay period
* Between 3 and 15 years: 6 hours per pay period
* 15+ years: 8 hours per pay period

Your leave increases on the first full pay period following your work anniversary. You can refer to either HR Links or the bottom of your paystub for your leave balances.

You can carry over a maximum of 240 annual leave hours, from one [leave year](https://www.opm.gov/policy-data-oversight/pay-leave/leave-administration/fact-sheets/leave-year-beginning-and-ending-dates/) to the next."""

PARENTAL_LEAVE = """* You are entitled to 12 weeks of paid time off for the birth, adoption or placement of a new child. It can be taken all at once or intermittently.
* You need to have been a federal employee for 12 months in order to access Paid Parental Leave (note: most veterans are immediately eligible).

You do not need to take all 12 weeks at once; you can space the leave out for up to one year after your child’s birth or placement."""

SOURCES = [
    {"n": 1, "text": ANNUAL_LEAVE, "title": "Leave types", "section": "Types of leave › Annual leave"},
    {"n": 2, "text": PARENTAL_LEAVE, "title": "Paid parental leave (PPL)"},
]
NEW_EMPLOYEE = "I'm a new employee. How much annual leave do I accrue per pay period?"


def statuses(answer, sources=SOURCES, question=""):
    return [s.status for s in verify(answer, sources, question).sentences]


# --- numbers that are not in the sources -----------------------------------------------------------
def test_a_duration_that_appears_in_no_source_is_removed():
    verification = verify("You get 16 weeks of paid parental leave [2]. Ask your supervisor first.", SOURCES)
    shown = verification.shown()
    assert verification.sentences[0].status == UNSUPPORTED
    assert shown.text == "Ask your supervisor first."
    assert shown.removed == ["You get 16 weeks of paid parental leave [2]."]


def test_a_duration_found_in_a_source_is_kept():
    assert statuses("You get 12 weeks of paid parental leave [2].") == [SUPPORTED]


def test_a_value_or_name_the_question_states_is_marked_as_given_not_found():
    question = "I have worked 12 months in the government. Can I use Paid Parental Leave?"
    claims = verify("After 12 months you can take 12 weeks of Paid Parental Leave [2].", SOURCES, question).claims
    given = {c.text: c.given for c in claims}
    assert given["12 months"] and not given["12 weeks"]
    assert verify("Yes, 12 months [2].", SOURCES, question).claims_restating_question == 1
    # a whole word only: "OPM" is not in "development"
    assert not verify("See OPM.", [{"n": 1, "text": "OPM rules apply."}], "Is there a development budget?").claims[0].given


def test_evidence_says_no_to_a_yes_no_question_when_it_restricts_what_the_question_asks_about():
    from kbassist.chat.verification import says_no_to

    rule = "If you are relocating for 120 days or less, you do not need to notify PeopleOps or update GSA systems."
    assert says_no_to("I'm moving for three months. Do I need to tell PeopleOps?", ["Relocation is common.", rule]) == rule
    # about something else, however negative, or about part of a short question
    assert says_no_to("Can I bring my dog to the office?", ["Focus on the actions, not the person."]) is None
    assert says_no_to("Are contractors eligible for the bonus?", ["Contractors are not eligible for health insurance."]) is None
    rare = {"internet": 3.0, "furnitur": 3.0}.get
    furniture = "The company does not pay for your home furniture."
    assert says_no_to("Does the company pay for my home internet?", [furniture], idf=lambda t: rare(t, 1.0)) is None
    assert says_no_to("Does the company pay for my home furniture?", [furniture], idf=lambda t: rare(t, 1.0)) == furniture
    # not a yes/no question; no restriction
    assert says_no_to("Whom do I tell when I move?", [rule]) is None
    assert says_no_to("Do I need to tell PeopleOps?", ["Tell PeopleOps when you move."]) is None


def test_a_number_with_the_wrong_unit_is_not_supported():
    assert statuses("You get 12 days of paid parental leave.") == [UNSUPPORTED]


def test_a_number_found_only_in_a_link_target_is_not_supported():
    # the link in ANNUAL_LEAVE holds no numbers, but a URL with digits must not count either
    sources = [{"n": 1, "text": "See the [calendar](https://example.org/2117738946/weeks)."}]
    assert statuses("The calendar lists 2117738946 weeks.", sources) == [UNSUPPORTED]


# --- normalisation: a value is found in its source however either writes it ---------------------------
TRAINING = "Employees get 2 weeks of training and a $150 stipend; 50% is paid upfront."
BUDGET = "The training budget is 1500 dollars per person."
PROCUREMENT = "Procurements over $10,000 need a review."
DURATIONS = "Requests take 14 days. Access lasts 12 months."
LEAVE_YEAR = "The 2022 leave year ends on December 31st."
MATCHING = "The agency matches 5 percent of your pay."


@pytest.mark.parametrize(
    "answer, source, expected",
    [
        # in words, and with a hyphen (source None: the handbook rows above)
        ("You are entitled to twelve weeks of paid leave.", None, [SUPPORTED]),
        ("Parents get a 12-week paid leave.", None, [SUPPORTED]),
        # a Chinese number written in characters matches its digits
        ("你可以享受十二周的带薪育儿假。", None, [SUPPORTED]),
        ("你可以享受十三周的带薪育儿假。", None, [UNSUPPORTED]),
        # Chinese digits with a Chinese unit match English units
        ("带薪育儿假共 12 周。[2]", None, [SUPPORTED]),
        ("年假最多可结转240小时。", None, [SUPPORTED]),
        # an ordinal day in digits, "第 4 个自然日", is the English "4th calendar day"
        ("从生病的第 4 个自然日起需要医生证明。", "A doctor's note is required from the 4th calendar day of illness.", [SUPPORTED]),
        ("从生病的第 5 个自然日起需要医生证明。", "A doctor's note is required from the 4th calendar day of illness.", [UNSUPPORTED]),
        # Chinese numerals: two, hundreds and percentages
        ("员工有两周培训。", TRAINING, [SUPPORTED]),
        ("津贴为一百五十美元。", TRAINING, [SUPPORTED]),
        ("预付百分之五十。", TRAINING, [SUPPORTED]),
        ("预付百分之六十。", TRAINING, [UNSUPPORTED]),
        # $1,500 matches 1500 dollars
        ("Each person may spend $1,500 on training.", BUDGET, [SUPPORTED]),
        ("Each person may spend 1.5k on training.", BUDGET, [SUPPORTED]),
        ("每人培训预算为1500美元。", BUDGET, [SUPPORTED]),
        ("Each person may spend $2,500 on training.", BUDGET, [UNSUPPORTED]),
        # thousands separators are ignored
        ("Purchases above $10000 are reviewed.", PROCUREMENT, [SUPPORTED]),
        # exact conversions between units count
        ("Requests take two weeks. Access lasts one year.", DURATIONS, [SUPPORTED, SUPPORTED]),
        # dates match however they are written
        ("The leave year ends on Dec 31.", LEAVE_YEAR, [SUPPORTED]),
        ("假期年度于12月31日结束。", LEAVE_YEAR, [SUPPORTED]),
        ("The leave year ends on December 30.", LEAVE_YEAR, [UNSUPPORTED]),
        # percentages match in words and signs
        ("Your contributions are matched up to 5%.", MATCHING, [SUPPORTED]),
    ],
)
def test_a_value_matches_however_it_is_written(answer, source, expected):
    assert statuses(answer, SOURCES if source is None else [{"n": 1, "text": source}]) == expected


# --- named forms, systems and terms -------------------------------------------------------------------
def test_a_form_not_in_the_sources_is_removed():
    verification = verify("Record it in HR Links. Then submit form SF-71 [1].", SOURCES)
    assert [s.status for s in verification.sentences] == [SUPPORTED, UNSUPPORTED]
    assert verification.shown().text == "Record it in HR Links."


def test_names_match_whatever_their_case_and_spacing():
    assert statuses("Check your balance in HRLinks.") == [SUPPORTED]
    assert statuses("Check your balance in Hr Links.") == [SUPPORTED]
    assert statuses("Check your balance in the Leave Bank Portal.") == [UNSUPPORTED]


def test_an_acronym_is_supported_by_the_name_it_abbreviates():
    assert statuses("PPL gives you 12 weeks of paid time off.") == [SUPPORTED]
    assert statuses("FMLA gives you 12 weeks of paid time off.") == [UNSUPPORTED]


def test_a_persons_name_in_chinese_that_no_source_states_is_removed():
    """18f-s21-20: asked in Chinese for a centre's lead no page names, the 1.5B answered
    "负责人叫陈明"; its words have no number and no Latin name, so nothing was checked."""
    assert statuses("这个中心的负责人叫陈明 [1]。") == [UNSUPPORTED]
    assert verify("这个中心的负责人叫陈明 [1]。", SOURCES).as_dict()["claims_removed"] == 1


def test_a_name_a_chinese_source_states_is_supported():
    sources = [{"n": 1, "text": "项目负责人：王伟，副负责人：刘洋。", "title": "项目"}]
    assert statuses("负责人是王伟 [1]。", sources) == [SUPPORTED]


def test_a_transliterated_name_is_not_looked_up_in_english_sources():
    """"珍妮·罗斯塔米" is "Jenny Rostami" in another script: no English source could state it."""
    assert [c.kind for c in extract_claims("审批人是珍妮·罗斯塔米。")] == []


def test_chinese_words_that_are_no_names_are_no_claims():
    assert extract_claims("请向主管和人力资源部门申请，马上联系IT服务台。") == []


# --- what is not a claim -------------------------------------------------------------------------------
def test_a_sentence_without_numbers_or_names_is_kept():
    verification = verify("You can take it all at once or intermittently.", SOURCES)
    assert verification.sentences[0].status == "unchecked"
    assert verification.claims_checked == 0
    assert verification.shown().text == "You can take it all at once or intermittently."
    assert not verification.shown().use_evidence


def test_number_words_without_a_unit_and_list_numbers_are_not_claims():
    assert extract_claims("1. Choose one of the two options.") == []
    assert extract_claims("你可以选择一些选项。") == []


def test_a_count_written_in_words_is_checked_when_the_question_asks_how_many():
    """"At most two free coaching sessions" (两次) answered a question no page answers: asked
    how many, the number is the answer, however it is written."""
    coaching = [{"n": 1, "text": "GSA provides free coaching services to any federal employee."}]
    question = "How many free coaching sessions can each employee get?"
    verification = verify("每个员工最多可以免费约两次教练辅导。", coaching, question)
    assert [(c.text, c.status) for c in verification.claims] == [("两", UNSUPPORTED)]
    assert verify("You get two free sessions.", coaching, question).claims_removed == 1
    assert verify("Two of them are coaches.", coaching, question).claims_checked == 0
    # a "two" of something else is no count of sessions
    weeks = coaching + [{"n": 2, "text": "Talk about development in the first two weeks."}]
    assert verify("每个员工最多可以免费约两次教练辅导。", weeks, question).claims_removed == 1
    assert verify("You can book two sessions.", coaching, "Where do I book coaching?").claims_checked == 0
    # one is no count: "一个" is Chinese's article, "the one you need" a pronoun
    assert verify("你需要填一个表，就是你需要的那一个。", coaching, question).claims_checked == 0
    assert verify("Book the one session you need.", coaching, question).claims_checked == 0


def test_a_value_the_question_states_is_not_held_against_the_answer():
    question = "I have worked here for 2 years. How much annual leave do I get?"
    assert statuses("With 2 years of service you accrue 4 hours per pay period.", question=question) == [SUPPORTED]


# --- conditions: presence is not enough ----------------------------------------------------------------
def test_a_number_from_the_3_15_years_row_is_misread_for_a_new_employees_question():
    verification = verify("You accrue 6 hours of annual leave per pay period [1].", SOURCES, NEW_EMPLOYEE)
    claim = verification.claims[0]
    assert claim.status == MISREAD
    assert claim.evidence == "Between 3 and 15 years: 6 hours per pay period"
    assert claim.expected == "Fewer than 3 years: 4 hours per pay period"
    assert verification.claims_removed == 1


def test_the_number_from_the_row_that_fits_is_supported():
    verification = verify("You accrue 4 hours of annual leave per pay period [1].", SOURCES, NEW_EMPLOYEE)
    assert verification.claims[0].status == SUPPORTED
    assert verification.claims[0].evidence == "Fewer than 3 years: 4 hours per pay period"


def test_the_same_check_reads_chinese_questions_and_answers():
    question = "我是新员工，每个发薪周期有多少小时年假？"
    assert statuses("新员工每个发薪周期累积6小时年假。[1]", question=question) == [MISREAD]
    assert statuses("新员工每个发薪周期累积4小时年假。[1]", question=question) == [SUPPORTED]
    assert statuses("每个发薪周期累积6小时年假。", question="我已经工作了5年，年假怎么算？") == [SUPPORTED]


def test_a_condition_stated_in_the_answer_is_checked_instead_of_the_questions():
    answer = "You accrue 4 hours per pay period [1], and after 3 years this rises to 6 hours. With 15+ years it is 8 hours."
    assert statuses(answer, question=NEW_EMPLOYEE) == [SUPPORTED, SUPPORTED]
    assert statuses("With fewer than 3 years of service you accrue 8 hours.") == [MISREAD]


def test_without_a_condition_in_the_question_presence_suffices():
    assert statuses("Annual leave accrues at 6 hours per pay period.", question="How does annual leave accrue?") == [SUPPORTED]


def table_source(header, *rows, before=""):
    """One source holding a Markdown table (``before`` it: text such as its caption)."""
    def line(cells):
        return f"| {' | '.join(cells)} |\n"

    return [{"n": 1, "text": before + line(header) + "|---" * len(header) + "|\n" + "".join(map(line, rows))}]


def test_a_table_row_condition_is_checked_like_a_list_item():
    sources = table_source(
        ["Years of service", "Hours per pay period"], ["Less than 3", "4"], ["3 to 15", "6"], ["More than 15", "8"],
        before="Annual leave accrual:\n\n",
    )
    question = "I have 20 years of service. How many hours of leave per pay period?"
    assert statuses("You earn 8 hours per pay period.", sources, question) == [SUPPORTED]
    assert statuses("You earn 6 hours per pay period.", sources, question) == [MISREAD]
    # the bare cell "4" takes its unit from the header: 4 hours, not 4 weeks
    assert statuses("You earn 4 weeks per pay period.", sources) == [UNSUPPORTED]


def test_rows_named_by_place_must_match_the_place_asked_about():
    sources = table_source(["Location", "Address"], ["Washington, D.C.", "1800 F St. NW"], ["Chicago, IL", "230 S. Dearborn St."])
    question = "What is the address of the Chicago office?"
    assert statuses("The office is at 230 S. Dearborn St.", sources, question) == [SUPPORTED]
    assert statuses("The office is at 1800 F St. NW.", sources, question) == [MISREAD]


# The remote-work policy of the starter knowledge base: the 30 days are for working abroad.
REMOTE_WORK = [
    {"n": 1, "title": "Remote and Hybrid Work Policy", "section": "Working models", "text":
     "| Model | Who | Office presence |\n|---|---|---|\n"
     "| Hybrid | Employees contracted to an office | At least 2 days per week in the office; up to 3 days per week from home |\n"},
    {"n": 2, "title": "Remote and Hybrid Work Policy", "section": "Home office allowance", "text":
     "- a one-time home office setup allowance of EUR 500. Claim it in Spendly with receipts, within 30 days of each purchase."},
    {"n": 3, "title": "Remote and Hybrid Work Policy", "section": "Working abroad", "text":
     "You may work from a country other than your country of employment for **up to 30 calendar days per calendar year**.\n\n"
     "- Business trips do not count towards the 30 days."},
]
WORK_FROM_HOME = "How many days can I work from home?"


def test_days_of_working_abroad_are_misread_for_a_question_about_working_from_home():
    """Found in a fresh start: "30 calendar days" was read from the rule for working abroad.
    The same value elsewhere, in a sentence about something else (30 days to claim a
    purchase), does not make it right."""
    verification = verify("You can work from home for up to 30 calendar days per calendar year [3].", REMOTE_WORK, WORK_FROM_HOME)
    claim = verification.claims[0]
    assert claim.status == MISREAD
    assert "country other than your country of employment" in claim.evidence
    assert statuses("Hybrid employees can work up to 3 days per week from home [1].", REMOTE_WORK, WORK_FROM_HOME) == [SUPPORTED]


def test_days_of_working_abroad_answer_a_question_about_working_abroad():
    question = "How long can I work from abroad?"
    assert statuses("You can work abroad for up to 30 calendar days per calendar year [3].", REMOTE_WORK, question) == [SUPPORTED]
    assert statuses("在国外最多可以工作30个日历日。[3]", REMOTE_WORK, "我可以在国外工作多久？") == [SUPPORTED]
    assert statuses("在家最多可以工作30个日历日。[3]", REMOTE_WORK, "我每年可以在家工作几天？") == [MISREAD]


# The bereavement rule of the starter knowledge base: the days depend on who died.
BEREAVEMENT = [
    {"n": 1, "title": "Northwind Labs Leave Policy", "section": "Bereavement leave", "text":
     "If someone close to you dies, you get paid bereavement leave:\n\n"
     "- **3 working days** for a spouse or partner, child, parent or sibling.\n"
     "- **1 working day** for a grandparent, grandchild, parent-in-law or sibling-in-law.\n"},
]


def test_days_for_close_family_are_misread_for_a_grandparent():
    """Found in the starter set: asked about a grandmother, the model answered the 3 days of
    the item for a spouse, child, parent or sibling."""
    question = "How many days off do I get when my grandmother dies?"
    verification = verify("You get 3 days [1].", BEREAVEMENT, question)
    assert [c.status for c in verification.claims] == [MISREAD]
    assert "grandparent" in verification.claims[0].expected
    assert statuses("You get 1 working day [1].", BEREAVEMENT, question) == [SUPPORTED]
    assert statuses("奶奶去世可以请3天假 [1]。", BEREAVEMENT, "奶奶去世了可以请几天假？") == [MISREAD]


def test_one_sentence_with_a_case_per_clause_is_read_clause_by_clause():
    """The starter knowledge base's FAQ states both cases in one sentence: "3 days" for a
    grandmother was supported by it, the sentence naming grandparents too."""
    faq = [{"n": 1, "title": "FAQ: How many days of bereavement leave do I get?", "text":
            "3 paid working days for a spouse or partner, child, parent or sibling, and 1 paid working day for a "
            "grandparent, grandchild, parent-in-law or sibling-in-law. Record it in PeopleHub."}]
    question = "How many days off do I get when my grandmother dies?"
    assert statuses("You get 3 paid working days [1].", faq, question) == [MISREAD]
    assert statuses("You get 1 paid working day [1].", faq, question) == [SUPPORTED]
    assert statuses("You get 3 paid working days [1].", faq, "My sister died. How many days do I get?") == [SUPPORTED]


def test_the_relative_an_answer_names_is_its_condition():
    question = "How much bereavement leave is there?"
    assert statuses("For a parent you get 3 working days [1].", BEREAVEMENT, question) == [SUPPORTED]
    assert statuses("For a grandparent you get 3 working days [1].", BEREAVEMENT, question) == [MISREAD]
    # a parent-in-law is no parent
    assert statuses("You get 3 working days [1].", BEREAVEMENT, "My mother-in-law died. How much leave do I get?") == [MISREAD]


def test_a_sister_agency_or_a_parent_page_is_no_relative_and_a_partners_father_is_an_in_law():
    from kbassist.chat.facts.conditions import relation_condition

    for text in ("How do I work with our sister agency?", "Is the parent company billed?", "Add a child page under the parent page."):
        assert not relation_condition(text).categories
    assert relation_condition("My partner's father died.").categories == {"relation": {"parent-in-law"}}
    assert relation_condition("My wife’s sister is getting married.").categories == {"relation": {"sibling-in-law"}}
    assert relation_condition("My partner is ill.").categories == {"relation": {"spouse"}}


def test_one_relative_named_by_a_source_is_no_condition():
    """"Birth parent" says who takes parental leave; a question about one's child is not
    thereby about another relative."""
    sources = [{"n": 1, "title": "Parental leave", "text": "- Birth parent: 12 weeks of paid leave.\n- Every other parent: 6 weeks of paid leave."}]
    assert statuses("You get 12 weeks of paid leave [1].", sources, "My child was born last week. How much leave do I get?") == [SUPPORTED]


def test_a_value_found_only_in_an_unrelated_sentence_is_still_supported_without_a_condition():
    assert statuses("Claim the allowance within 30 days of each purchase [2].", REMOTE_WORK, "How do I claim the home office allowance?") == [SUPPORTED]


def test_a_requirement_is_not_a_condition_that_contradicts_a_new_employee():
    question = "I just started. Can I take paid parental leave?"
    assert statuses("You need 12 months of federal service before you can use it [2].", question=question) == [SUPPORTED]


# --- what is shown ------------------------------------------------------------------------------------
def test_answer_markers_survive_removal_of_other_sentences():
    answer = "You get 12 weeks [2]. You also get 30 extra days [1]. Leave can be spaced out over one year [2]."
    shown = shown_answer(verify(answer, SOURCES))
    assert shown.text == "You get 12 weeks [2]. Leave can be spaced out over one year [2]."


def test_markers_after_the_full_stop_stay_with_their_sentence():
    answer = "You get 12 weeks.[2] You also get 30 extra days.[1]"
    assert shown_answer(verify(answer, SOURCES)).text == "You get 12 weeks.[2]"


def test_line_breaks_of_a_list_survive_removal():
    answer = "Annual leave accrues as follows:\n- Fewer than 3 years: 4 hours\n- 3 to 15 years: 7 hours\n- 15+ years: 8 hours"
    assert shown_answer(verify(answer, SOURCES)).text == (
        "Annual leave accrues as follows:\n- Fewer than 3 years: 4 hours\n- 15+ years: 8 hours"
    )


def test_when_nothing_supported_remains_the_evidence_is_the_answer():
    verification = verify("You get up to 26 weeks of parental leave [2]. Talk to your supervisor.", SOURCES)
    shown = verification.shown()
    assert shown.text == "Talk to your supervisor."
    assert shown.use_evidence
    evidence = best_evidence("How many weeks of paid time off do I get for a new child?", SOURCES)
    text = evidence_answer(evidence)
    assert text.startswith("Here is what the sources say:")
    assert "12 weeks" in text and "[2]" in text


def test_a_sentence_hard_wrapped_in_its_source_is_quoted_on_one_line_and_its_date_checks():
    wrapped = ("If you have\nunused funds in your FSA account and incur expenses from January 1 through March\n"
               "15, you have until April 30 to submit claims against the prior year.")
    evidence = best_evidence("What is the deadline to submit FSA claims?", [wrapped])
    text = evidence_answer(evidence)
    assert "through March 15, you have until April 30" in text and text.count("\n") == 1  # the intro, one quote
    assert verify(text, [wrapped]).claims_unsupported == 0  # "March 15" is a date, not a month and a number


def test_counts_are_kept_for_the_message():
    answer = "You get 12 weeks [2]. The cap is 300 hours [1]. You accrue 6 hours per pay period."
    verification = verify(answer, SOURCES, NEW_EMPLOYEE)
    assert (verification.claims_checked, verification.claims_supported, verification.claims_removed) == (3, 1, 2)
    stored = verification.as_dict()
    assert stored["claims_removed"] == 2 and stored["claims_misread"] == 1
    assert [r["status"] for r in stored["removed"]] == [UNSUPPORTED, MISREAD]


def test_sources_can_be_plain_strings_or_tuples():
    assert [s.status for s in verify("It lasts 12 weeks.", [PARENTAL_LEAVE]).sentences] == [SUPPORTED]
    assert [s.status for s in verify("It lasts 12 weeks.", [(3, PARENTAL_LEAVE)]).sentences] == [SUPPORTED]
    assert verify("It lasts 12 weeks.", [(3, PARENTAL_LEAVE)]).claims[0].source_n == 3


def test_a_name_not_in_the_sources_is_removed_even_next_to_one_that_is():
    verification = verify("Record it in HR Links and Google Calendar.", SOURCES)
    assert verification.sentences[0].status == UNSUPPORTED
    assert statuses("Record it in HR Links or Paid Parental Leave.") == [SUPPORTED]


def test_markers_before_the_first_sentence_stay_with_it():
    assert shown_answer(verify("[2] You get 12 weeks. You get 30 extra days.", SOURCES)).text == "[2] You get 12 weeks."


@pytest.mark.parametrize("answer, evidence, flagged", [
    ("Yes, it is fine to ask a candidate their pronouns.", ["For legal reasons, asking a candidate's pronouns is not allowed."], True),
    ("Yes, you can archive the channel yourself.", ["Only workspace admins can archive a Slack Connect channel."], True),
    ("是的，你需要先做一份 IDP。", ["An IDP is no longer required for training requests."], True),
    ("Yes, the bounty can be awarded before the fix ships.", ["Once confirmed, GSA SecOps can award the bounty."], False),
    ("No, GSA does not provide desk chairs.", ["GSA does not provide desk chairs to remote workers."], False),  # a "no" agrees
    ("可以按照以下步骤操作：新建一个会议。", ["If you don't have permission to record, create a new meeting."], False),  # "you can follow", not "yes"
])
def test_a_yes_that_its_evidence_says_no_to_is_flagged(answer, evidence, flagged):
    assert yes_against_evidence(answer, evidence) is flagged
