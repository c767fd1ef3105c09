"""What the audit trail records, through the real paths: the login form, answer() through the
websocket and the command line, the source views, and every admin change."""

import json

import pytest
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from kbassist import audit
from kbassist.audit.models import AppendOnly, AuditEvent, AuditSubject
from kbassist.chat.answering import answer
from kbassist.chat.consumers import ChatConsumer
from kbassist.chat.models import Conversation, Message
from kbassist.knowledge.models import FAQ, Document
from kbassist.llm.line import GenerationLine

from tests.fakes import ScriptedBackend

pytestmark = pytest.mark.django_db


def events(kind):
    return list(AuditEvent.objects.filter(kind=kind).order_by("id"))


def roles(event) -> dict:
    """{role: [(collection, document, chunk)]} of an event's subjects."""
    out = {}
    for s in event.subjects.all():
        out.setdefault(s.role, []).append((s.collection_name, s.document_name, s.chunk_id))
    return out


def test_logins_logouts_and_failed_logins(client, employee):
    client.post(reverse("login"), {"username": "erin", "password": "wrong"}, REMOTE_ADDR="10.0.0.7")
    client.post(reverse("login"), {"username": "nobody", "password": "x"}, REMOTE_ADDR="10.0.0.7")
    client.post(reverse("login"), {"username": "erin", "password": "pw-erin"}, REMOTE_ADDR="10.0.0.8")
    client.post(reverse("logout"), REMOTE_ADDR="10.0.0.8")
    failed = events("login_failed")
    assert [(e.username, e.user_id, e.address) for e in failed] == [("erin", None, "10.0.0.7"), ("nobody", None, "10.0.0.7")]
    assert "wrong" not in json.dumps([e.details for e in failed])  # never the password
    [login], [logout] = events("login"), events("logout")
    assert (login.user_id, login.username, login.address) == (employee.pk, "erin", "10.0.0.8")
    assert login.details["backend"] == "django.contrib.auth.backends.ModelBackend"
    assert (logout.user_id, logout.address) == (employee.pk, "10.0.0.8")


def run(question, user, backend=None, **kwargs):
    return list(answer(question, user=user, backend=backend or ScriptedBackend(), line=GenerationLine(), **kwargs))


def test_each_question_records_the_chunks_retrieved_shown_and_cited(handbook, hr_collection, make_document, employee, hr_user):
    make_document(hr_collection, "salary-bands.md", "# Salary bands\n\nBand E3 pays 91,000 EUR.\n")
    done = run("How many vacation days do I get?", employee, ScriptedBackend(reply="Full-time staff get 28 days [1]."),
               address="192.0.2.10", via="test")[-1]
    [event] = events("question")
    assert (event.user_id, event.username, event.address, event.summary) == (employee.pk, "erin", "192.0.2.10", "How many vacation days do I get?")
    details = event.details
    assert details["message_id"] == done["message_id"] and details["answer_kind"] == "generated" and details["via"] == "test"
    assert details["collections"] == [handbook.collection_id]  # not HR: erin may not search it
    assert details["shown"] == [c["chunk_id"] for c in done["citations"]]
    assert details["cited"] == [c["chunk_id"] for c in done["citations"] if c["cited"]] != []
    assert set(details["shown"]) <= set(details["retrieved"])
    by_role = roles(event)
    assert by_role["searched"] == [("Handbook", "", None)]
    assert {chunk for _, _, chunk in by_role["cited"]} == set(details["cited"])
    assert all(doc == "Leave (leave.md)" for _, doc, _ in by_role["cited"] + by_role.get("shown", []))


def test_curated_cached_and_refused_answers_are_recorded_too(handbook, public_collection, employee, django_capture_on_commit_callbacks):
    from kbassist.ingestion.importing import import_faq_csv

    with django_capture_on_commit_callbacks(execute=True):
        import_faq_csv(public_collection, b"question,answer\nHow do I reset my password?,Call ext. 4400.\n")
    faq_chunk = FAQ.objects.get().chunks.get()
    run("How do I reset my password?", employee)  # curated
    run("How many vacation days do I get?", employee)  # generated, then cached
    run("How many vacation days do I get?", employee)
    run("What is the capital of Mars?", employee)  # refused, with the FAQ suggested
    curated, generated, cached, refused = events("question")
    assert [e.details["answer_kind"] for e in (curated, generated, cached, refused)] == ["curated", "generated", "cached", "refused"]
    assert curated.details["cited"] == [faq_chunk.pk]
    assert cached.details["shown"] == generated.details["shown"] and cached.details["retrieved"] == []
    assert faq_chunk.pk in refused.details["shown"] and refused.details["cited"] == []


