"""Who may change the knowledge base through the admin.

Being staff only opens the admin. Each change needs the model permission (add a document,
change an FAQ, ...) *and* the per-collection right: membership of one of the collection's
editor groups. Superusers may do everything. Users see titles and links, never server paths.
"""

import json

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, Permission, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from kbassist.chat.answering import answer
from kbassist.chat.models import Conversation, Message
from kbassist.knowledge.models import FAQ, Collection, Document
from kbassist.llm.line import GenerationLine

from tests.fakes import ScriptedBackend

pytestmark = pytest.mark.django_db

PHISHING = "Log in at http://evil.example to claim your days."


def staff(username, *permissions, editor_of=()):
    user = User.objects.create_user(username, password="pw", is_staff=True)
    for codename in permissions:
        user.user_permissions.add(Permission.objects.get(codename=codename))
    for collection in editor_of:
        group, _ = Group.objects.get_or_create(name=f"editors of {collection}")
        collection.editor_groups.add(group)
        user.groups.add(group)
    return user


@pytest.fixture
def vacation_faq(public_collection):
    return FAQ.objects.create(collection=public_collection, question="How many vacation days do I get?", answer="28 days.")


def upload(client, collection, name="notes.md"):
    files = SimpleUploadedFile(name, b"# Notes\n\nSomething new.\n")
    return client.post(reverse("admin:knowledge_document_upload"), {"collection": collection.pk, "files": files})


def faq_csv(client, collection):
    data = SimpleUploadedFile("faq.csv", f"question,answer\nHow many vacation days do I get?,{PHISHING}\n".encode())
    return client.post(reverse("admin:knowledge_faq_import"), {"collection": collection.pk, "csv_file": data})


def test_staff_without_permissions_can_neither_upload_nor_import_faqs(client, hr_collection, public_collection, vacation_faq):
    client.force_login(staff("sam"))
    assert client.get(reverse("admin:knowledge_document_upload")).status_code == 403
    assert upload(client, hr_collection).status_code == 403
    assert client.get(reverse("admin:knowledge_faq_import")).status_code == 403
    assert faq_csv(client, public_collection).status_code == 403
    assert Document.objects.count() == 0
    vacation_faq.refresh_from_db()
    assert vacation_faq.answer == "28 days."


def test_upload_is_offered_only_into_collections_the_user_may_edit(client, hr_collection, public_collection):
    client.force_login(staff("hana", "add_document", "view_document", editor_of=[hr_collection]))
    page = client.get(reverse("admin:knowledge_document_upload")).content.decode()
    assert "HR confidential" in page and "Handbook" not in page
    response = upload(client, public_collection)  # not an editor of it
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    assert Document.objects.count() == 0
    assert upload(client, hr_collection).status_code == 302
    assert list(Document.objects.values_list("collection__name", flat=True)) == ["HR confidential"]


def test_faq_import_needs_add_and_change_permissions_and_the_collection(client, public_collection, hr_collection, vacation_faq):
    client.force_login(staff("fay", "add_faq", editor_of=[public_collection]))  # may add, not rewrite
    assert faq_csv(client, public_collection).status_code == 403
    client.force_login(staff("finn", "add_faq", "change_faq", editor_of=[hr_collection]))
    response = faq_csv(client, public_collection)
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    vacation_faq.refresh_from_db()
    assert vacation_faq.answer == "28 days."


def test_faq_editing_is_limited_to_the_editors_collections(client, public_collection, hr_collection, vacation_faq):
    client.force_login(staff("ed", "view_faq", "change_faq", "delete_faq", editor_of=[hr_collection]))
    changelist = client.get(reverse("admin:knowledge_faq_changelist")).content.decode()
    assert "How many vacation days" not in changelist
    url = reverse("admin:knowledge_faq_change", args=[vacation_faq.pk])
    client.post(url, {"collection": public_collection.pk, "question": vacation_faq.question, "answer": PHISHING, "origin": "manual"})
    assert client.post(reverse("admin:knowledge_faq_delete", args=[vacation_faq.pk]), {"post": "yes"}).status_code != 200
    vacation_faq.refresh_from_db()
    assert vacation_faq.answer == "28 days."
    client.force_login(staff("eve", "view_faq", "change_faq", editor_of=[public_collection]))
    client.post(url, {"collection": public_collection.pk, "question": vacation_faq.question, "answer": "30 days.", "origin": "manual"})
    vacation_faq.refresh_from_db()
    assert vacation_faq.answer == "30 days."


def test_document_change_pages_are_limited_to_the_editors_collections(client, hr_collection, public_collection, make_document):
    private = make_document(hr_collection, "salaries.md", "# Salaries\n\nBand E3.\n")
    client.force_login(staff("dan", "view_document", "change_document", "delete_document", editor_of=[public_collection]))
    assert "salaries" not in client.get(reverse("admin:knowledge_document_changelist")).content.decode()
    client.post(reverse("admin:knowledge_document_delete", args=[private.pk]), {"post": "yes"})
    assert Document.objects.filter(pk=private.pk).exists()


def promote(client, message):
    return client.post(
        reverse("admin:chat_message_changelist"),
        {"action": "make_faq", "_selected_action": [message.pk]},
    )


def test_turning_an_answer_into_an_faq_needs_the_faq_permission_and_an_editable_collection(client, employee, public_collection):
    conversation = Conversation.objects.create(user=employee, title="t")
    Message.objects.create(conversation=conversation, role="user", content="When is payday?")
    answer_message = Message.objects.create(
        conversation=conversation, role="assistant", content="On the 25th [1].",
        citations=[{"n": 1, "collection": "Handbook", "cited": True}],
    )
    client.force_login(staff("vic", "view_message"))
    promote(client, answer_message)
    assert FAQ.objects.count() == 0
    client.force_login(staff("val", "view_message", "add_faq"))  # no editable collection
    promote(client, answer_message)
    assert FAQ.objects.count() == 0
    client.force_login(staff("cur", "view_message", "add_faq", editor_of=[public_collection]))
    promote(client, answer_message)
    assert list(FAQ.objects.values_list("question", "answer")) == [("When is payday?", "On the 25th.")]


def test_superuser_may_edit_every_collection(admin_user, public_collection, hr_collection):
    assert set(Collection.objects.editable_by(admin_user)) == {public_collection, hr_collection}


def test_answers_never_carry_a_server_path(employee, public_collection, make_document):
    document = make_document(public_collection, "leave.md", "# Leave\n\n## Vacation\n\nFull-time staff get 28 vacation days.\n")
    Document.objects.filter(pk=document.pk).update(source_path="/srv/imports/hr/leave.md")
    events = list(answer("How many vacation days do I get?", user=employee, backend=ScriptedBackend(), line=GenerationLine()))
    sent = json.dumps(events)
    assert events[-1]["citations"] and "file_path" not in sent
    for path in ("/srv/imports", document.file.name, str(settings.MEDIA_ROOT)):
        assert path not in sent
    assert events[-1]["citations"][0]["url"] == f"/documents/{document.pk}/file"
