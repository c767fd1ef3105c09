"""The access-control suite: for a user outside a group, the group's collection never shows
up anywhere: retrieval, citations, the answer cache, curated-FAQ answers, FAQ suggestions on
refusal, file and passage links, conversation pages, the command line, or the audit trail
offered to non-staff. Each check has a control (an HR member does get the HR content), so
that a check cannot pass because the content was simply missing."""

import json

import pytest
from django.core.management import call_command
from django.urls import reverse

from kbassist.audit.models import AuditEvent
from kbassist.chat.answering import answer
from kbassist.chat.models import CachedAnswer, Conversation
from kbassist.knowledge.models import Chunk
from kbassist.llm.line import GenerationLine
from kbassist.retrieval.search import search

from tests.fakes import ScriptedBackend
from tests.security.conftest import QUESTIONS

pytestmark = pytest.mark.django_db


def ask(question, user, **kwargs):
    backend = kwargs.pop("backend", None) or ScriptedBackend(reply="Here is what the sources say [1].")
    return list(answer(question, user=user, backend=backend, line=GenerationLine(), **kwargs))


def test_retrieval_never_returns_the_collection(secured_kb, employee, hr_user):
    for question in QUESTIONS + ["Band E3 pays between 91,000 and 118,000 EUR per year."]:
        assert not secured_kb.leaks([h.as_dict() for h in search(question, employee).hits]), question
    hr_hits = [h.as_dict() for h in search("How much does band E3 pay per year?", hr_user).hits]
    assert secured_kb.leaks(hr_hits), "control: HR members retrieve the salary bands"


def test_answers_sources_citations_and_evidence_hold_nothing_of_it(secured_kb, employee, hr_user):
    for question in QUESTIONS:
        events = ask(question, employee)
        assert events[-1]["type"] == "done"
        assert not secured_kb.leaks(events), (question, secured_kb.leaks(events))
    hr_events = ask("How much does band E3 pay per year?", hr_user)
    assert secured_kb.leaks(hr_events), "control: HR members are answered from the salary bands"


def test_the_answer_cache_never_serves_an_hr_answer_to_others(secured_kb, employee, hr_user):
    question = "Is there a vacation bonus in June?"
    first = ask(question, hr_user, backend=ScriptedBackend(reply="Yes: 1,250 EUR in June [1]."))[-1]
    assert first["kind"] == "generated" and CachedAnswer.objects.filter(answer__contains="1,250").exists()
    assert ask(question, hr_user)[-1]["kind"] == "cached"  # control: the cache works for HR
    events = ask(question, employee)
    assert events[-1]["kind"] != "cached" and not secured_kb.leaks(events)
    # Removed from HR, the same person no longer reaches the answer cached for HR (they may
    # get the one cached for the employee: they now see the same collections).
    hr_user.groups.clear()
    assert not secured_kb.leaks(ask(question, hr_user))


def test_curated_faq_answers_stay_in_their_collection(secured_kb, employee, hr_user):
    done = ask("What is the salary band for E3?", hr_user)[-1]
    assert done["kind"] == "curated" and "91,000" in done["answer"]  # control
    events = ask("What is the salary band for E3?", employee)
    assert events[-1]["kind"] != "curated" and not secured_kb.leaks(events)


def test_faq_suggestions_on_refusal_come_only_from_visible_collections(secured_kb, employee, hr_user):
    hr_done = ask("What is the capital of Mars?", hr_user)[-1]
    assert hr_done["kind"] == "refused" and secured_kb.leaks(hr_done["suggestions"])  # control
    events = ask("What is the capital of Mars?", employee)
    done = events[-1]
    assert done["kind"] == "refused" and done["suggestions"], "the public FAQ is still suggested"
    assert not secured_kb.leaks(events)


def test_file_and_passage_links_refuse_the_collection(client, secured_kb, employee, hr_user):
    urls = [reverse("knowledge:document_file", args=[secured_kb.document.pk])]
    urls += [reverse("knowledge:chunk_detail", args=[pk]) for pk in secured_kb.chunk_ids]
    client.force_login(employee)
    for url in urls:
        response = client.get(url)
        assert response.status_code == 404, url
        assert not secured_kb.leaks(response.content.decode()), url
    assert AuditEvent.objects.filter(kind="access_denied", username="erin").count() == len(urls)
    denied = AuditEvent.objects.filter(kind="access_denied", username="erin").first()
    assert denied.subjects.get().role == "denied"  # on record for auditors, not "seen"
    client.force_login(hr_user)
    assert all(client.get(url).status_code == 200 for url in urls)  # control


