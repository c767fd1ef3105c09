"""Hit testing (/curation/try): what would happen to a question and why, as a chosen user or
group, without the model unless asked."""

import re

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from kbassist.chat.answering import explain
from kbassist.chat.models import Message
from kbassist.knowledge.models import FAQ
from tests.fakes import ScriptedBackend

pytestmark = pytest.mark.django_db

SALARY = "# Salary bands\n\n## Bands\n\nEngineers in band 3 earn between 70,000 and 85,000 euros a year.\n"


@pytest.fixture
def model(backend):
    """A model that must not be called: every call is recorded."""
    return backend(ScriptedBackend("Engineers in band 3 earn 70,000 to 85,000 euros [1]."))


@pytest.fixture
def knowledge(handbook, hr_collection, make_document):
    make_document(hr_collection, "salary.md", SALARY)
    return hr_collection


def text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def test_as_a_user_outside_the_group_the_private_collection_is_not_searched_and_the_page_says_so(client, admin_user, employee, knowledge, model):
    client.force_login(admin_user)
    response = client.get(reverse("curation:try"), {"q": "How much do engineers in band 3 earn?", "as": "user", "user": employee.username})
    page = text(response)
    assert response.status_code == 200
    assert "Asked as <strong>erin</strong>" in page
    assert 'Searched: <strong class="searched-collection">Handbook</strong>' in page
    assert re.search(r'id="not-searched">Not searched, because this user may not see them: <strong class="hidden-collection">HR confidential</strong> \(private\)', page)
    assert "Salary bands" not in page  # nothing of it was a candidate
    assert 'id="path">refused' in page
    assert model.calls == []  # no model: no translation asked for, no answer generated
    assert not Message.objects.exists()  # nothing saved


def test_as_a_member_of_the_group_it_is_searched_and_answered(client, admin_user, knowledge, model):
    client.force_login(admin_user)
    hr = Group.objects.get(name="HR")
    page = text(client.get(reverse("curation:try"), {"q": "How much do engineers in band 3 earn?", "as": "group", "group": hr.pk}))
    assert "a member of HR only" in page
    assert '<strong class="searched-collection">HR confidential</strong>' in page and "not-searched" not in page
    assert 'id="path">generated' in page
    # the candidates table: the salary passage came first in both retrievers and the fusion
    row = re.search(r'<tr class="candidate used"><td>1</td> <td><strong>Salary bands</strong>.*?</tr>', page).group(0)
    cells = re.findall(r"<td>([^<]*)</td>", row)
    assert cells[-7:-5] == ["HR confidential", "1"] and cells[-4] == "1" and cells[-2] == "1"
    assert model.calls == []


def test_explain_follows_the_answer_paths(employee, handbook, public_collection, model, django_capture_on_commit_callbacks):
    ex = explain("How many vacation days do full-time staff get?", user=employee)
    assert ex.path == "generated" and ex.relevance.relevant and ex.answerability.score >= 0.4
    assert ex.searches[0].bm25 and ex.searches[0].dense and [c.name for c in ex.searches[0].searched] == ["Handbook"]
    assert ex.generated == "" and model.calls == []
    with django_capture_on_commit_callbacks(execute=True):  # indexed, as the worker would
        FAQ.objects.create(collection=public_collection, question="How many vacation days do full-time staff get?", answer="28 days.")
    ex = explain("How many vacation days do full-time staff get?", user=employee)
    assert ex.path == "curated" and ex.curated.similarity >= 0.9
    assert explain("What is the capital of Mars?", user=employee).path == "refused"
    # a Chinese question: the chat would translate it first; without the model, the page says so
    ex = explain("全职员工有多少天年假？", user=employee)
    assert ex.model_needed == "translate" and ex.how == "as asked" and model.calls == []


def test_explain_says_when_a_hesitant_yes_must_be_confirmed_by_a_copied_value(employee, handbook, model, settings):
    settings.KB_CHECK_MODEL, settings.KB_CHECK_BELOW = "qwen-1.5b", 1.01  # every answer is checked
    ex = explain("How many vacation days do full-time staff get?", user=employee)
    assert "the answer check's model is asked first" in ex.reason and "copy of the answer holds one" in ex.reason
    settings.KB_CHECK_CONFIRM_BELOW = 0.0
    assert "copy of the answer" not in explain("How many vacation days do full-time staff get?", user=employee).reason
    assert model.calls == []


def test_generating_is_only_done_when_asked(employee, handbook, model):
    ex = explain("How many vacation days do full-time staff get?", user=employee, generate=True)
    assert len(model.calls) == 1 and ex.generated


def test_a_generated_answer_that_makes_its_figure_up_is_shown_as_the_refusal_the_chat_would_give(employee, handbook, backend, settings):
    settings.KB_CHECK_BELOW = 0.0  # the evidence is taken as answering: no check before generating
    backend(ScriptedBackend("Full-time staff get 99 vacation days."))
    ex = explain("How many vacation days do full-time staff get?", user=employee, generate=True)
    assert ex.path == Message.Kind.REFUSED and "could not confirm" in ex.generated and "99" not in ex.generated
    assert ex.model_answer == "Full-time staff get 99 vacation days."  # what the curator is shown it replaced


def test_only_curators_may_test(client, employee, knowledge):
    client.force_login(employee)
    assert client.get(reverse("curation:try"), {"q": "x"}).status_code == 403


def test_with_the_model_a_chinese_question_is_translated_and_both_searches_shown(client, admin_user, handbook, backend):
    translator = backend(ScriptedBackend("How many vacation days do full-time staff get?"))
    client.force_login(admin_user)
    page = text(client.get(reverse("curation:try"), {"q": "全职员工有多少天年假？", "model": "1"}))
    assert 'id="query">How many vacation days do full-time staff get?</span>” (translated)' in page
    assert "Searched for the search query" in page and "Searched for the question as asked" in page
    assert "in the cross-lingual index" in page and "Leave › Vacation" in page.split("in the cross-lingual index", 1)[1]
    assert len(translator.calls) == 1  # the translation only; no answer generated


def test_a_model_that_declines_over_trusted_evidence_is_shown_as_the_quoted_evidence_the_chat_would_give(employee, handbook, backend, settings):
    settings.KB_CHECK_BELOW = 0.0  # the evidence is taken as answering before the model writes
    backend(ScriptedBackend("The provided sources do not say how many vacation days full-time staff get."))
    ex = explain("How many vacation days do full-time staff get?", user=employee, generate=True)
    assert ex.path == Message.Kind.GENERATED and "28" in ex.generated  # the quoted evidence answers
    assert ex.model_answer.startswith("The provided sources do not say")


def test_a_model_that_cannot_run_is_named_on_the_try_page(employee, handbook, backend, settings):
    settings.KB_CHECK_BELOW = 0.0
    backend(ScriptedBackend(fail_after=0))
    ex = explain("How many vacation days do full-time staff get?", user=employee, generate=True)
    assert ex.path == Message.Kind.GENERATED and ex.generated == "(the model crashed)"
