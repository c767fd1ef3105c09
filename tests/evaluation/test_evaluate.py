"""``manage.py evaluate``: what counts as the right source, a stated fact and a right refusal,
and one run of the command over a tiny collection with a scripted model."""

import io
import json

import pytest
from django.core.management import CommandError, call_command

from kbassist.evaluation import metrics, report
from kbassist.evaluation.run import parse_assignments, parse_value
from kbassist.llm import set_backend

from ..fakes import ScriptedBackend

# =============================================================================================
# Facts: any one form of each fact, in the answer (or the quoted evidence)
# =============================================================================================


def found(form, text):
    return metrics.fact_found([form], [text])


def test_a_hyphenated_duration_matches_the_plural_and_back():
    assert found("12-week", "Eligible staff get 12 weeks of paid parental leave.")
    assert found("12 weeks", "You get a 12-week paid leave.")
    assert found("45-day", "within 45 days")


def test_thousands_separators_do_not_matter_and_the_currency_sign_may_be_left_out():
    assert found("1500", "The limit is $1,500 per course.")
    assert found("$1,500", "up to $1500")
    assert found("2,000", "**$2,000** for desk setup")
    assert found("1850", "a budget of $1,850.00")


def test_case_width_and_white_space_are_normalised():
    assert found("HR Links", "Submit it in hr\n   links.")
    assert found("12周", "可以休 12 周的带薪育儿假")
    assert found("$150", "US＄150 per month")  # a full-width dollar sign (NFKC)


def test_a_number_inside_a_larger_number_or_a_word_inside_a_word_does_not_count():
    assert not found("4 hours", "you accrue 14 hours")
    assert not found("1500", "a limit of $15,000")
    assert not found("1", "1.5 days")
    assert not found("3:30", "at 13:30")
    assert not found("six", "sixty days")
    assert found("six", "six free sessions")
    assert found("Tock", "Log your hours in Tock.")


def test_every_fact_must_be_stated_in_one_of_its_forms():
    facts = [["4 years", "four years"], ["1 year", "one year"]]
    assert metrics.missing_facts(facts, ["After four years and then one year ..."]) == []
    assert metrics.missing_facts(facts, ["After 4 years."]) == [["1 year", "one year"]]


# =============================================================================================
# Sources: the expected path is the tail of the document's path, a whole segment at a time
# =============================================================================================


def test_the_expected_source_is_a_suffix_of_the_imported_path():
    path = "/work/shared/datasets/handbook-18f/pages/travel-and-leave/leave.md"
    assert metrics.source_matches(path, "travel-and-leave/leave.md")
    assert metrics.source_matches(path, "leave.md")
    assert not metrics.source_matches("/pages/travel-and-leave/paid-parental-leave.md", "travel-and-leave/leave.md")
    assert not metrics.source_matches("/pages/benefits/leave.md", "travel-and-leave/leave.md")
    assert not metrics.source_matches("leave.md", "travel-and-leave/leave.md")
    assert metrics.right_source(["/a/x.md", "/b/travel-and-leave/leave.md"], ["nope.md", "travel-and-leave/leave.md"])


# =============================================================================================
# One question scored
# =============================================================================================

ANSWERABLE = {"id": "q1", "question": "How long is parental leave?", "answerable": True, "language": "en",
              "category": "fact", "sources": ["travel-and-leave/paid-parental-leave.md"], "facts": [["12 weeks"]]}
UNANSWERABLE = {"id": "q2", "question": "What is the mileage rate?", "answerable": False, "language": "en",
                "category": "unanswerable", "sources": [], "facts": []}
CHINESE = {**ANSWERABLE, "id": "q3", "question": "带薪育儿假有多长？", "language": "zh", "category": "crosslingual",
           "facts": [["12周", "12 weeks"]]}
PAGE = "/corpus/pages/travel-and-leave/paid-parental-leave.md"


def outcome(kind="generated", answer="", shown=(), cited=(), evidence=None, error=None):
    return {"kind": kind, "status": "complete", "answer": answer, "shown": list(shown), "cited": list(cited),
            "evidence": evidence, "error": error}


def test_source_shown_and_source_cited_are_counted_separately():
    checks = metrics.score(ANSWERABLE, outcome(answer="12 weeks [2].", shown=["/x/other.md", PAGE], cited=["/x/other.md"]))
    assert checks["source_shown"] is True and checks["source_cited"] is False


