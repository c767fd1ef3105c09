"""The REST API (/api/v1/) through Django's whole request stack: keys, status codes, access
rules, the answer as JSON and as Server-Sent Events, conversations, feedback, documents,
FAQs, collections, the OpenAPI schema and docs."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from kbassist.api.models import APIKey
from kbassist.chat.models import Conversation, Feedback, Message
from kbassist.knowledge.models import FAQ, Document

from tests.api.conftest import error_of
from tests.conftest import LEAVE
from tests.fakes import ScriptedBackend

pytestmark = pytest.mark.django_db


# --- keys and errors -------------------------------------------------------------------------------------


def test_no_key_wrong_key_revoked_or_expired_key_is_401(client, api, employee, key_for):
    response = client.get("/api/v1/collections")
    assert response.status_code == 401 and "API key is needed" in error_of(response)["message"]
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/api/v1/collections", headers={"Authorization": "Bearer kb_nope"}).status_code == 401
    secret = key_for(employee)
    assert client.get("/api/v1/collections", headers={"X-API-Key": secret}).status_code == 200
    APIKey.objects.get(user=employee).revoke()
    assert error_of(client.get("/api/v1/collections", headers={"X-API-Key": secret}))["type"] == "authentication_error"
    expired = key_for(employee, expires_at=timezone.now() - timezone.timedelta(seconds=1))
    assert client.get("/api/v1/collections", headers={"X-API-Key": expired}).status_code == 401
    employee.is_active = False
    employee.save()
    assert api(employee).get("/api/v1/collections").status_code == 401


def test_each_use_is_counted_on_the_key(api, employee):
    caller = api(employee)
    for _ in range(3):
        assert caller.get("/api/v1/me").status_code == 200
    key = APIKey.objects.get(user=employee)
    assert key.use_count == 3 and key.last_used_at is not None
    assert caller.get("/api/v1/me").json()["username"] == "erin"


def test_errors_are_json_with_the_right_status(api, employee):
    caller = api(employee)
    assert error_of(caller.get("/api/v1/no-such-thing"))["status"] == 404
    response = caller.post("/api/v1/ask", {"question": ""})
    assert response.status_code == 422 and error_of(response)["details"]
    assert caller.post("/api/v1/ask", {"question": "   "}).status_code == 422
    assert caller.post("/api/v1/ask", {"conversation_id": 3}).status_code == 422  # no question
    assert caller.get("/api/v1/conversations/999").status_code == 404


def test_the_rate_limiter_is_called_once_per_request_and_its_429_is_json(api, employee, monkeypatch):
    from kbassist.api import access
    from kbassist.api.limits import RateLimited

    calls = []

    def limiter(request, user, *, key=None, scope="api"):
        calls.append((user.username, scope))
        if len(calls) > 1:
            raise RateLimited(retry_after=7)

    monkeypatch.setattr(access, "check_rate_limit", limiter)
    caller = api(employee)
    assert caller.get("/api/v1/me").status_code == 200
    response = caller.get("/api/v1/me")
    assert response.status_code == 429 and response["Retry-After"] == "7"
    assert error_of(response)["type"] == "rate_limited"
    assert calls == [("erin", "api"), ("erin", "api")]


def test_questions_through_the_api_count_against_the_same_limit_as_the_browser(api, employee, settings):
    from kbassist.guardrails.limits import check_question_rate

    settings.KB_RATE_QUESTIONS_PER_MINUTE = 2
    assert check_question_rate(employee, "127.0.0.1") is None  # one question in the browser
    caller = api(employee)
    assert caller.post("/api/v1/ask", {"question": "   "}).status_code == 422  # a second, through the API
    response = caller.post("/api/v1/ask", {"question": "How many vacation days do I get?"})
    assert response.status_code == 429 and int(response["Retry-After"]) > 0
    assert error_of(response)["type"] == "rate_limited"
    assert caller.get("/api/v1/me").status_code == 200  # other requests have their own limit


# --- collections: a key sees exactly its user's ---------------------------------------------------------------


def test_collections_visible_to_the_key(api, employee, hr_user, admin_user, public_collection, hr_collection):
    assert [c["name"] for c in api(employee).get("/api/v1/collections").json()] == ["Handbook"]
    hr = {c["name"]: c for c in api(hr_user).get("/api/v1/collections").json()}
    assert set(hr) == {"HR confidential", "Handbook"}
    assert hr["HR confidential"]["model"] == "kb-assist/hr-confidential" and hr["HR confidential"]["can_edit"] is False
    assert all(c["can_edit"] for c in api(admin_user).get("/api/v1/collections").json())


# --- ask ------------------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_ask_returns_the_answer_with_citations(api, employee, handbook, backend):
    backend(ScriptedBackend())
    response = api(employee).post("/api/v1/ask", {"question": "How many vacation days do I get?"})
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["kind"] == "generated" and data["status"] == "complete"
    assert data["answer"] == "Full-time staff get 28 days [1]."
    first = data["citations"][0]
    assert first["cited"] and first["title"] == "Leave" and first["section"] == "Leave › Vacation"
    assert "28 vacation days" in first["text"]
    assert first["link"] == f"http://testserver/documents/{handbook.pk}/file"
    assert first["api_url"] == f"http://testserver/api/v1/documents/{handbook.pk}/file"
    assert data["query"] == "How many vacation days do I get?"
    message = Message.objects.get(pk=data["message_id"])
    assert message.conversation_id == data["conversation_id"] and message.conversation.user == employee


@pytest.mark.django_db(transaction=True)
def test_a_follow_up_in_the_same_conversation_and_a_stranger_s_conversation(api, employee, hr_user, handbook, backend):
    backend(ScriptedBackend())
    caller = api(employee)
    first = caller.post("/api/v1/ask", {"question": "How many vacation days do I get?"}).json()
    second = caller.post("/api/v1/ask", {"question": "and part-time?", "conversation_id": first["conversation_id"]}).json()
    assert second["conversation_id"] == first["conversation_id"]
    assert Message.objects.filter(conversation_id=first["conversation_id"]).count() == 4
    other = api(hr_user).post("/api/v1/ask", {"question": "and sick leave?", "conversation_id": first["conversation_id"]})
    assert other.status_code == 404
    assert Message.objects.filter(conversation_id=first["conversation_id"]).count() == 4


def parse_sse(body: bytes) -> list[tuple[str, dict]]:
    events = []
    for block in body.decode().split("\n\n"):
        lines = block.strip().splitlines()
        if not lines or all(line.startswith(":") for line in lines):
            continue
        name = next(line[7:] for line in lines if line.startswith("event: "))
        data = "\n".join(line[6:] for line in lines if line.startswith("data: "))
        events.append((name, json.loads(data)))
    return events


@pytest.mark.django_db(transaction=True)
def test_ask_streams_the_websocket_s_events_as_server_sent_events(api, employee, handbook, backend):
    backend(ScriptedBackend())
    response = api(employee).post("/api/v1/ask", {"question": "How many vacation days do I get?", "stream": True})
    assert response.status_code == 200 and response["Content-Type"] == "text/event-stream"
    events = parse_sse(b"".join(response))  # the async stream, read to its end
    names = [name for name, _ in events]
    assert names[:2] == ["conversation", "sources"] and names[-1] == "done"
    assert names.count("token") == len("Full-time staff get 28 days [1].".split(" "))
    assert all(name == data["type"] for name, data in events)
    done = events[-1][1]
    assert done["answer"] == "Full-time staff get 28 days [1]." and done["citations"][0]["cited"]


@pytest.mark.django_db(transaction=True)
def test_a_key_asks_only_its_user_s_collections(api, employee, hr_user, hr_collection, make_document, backend):
    backend(ScriptedBackend(reply="Salaries are reviewed in March [1]."))
    make_document(hr_collection, "salaries.md", "# Salaries\n\nSalary bands are reviewed every March by HR.\n")
    answer = api(employee).post("/api/v1/ask", {"question": "When are salary bands reviewed?"}).json()
    assert answer["kind"] == "refused" and answer["citations"] == []
    answer = api(hr_user).post("/api/v1/ask", {"question": "When are salary bands reviewed?"}).json()
    assert answer["citations"][0]["title"] == "Salaries"


# --- conversations and feedback ---------------------------------------------------------------------------


def conversation_of(user, answer="Full-time staff get 28 days [1]."):
    conversation = Conversation.objects.create(user=user, title="Vacation")
    Message.objects.create(conversation=conversation, role="user", content="How many vacation days?")
    reply = Message.objects.create(conversation=conversation, role="assistant", kind="generated", content=answer,
                                   citations=[{"n": 1, "title": "Leave", "url": "/documents/1/file", "cited": True, "document_id": 1}])
    return conversation, reply


def test_conversations_list_read_delete_only_one_s_own(api, employee, hr_user):
    mine, reply = conversation_of(employee)
    theirs, _ = conversation_of(hr_user)
    caller = api(employee)
    assert [c["id"] for c in caller.get("/api/v1/conversations").json()] == [mine.pk]
    detail = caller.get(f"/api/v1/conversations/{mine.pk}").json()
    assert [m["role"] for m in detail["messages"]] == ["user", "assistant"]
    assert detail["messages"][1]["citations"][0]["link"] == "http://testserver/documents/1/file"
    assert detail["messages"][1]["verification"] == {}  # what was checked, as the answer itself carried it
    reply.verification = {"from_evidence": True}
    reply.save()
    assert caller.get(f"/api/v1/conversations/{mine.pk}").json()["messages"][1]["verification"] == {"from_evidence": True}
    assert caller.get(f"/api/v1/conversations/{theirs.pk}").status_code == 404
    assert caller.delete(f"/api/v1/conversations/{theirs.pk}").status_code == 404
    assert caller.delete(f"/api/v1/conversations/{mine.pk}").status_code == 204
    assert not Conversation.objects.filter(pk=mine.pk).exists() and Conversation.objects.filter(pk=theirs.pk).exists()


def test_feedback_on_one_s_own_answer(api, employee, hr_user):
    _, reply = conversation_of(employee)
    response = api(employee).post(f"/api/v1/messages/{reply.pk}/feedback", {"helpful": False, "comment": "Part-time?"})
    assert response.status_code == 200 and response.json() == {"message": reply.pk, "helpful": False, "comment": "Part-time?"}
    assert Feedback.objects.get(message=reply).helpful is False
    assert api(hr_user).post(f"/api/v1/messages/{reply.pk}/feedback", {"helpful": True}).status_code == 404
    assert api(employee).post(f"/api/v1/messages/{reply.pk}/feedback", {"helpful": "yes"}).status_code == 422


# --- documents ----------------------------------------------------------------------------------------------


def test_upload_needs_an_editor_group_and_the_permission(api, employee, make_staff, public_collection, hr_collection,
                                                        django_capture_on_commit_callbacks):
    upload = lambda caller, collection: caller.upload(  # noqa: E731
        "/api/v1/documents", {"collection": collection.pk, "file": SimpleUploadedFile("leave.md", LEAVE.encode())}
    )
    assert upload(api(employee), public_collection).status_code == 403  # sees it, may not change it
    assert upload(api(employee), hr_collection).status_code == 404  # does not even see it
    no_perm = make_staff("no-perm", editor_of=[public_collection])
    assert upload(api(no_perm), public_collection).status_code == 403
    editor = make_staff("editor", "add_document", "delete_document", editor_of=[public_collection])
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(api(editor), public_collection)
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["original_name"] == "leave.md" and data["collection"] == public_collection.pk
    assert data["status"] == "queued"
    # Tasks run eagerly in these tests: the document is ingested by the time we look.
    status = api(editor).get(f"/api/v1/documents/{data['id']}").json()
    assert status["status"] == "ready" and status["progress"] == 100 and status["chunk_count"] == 3
    assert upload(api(editor), public_collection).status_code == 409  # the same file twice
    file = api(employee).get(f"/api/v1/documents/{data['id']}/file")
    assert file.status_code == 200 and b"28 vacation days" in b"".join(file.streaming_content)
    assert api(employee).delete(f"/api/v1/documents/{data['id']}").status_code == 403
    assert api(editor).delete(f"/api/v1/documents/{data['id']}").status_code == 204
    assert not Document.objects.exists()


def test_a_file_over_the_upload_limit_is_413(api, admin_user, public_collection, settings):
    settings.KB_MAX_UPLOAD_MB = 1
    big = SimpleUploadedFile("big.md", b"# Big\n\n" + b"word " * 300_000)
    response = api(admin_user).upload("/api/v1/documents", {"collection": public_collection.pk, "file": big})
    assert response.status_code == 413 and "over the 1 MB limit" in error_of(response)["message"]
    assert not Document.objects.exists()
    csv = SimpleUploadedFile("faqs.csv", b"question,answer\n" + b"q,a\n" * 400_000)
    assert api(admin_user).upload("/api/v1/faqs/import", {"collection": public_collection.pk, "file": csv}).status_code == 413


def test_documents_list_and_status_only_in_visible_collections(api, employee, hr_user, handbook, hr_collection, make_document):
    secret = make_document(hr_collection, "salaries.md", "# Salaries\n\nReviewed in March.\n")
    assert [d["id"] for d in api(employee).get("/api/v1/documents").json()] == [handbook.pk]
    assert {d["id"] for d in api(hr_user).get("/api/v1/documents").json()} == {handbook.pk, secret.pk}
    assert api(employee).get(f"/api/v1/documents/{secret.pk}").status_code == 404
    assert api(employee).get(f"/api/v1/documents/{secret.pk}/file").status_code == 404
    assert api(employee).get("/api/v1/documents", {"collection": hr_collection.pk}).status_code == 404
    assert api(employee).get("/api/v1/documents", {"status": "failed"}).json() == []


# --- FAQs ------------------------------------------------------------------------------------------------------


def test_faqs_create_update_delete_and_import(api, employee, make_staff, public_collection, hr_collection):
    editor = make_staff("faq-editor", "add_faq", "change_faq", "delete_faq", editor_of=[public_collection])
    caller = api(editor)
    response = caller.post("/api/v1/faqs", {"collection": public_collection.pk, "question": "Where is the VPN guide?", "answer": "On the IT page."})
    assert response.status_code == 201, response.content
    faq_id = response.json()["id"]
    assert api(employee).post("/api/v1/faqs", {"collection": public_collection.pk, "question": "q", "answer": "a"}).status_code == 403
    assert caller.post("/api/v1/faqs", {"collection": hr_collection.pk, "question": "q", "answer": "a"}).status_code == 404
    assert caller.post("/api/v1/faqs", {"collection": public_collection.pk, "question": "", "answer": "a"}).status_code == 422
    assert caller.patch(f"/api/v1/faqs/{faq_id}", {"answer": "On the IT wiki."}).json()["answer"] == "On the IT wiki."
    assert api(employee).patch(f"/api/v1/faqs/{faq_id}", {"answer": "x"}).status_code == 403
    assert [f["question"] for f in api(employee).get("/api/v1/faqs", {"q": "vpn"}).json()] == ["Where is the VPN guide?"]
    csv = SimpleUploadedFile("faqs.csv", "question,answer\nWhere is the VPN guide?,See IT.\n年假有几天？,28天。\n".encode())
    imported = caller.upload("/api/v1/faqs/import", {"collection": public_collection.pk, "file": csv})
    assert imported.status_code == 200 and imported.json()["imported"] == 2 and imported.json()["problem"] == ""
    assert FAQ.objects.get(pk=faq_id).answer == "See IT." and FAQ.objects.count() == 2
    bad = SimpleUploadedFile("faqs.csv", b"only one column\n")
    assert caller.upload("/api/v1/faqs/import", {"collection": public_collection.pk, "file": bad}).status_code == 422
    assert api(employee).delete(f"/api/v1/faqs/{faq_id}").status_code == 403
    assert caller.delete(f"/api/v1/faqs/{faq_id}").status_code == 204
    assert FAQ.objects.count() == 1


# --- schema and docs -------------------------------------------------------------------------------------------


def test_openapi_schema_and_docs_page_served_without_a_cdn(client):
    schema = client.get("/api/v1/openapi.json")
    assert schema.status_code == 200

    def no_repeated_keys(pairs):  # a repeated key breaks Swagger UI ("duplicated mapping key")
        keys = [k for k, _ in pairs]
        assert len(keys) == len(set(keys)), keys
        return dict(pairs)

    json.loads(schema.content, object_pairs_hook=no_repeated_keys)
    paths = schema.json()["paths"]
    assert {"/api/v1/ask", "/api/v1/conversations", "/api/v1/documents", "/api/v1/faqs/import", "/api/v1/collections"} <= set(paths)
    assert schema.json()["components"]["securitySchemes"]["KeyAuth"] == {"type": "http", "scheme": "bearer"}
    docs = client.get("/api/v1/docs")
    html = docs.content.decode()
    assert docs.status_code == 200 and "/static/ninja/swagger-ui-bundle.js" in html and "cdn" not in html.lower()
    assert client.get("/static/ninja/swagger-ui-bundle.js").status_code == 200