def test_a_failed_answer_still_records_what_was_shown(handbook, employee):
    class Broken(ScriptedBackend):
        def stream(self, *args, **kwargs):
            raise RuntimeError("the backend broke")
            yield  # a generator

    with pytest.raises(RuntimeError):
        run("How many vacation days do I get?", employee, Broken())
    [event] = events("question")
    assert event.details["status"] == "error" and event.details["shown"]


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_questions_through_the_websocket_carry_the_client_address(handbook, employee, backend):
    backend(ScriptedBackend())
    communicator = WebsocketCommunicator(ChatConsumer.as_asgi(), "/ws/chat/")
    communicator.scope["user"] = employee
    communicator.scope["client"] = ["198.51.100.4", 50123]
    await communicator.connect()
    await communicator.send_json_to({"type": "ask", "question": "How many vacation days do I get?"})
    while (await communicator.receive_json_from(timeout=60))["type"] != "done":
        pass
    await communicator.disconnect()
    event = await AuditEvent.objects.aget(kind="question")
    assert (event.username, event.address, event.details["via"]) == ("erin", "198.51.100.4", "websocket")


def test_questions_from_the_command_line(handbook, employee, backend, capsys):
    backend(ScriptedBackend())
    call_command("ask", "How many vacation days do I get?", "--user", "erin", "--json")
    [event] = events("question")
    assert (event.username, event.address, event.details["via"]) == ("erin", None, "command line")


def test_file_and_passage_views(client, handbook, employee):
    chunk = handbook.chunks.first()
    client.force_login(employee)
    client.get(reverse("knowledge:document_file", args=[handbook.pk]), REMOTE_ADDR="10.1.1.1")
    client.get(reverse("knowledge:chunk_detail", args=[chunk.pk]), REMOTE_ADDR="10.1.1.1")
    [file_view], [passage_view] = events("document_view"), events("passage_view")
    assert (file_view.username, file_view.address) == ("erin", "10.1.1.1")
    assert roles(file_view) == {"opened": [("Handbook", "Leave (leave.md)", None)]}
    assert roles(passage_view) == {"opened": [("Handbook", "Leave (leave.md)", chunk.pk)]}


def test_admin_document_upload_replace_and_delete(client, admin_user, public_collection, django_capture_on_commit_callbacks):
    client.force_login(admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("admin:knowledge_document_upload"),
                    {"collection": public_collection.pk, "files": [SimpleUploadedFile("salary-bands.md", b"# Salary bands\n\nE3.\n")]},
                    REMOTE_ADDR="10.2.2.2")
    document = Document.objects.get()
    [upload] = events("document_upload")
    assert (upload.username, upload.address, upload.details["action"]) == ("root", "10.2.2.2", "added")
    assert roles(upload)["changed"][0][:2] == ("Handbook", "salary-bands.md")

    change_url = reverse("admin:knowledge_document_change", args=[document.pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(change_url, {"collection": public_collection.pk, "title": "Salary bands 2026",
                                            "file": SimpleUploadedFile("salary-bands.md", b"# Salary bands\n\nE3, E4.\n")})
    assert response.status_code == 302
    [replace] = events("document_replace")
    assert "file" in replace.details["fields"] and replace.details["object_id"] == document.pk
    with django_capture_on_commit_callbacks(execute=True):
        client.post(change_url, {"collection": public_collection.pk, "title": "Salary bands"})
    assert events("document_change")[0].details["fields"] == ["title"]

    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("admin:knowledge_document_changelist"), {"action": "delete_selected", "_selected_action": [document.pk], "post": "yes"})
    assert not Document.objects.exists()
    [deleted] = events("document_delete")
    assert deleted.details["object_id"] == document.pk
    assert roles(deleted)["changed"] == [("Handbook", "Salary bands (salary-bands.md)", None)]


def test_admin_collection_access_changes(client, admin_user, public_collection):
    hr = Group.objects.create(name="HR")
    client.force_login(admin_user)
    response = client.post(reverse("admin:knowledge_collection_change", args=[public_collection.pk]),
                           {"name": "Handbook", "description": "", "groups": [hr.pk], "editor_groups": []})
    assert response.status_code == 302
    [event] = events("collection_change")
    assert set(event.details["fields"]) == {"is_public", "groups"}
    assert (event.details["is_public"], event.details["groups"], event.details["editor_groups"]) == (False, ["HR"], [])
    assert roles(event) == {"changed": [("Handbook", "", None)]}


def test_group_membership_changes_name_who_made_them(client, admin_user, employee):
    hr = Group.objects.create(name="HR")
    client.force_login(admin_user)
    data = {"username": "erin", "is_active": "on", "groups": [hr.pk], "date_joined_0": "2026-01-01", "date_joined_1": "00:00:00"}
    response = client.post(reverse("admin:auth_user_change", args=[employee.pk]), data, REMOTE_ADDR="10.3.3.3")
    assert response.status_code == 302, response.content.decode()[:2000]
    [added] = events("group_membership")
    assert (added.username, added.address, added.details["member"], added.details["group"], added.details["change"]) == (
        "root", "10.3.3.3", "erin", "HR", "added")
    employee.groups.remove(hr)  # outside a request (a shell, a directory sync)
    removed = events("group_membership")[-1]
    assert (removed.username, removed.details["change"]) == ("", "removed")


def test_faq_edits_imports_and_promotions(client, admin_user, public_collection, employee, django_capture_on_commit_callbacks):
    faq = FAQ.objects.create(collection=public_collection, question="How many vacation days do I get?", answer="28 days.")
    client.force_login(admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("admin:knowledge_faq_change", args=[faq.pk]),
                    {"collection": public_collection.pk, "question": faq.question, "answer": "Log in at http://evil.example", "origin": "manual"})
    [edit] = events("faq_edit")
    assert edit.details["answer"] == "Log in at http://evil.example" and edit.details["fields"] == ["answer"]
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("admin:knowledge_faq_import"), {"collection": public_collection.pk,
                    "csv_file": SimpleUploadedFile("faq.csv", b"question,answer\nWhen is payday?,On the 25th.\n")})
    imported = events("faq_edit")[-1]
    assert imported.details["action"] == "imported" and len(imported.details["faq_ids"]) == 1

    conversation = Conversation.objects.create(user=employee)
    Message.objects.create(conversation=conversation, role="user", content="Is parking free?")
    good = Message.objects.create(conversation=conversation, role="assistant", content="Yes [1].",
                                  citations=[{"n": 1, "collection": "Handbook", "cited": True}])
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("admin:chat_message_changelist"), {"action": "make_faq", "_selected_action": [good.pk]})
    [promoted] = events("faq_promoted")
    assert (promoted.details["message_id"], promoted.details["question"]) == (good.pk, "Is parking free?")
    assert promoted.details["faq_id"] == FAQ.objects.get(question="Is parking free?").pk