def test_a_fact_in_the_quoted_evidence_counts_but_not_as_stated_in_the_generated_text():
    checks = metrics.score(ANSWERABLE, outcome(answer="You get paid leave [1].", shown=[PAGE], cited=[PAGE],
                                               evidence=["Eligible employees get 12 weeks of paid leave."]))
    assert checks["facts"] is True and checks["facts_in_text"] is False


def test_an_answer_without_evidence_is_judged_on_its_text():
    checks = metrics.score(ANSWERABLE, outcome(answer="Up to one year [1].", shown=[PAGE], cited=[PAGE]))
    assert checks["facts"] is False and checks["facts_in_text"] is False


def test_refusals_are_right_for_unanswerable_questions_and_wrong_for_answerable_ones():
    right = metrics.score(UNANSWERABLE, outcome(kind="refused", answer="The knowledge base does not cover this."))
    assert right["refused_unanswerable"] is True and right["refusal_precision"] is True
    assert right["facts"] is None and right["source_shown"] is None and right["wrongly_refused"] is None

    answered = metrics.score(UNANSWERABLE, outcome(answer="58 cents a mile."))
    assert answered["refused_unanswerable"] is False and answered["refusal_precision"] is None

    wrong = metrics.score(ANSWERABLE, outcome(kind="refused", answer="The knowledge base does not cover this."))
    assert wrong["wrongly_refused"] is True and wrong["refusal_precision"] is False
    assert wrong["refused_unanswerable"] is None and wrong["facts"] is False


def test_a_refusal_quoting_the_fact_is_not_counted_as_stating_it_but_apart():
    """A refusal quotes the sentences that come closest: where they hold the fact, it is counted
    as such, never as a fact the answer stated."""
    quoted = "I could not confirm that any of them answers this question.\n> Eligible employees get 12 weeks of paid leave. [1]"
    checks = metrics.score(ANSWERABLE, outcome(kind="refused", answer=quoted, shown=[PAGE], evidence=["Eligible employees get 12 weeks of paid leave."]))
    assert checks["facts"] is False and checks["facts_in_text"] is False and checks["facts_in_refusal"] is True
    assert metrics.score(ANSWERABLE, outcome(kind="refused", answer="Not covered."))["facts_in_refusal"] is False
    assert metrics.score(ANSWERABLE, outcome(answer="12 weeks [1]."))["facts_in_refusal"] is None


def test_an_answer_showing_a_number_no_source_states_is_counted_and_a_refusal_is_not_checked():
    assert metrics.score(ANSWERABLE, {**outcome(answer="Up to 52 weeks [1]."), "unsourced": ["52 weeks"]})["unsourced_numbers"] is True
    assert metrics.score(ANSWERABLE, {**outcome(answer="12 weeks [1]."), "unsourced": []})["unsourced_numbers"] is False
    refused = {**outcome(kind="refused", answer="The knowledge base does not cover this."), "unsourced": []}
    assert metrics.score(UNANSWERABLE, refused)["unsourced_numbers"] is None


def test_the_numbers_of_an_answer_are_looked_up_in_its_sources_and_its_question():
    from kbassist.evaluation.run import unsourced_numbers

    citations = [{"n": 1, "title": "Leave", "section": "Vacation", "location": "Leave › Vacation",
                  "text": "Full-time staff get 28 vacation days per year. Part-time staff get 14."}]
    assert unsourced_numbers("How many vacation days do I get?", "You get 28 vacation days per year [1].", citations) == []
    assert unsourced_numbers("How many vacation days do I get?", "You get 30 vacation days [1].", citations) == ["30 vacation days"]
    assert unsourced_numbers("年假有多少天？", "你每年有二十八天年假 [1]。", citations) == []  # 28, in characters
    assert unsourced_numbers("年假有多少天？", "你每年有三十天年假 [1]。", citations) == ["三十天"]
    assert unsourced_numbers("Can I carry over 5 days?", "Yes, 5 days carry over.", citations) == []  # the question says 5


def test_an_error_is_counted_as_an_error_not_as_a_refusal():
    checks = metrics.score(UNANSWERABLE, outcome(kind=None, error="RuntimeError: boom"))
    assert checks["errors"] is True and checks["refused_unanswerable"] is False