def test_conversation_pages_show_nothing_of_it(client, secured_kb, employee, hr_user):
    hr_conversation_id = ask("How much does band E3 pay per year?", hr_user)[0]["id"]
    mine = ask("How much does band E3 pay per year?", employee)[0]["id"]
    ask("Is there a vacation bonus in June?", employee, conversation=Conversation.objects.get(pk=mine))
    client.force_login(employee)
    for url in (reverse("chat:index"), reverse("chat:conversation", args=[mine])):
        page = client.get(url)
        assert page.status_code == 200 and not secured_kb.leaks(page.content.decode()), url
    assert client.get(reverse("chat:conversation", args=[hr_conversation_id])).status_code == 404
    client.force_login(hr_user)
    assert secured_kb.leaks(client.get(reverse("chat:conversation", args=[hr_conversation_id])).content.decode())  # control


def test_after_leaving_the_group_old_conversations_no_longer_show_its_sources(client, secured_kb, hr_user):
    """A member removed from HR (e.g. by the directory sync at the next login) keeps their
    conversations, but the HR passages, links and answers drawn from them are withheld."""
    conversation_id = ask("How much does band E3 pay per year?", hr_user)[0]["id"]
    ask("What is the salary band for E3?", hr_user, conversation=Conversation.objects.get(pk=conversation_id))
    client.force_login(hr_user)
    url = reverse("chat:conversation", args=[conversation_id])
    assert secured_kb.leaks(client.get(url).content.decode())  # control: still in HR
    hr_user.groups.clear()
    page = client.get(url).content.decode()
    assert not secured_kb.leaks(page), secured_kb.leaks(page)
    assert "How much does band E3 pay per year?" in page  # the user's own questions stay
    # Nor does a follow-up in that conversation hand the withheld answers to the model.
    backend = ScriptedBackend(reply="I do not know.")
    events = ask("And for E4?", hr_user, conversation=Conversation.objects.get(pk=conversation_id), backend=backend)
    assert not secured_kb.leaks(events) and not secured_kb.leaks(json.dumps(backend.calls, default=repr))


def test_after_leaving_the_group_a_refusal_that_quoted_its_sentences_is_withheld(client, secured_kb, hr_user, settings):
    """A refusal on the topic quotes the sentences that come closest, citing none of them: the
    quotes are the collection's text all the same."""
    settings.KB_MIN_ANSWERABILITY = 1.01  # on the topic, never taken as answered
    events = ask("How much does band E3 pay per year?", hr_user)
    done = events[-1]
    assert done["kind"] == "refused" and secured_kb.leaks(done["answer"])  # control: HR sentences quoted
    client.force_login(hr_user)
    url = reverse("chat:conversation", args=[events[0]["id"]])
    hr_user.groups.clear()
    page = client.get(url).content.decode()
    assert not secured_kb.leaks(page), secured_kb.leaks(page)


def test_the_command_line_answers_with_the_users_collections_only(secured_kb, employee, backend, capsys):
    backend(ScriptedBackend(reply="Here is what the sources say [1]."))
    for question in QUESTIONS:
        call_command("ask", question, "--user", "erin", "--json")
        out = capsys.readouterr().out
        assert not secured_kb.leaks(json.loads(out)), question


def test_non_staff_are_offered_no_audit_trail(client, secured_kb, employee, hr_user, make_staff):
    ask("How much does band E3 pay per year?", hr_user)
    event = AuditEvent.objects.filter(kind="question").latest("created_at")
    urls = [
        reverse("admin:audit_auditevent_changelist"),
        reverse("admin:audit_auditevent_export"),
        reverse("admin:audit_auditevent_change", args=[event.pk]),
        reverse("admin:audit_auditevent_changelist") + f"?document={secured_kb.document.pk}",
    ]
    client.force_login(employee)
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("admin:login")), url
        assert not secured_kb.leaks(response.content.decode())
    client.force_login(make_staff("sid"))  # staff, but no permission to view the audit trail
    for url in urls:
        response = client.get(url)
        assert response.status_code == 403, url
        assert not secured_kb.leaks(response.content.decode())
    client.force_login(make_staff("ada", "view_auditevent"))  # control: an auditor sees it
    exported = b"".join(client.get(urls[1]).streaming_content).decode()
    assert secured_kb.leaks(exported)


def test_hr_chunks_exist_in_the_database(secured_kb):
    """The HR collection really is indexed (so the checks above are not vacuous)."""
    assert Chunk.objects.filter(collection=secured_kb.collection, document=secured_kb.document).exists()