def test_command_line_imports_are_recorded(tmp_path, django_capture_on_commit_callbacks):
    (tmp_path / "leave.md").write_text("# Leave\n\n28 days.\n")
    (tmp_path / "faq.csv").write_text("question,answer\nWhen is payday?,On the 25th.\n")
    with django_capture_on_commit_callbacks(execute=True):
        call_command("import_documents", str(tmp_path), "--collection", "Handbook", "--no-wait")
    kinds = [e.kind for e in AuditEvent.objects.order_by("id")]
    assert kinds == ["collection_change", "faq_edit", "document_upload"]
    upload = events("document_upload")[0]
    assert upload.details["via"] == "command line" and upload.user_id is None
    with django_capture_on_commit_callbacks(execute=True):  # the same files again: nothing changed
        call_command("import_documents", str(tmp_path), "--collection", "Handbook", "--no-wait")
    assert AuditEvent.objects.count() == 3
    (tmp_path / "leave.md").write_text("# Leave\n\n30 days.\n")
    with django_capture_on_commit_callbacks(execute=True):
        call_command("import_documents", str(tmp_path / "leave.md"), "--collection", "Handbook", "--no-wait")
    assert events("document_replace")[0].details["object_id"] == upload.details["object_id"]


def test_the_api_key_hook(employee):
    audit.api_key_used("kb_live_3f9a", user=employee, address="203.0.113.9", endpoint="/api/v1/ask")
    [event] = events("api_key")
    assert (event.username, event.address, event.summary, event.details) == (
        "erin", "203.0.113.9", "kb_live_3f9a", {"key": "kb_live_3f9a", "endpoint": "/api/v1/ask"})


def test_events_are_append_only(employee):
    event = audit.record("login", user=employee, subjects=[audit.Subject("opened", 1, "Handbook")])
    event.summary = "rewritten"
    with pytest.raises(AppendOnly):
        event.save()
    with pytest.raises(AppendOnly):
        event.delete()
    with pytest.raises(AppendOnly):
        AuditEvent.objects.filter(pk=event.pk).update(summary="rewritten")
    with pytest.raises(AppendOnly):
        AuditEvent.objects.all().delete()
    with pytest.raises(AppendOnly):
        subject = AuditSubject.objects.get()
        subject.collection_name = "x"
        subject.save()
    assert AuditEvent.objects.get().summary == ""


def test_deleting_a_user_keeps_their_events(employee):
    audit.record("login", user=employee)
    pk = employee.pk
    employee.delete()
    event = AuditEvent.objects.get(kind="login")
    assert (event.user_id, event.username) == (pk, "erin")