def test_chinese_questions_over_english_pages_are_also_counted_as_cross_lingual():
    checks = metrics.score(CHINESE, outcome(answer="12 周 [1]", shown=[PAGE], cited=[PAGE]))
    assert checks["crosslingual_source_shown"] is True and checks["crosslingual_facts"] is True
    assert metrics.score(ANSWERABLE, outcome(shown=[PAGE]))["crosslingual_source_shown"] is None


def test_failures_say_what_went_wrong_in_a_few_words():
    o = outcome(answer="Up to one year [1].", shown=["/x/other.md"], cited=["/x/other.md"])
    said = metrics.failures(ANSWERABLE, o, metrics.score(ANSWERABLE, o))
    assert said[0].startswith("right source not shown (expected travel-and-leave/paid-parental-leave.md")
    assert said[1] == "facts missing: 12 weeks"


# =============================================================================================
# Many questions
# =============================================================================================


def test_median_and_p95_are_interpolated():
    values = list(range(1, 21))  # 1..20 seconds
    assert metrics.percentile(values, 50) == 10.5
    assert metrics.percentile(values, 95) == pytest.approx(19.05)
    assert metrics.percentile([], 95) is None


def test_a_limit_spreads_the_questions_over_the_whole_set():
    questions = [{"id": i, "category": "fact" if i < 8 else "unanswerable"} for i in range(10)]
    assert [q["id"] for q in metrics.select(questions, limit=5)] == [0, 2, 4, 6, 8]
    assert [q["id"] for q in metrics.select(questions, categories=["unanswerable"])] == [8, 9]


def test_a_setting_value_is_read_as_its_type():
    assert [parse_value(v) for v in ("8", "0.35", "true", "off", "qwen-1.5b", "none")] == [8, 0.35, True, False, "qwen-1.5b", None]
    with pytest.raises(Exception, match="no setting KB_NO_SUCH"):
        parse_assignments(["KB_NO_SUCH=1"])


# =============================================================================================
# The command, end to end, over a tiny collection with a scripted model
# =============================================================================================

LEAVE = (
    "# Leave\n\n## Vacation\n\nFull-time staff get 28 vacation days per year.\n\n"
    "## Part-time staff\n\nPart-time staff get vacation pro rata to their contracted hours.\n\n"
    "## Sick leave\n\nTell your manager before 10:00.\n"
)
VACATION = "How many vacation days do full-time staff get per year?"
QUESTIONS = [
    # right page, fact stated
    {"id": "t-1", "question": VACATION, "language": "en", "answerable": True, "category": "fact",
     "sources": ["leave.md"], "facts": [["28 vacation days", "twenty-eight days"]]},
    # the same answer judged against another page and a fact it does not state: both fail
    {"id": "t-2", "question": VACATION, "language": "en", "answerable": True, "category": "fact",
     "sources": ["policies/leave.md"], "facts": [["30 days"]]},
    # nothing in the collection is about this: it must be refused
    {"id": "t-3", "question": "What is the airspeed velocity of an unladen swallow?", "language": "en",
     "answerable": False, "category": "unanswerable", "sources": [], "facts": []},
]


@pytest.fixture
def tiny_set(tmp_path, public_collection, make_document, admin_user):
    make_document(public_collection, "leave.md", LEAVE)
    path = tmp_path / "tiny.jsonl"
    path.write_text("".join(json.dumps(q) + "\n" for q in QUESTIONS), encoding="utf-8")
    backend = ScriptedBackend(reply="Full-time staff get 28 vacation days per year [1].")
    set_backend(backend)
    yield path
    set_backend(None)


@pytest.mark.django_db
def test_the_command_asks_every_question_and_reports_the_numbers(tiny_set, tmp_path, settings):
    settings.KB_ANSWER_CACHE = True  # the evaluation turns it off: t-2 must not be a cached t-1
    out = io.StringIO()
    call_command("evaluate", str(tiny_set), "--out", str(tmp_path / "r.json"), "--markdown", str(tmp_path / "r.md"),
                 "--compare", "KB_TOP_K=2", "--quiet", stdout=out)
    data = json.loads((tmp_path / "r.json").read_text())
    a, b = data["configurations"]
    assert (a["overrides"], b["overrides"]) == ({}, {"KB_TOP_K": 2})
    assert b["settings"]["KB_TOP_K"] == 2 and a["settings"]["KB_TOP_K"] == settings.KB_TOP_K
    for config in (a, b):
        s = config["summary"]
        assert (s["questions"], s["answerable"], s["unanswerable"]) == (3, 2, 1)
        assert (s["source_shown"]["hits"], s["source_shown"]["of"]) == (1, 2)
        assert (s["source_cited"]["hits"], s["source_cited"]["of"]) == (1, 2)
        assert (s["facts"]["hits"], s["facts"]["of"]) == (1, 2) and s["facts"]["rate"] == 0.5
        assert (s["facts_in_text"]["hits"], s["facts_in_text"]["of"]) == (1, 2)
        assert (s["refused_unanswerable"]["hits"], s["refused_unanswerable"]["of"]) == (1, 1)
        assert (s["wrongly_refused"]["hits"], s["wrongly_refused"]["of"]) == (0, 2)
        assert (s["errors"]["hits"], s["errors"]["of"]) == (0, 3)
        assert s["crosslingual_source_shown"]["of"] == 0
        assert s["seconds"]["n"] == 3 and s["seconds"]["median"] > 0 and s["seconds"]["p95"] >= s["seconds"]["median"]
        assert s["seconds_to_first_token"]["n"] == 3

    first, second, third = a["questions"]
    assert first["kind"] == second["kind"] == "generated" and third["kind"] == "refused"
    assert first["sources"][0]["path"] == "leave.md" and first["sources"][0]["cited"]
    assert first["failures"] == [] and third["failures"] == []
    assert second["failures"] == [
        "right source not shown (expected policies/leave.md; shown: leave.md)", "facts missing: 30 days"]

    text = out.getvalue()
    assert "right source among all sources shown" in text and "50.0% (1/2)" in text
    assert "A: as configured" in text and "B: KB_TOP_K=2" in text and "change" in text
    assert "t-2  " + VACATION in text and "facts missing: 30 days" in text
    markdown = (tmp_path / "r.md").read_text()
    assert markdown.startswith("# Evaluation report") and "| unanswerable refused | 100.0% (1/1) |" in markdown


@pytest.mark.django_db
def test_limit_and_category_choose_the_questions(tiny_set, tmp_path):
    call_command("evaluate", str(tiny_set), "--only-category", "unanswerable", "--out", str(tmp_path / "r.json"),
                 "--quiet", stdout=io.StringIO())
    data = json.loads((tmp_path / "r.json").read_text())
    assert [q["id"] for q in data["configurations"][0]["questions"]] == ["t-3"]


@pytest.mark.django_db
def test_an_unknown_setting_is_refused_before_anything_is_asked(tiny_set):
    with pytest.raises(CommandError, match="no setting KB_TOP_KAY"):
        call_command("evaluate", str(tiny_set), "--set", "KB_TOP_KAY=3", stdout=io.StringIO())


def test_the_text_report_puts_configurations_side_by_side():
    records = [{"id": "x", "set": "s", "category": "fact", "question": "q?", "answerable": True, "seconds": 1.0,
                "seconds_to_first_token": 0.5, "failures": [],
                "checks": {**{k: None for k, _ in metrics.METRICS}, "source_shown": ok, "errors": False}}
               for ok in (True, False)]
    a = report.configuration("A", {}, {}, records[:1])
    b = report.configuration("B", {"KB_TOP_K": 8}, {}, records[1:])
    text = report.as_text({"configurations": [a, b]})
    assert "100.0% (1/1)" in text and "0.0% (0/1)" in text and "-100.0 pts ✗" in text


@pytest.mark.django_db
def test_an_faq_source_is_expected_by_its_title():
    from kbassist.evaluation.run import _sources

    sources = _sources([{"n": 1, "kind": "faq", "title": "FAQ: What are the core hours?", "faq_id": 3, "cited": True}])
    assert sources[0]["path"] == "FAQ: What are the core hours?"
    assert metrics.right_source([s["path"] for s in sources], ["hr/remote-work.md", "FAQ: What are the core hours?"])
    assert not metrics.right_source([s["path"] for s in sources], ["hr/remote-work.md"])
