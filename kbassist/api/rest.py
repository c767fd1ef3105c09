"""The REST API, ``/api/v1/``: thin glue over the same functions as the browser and the CLI.

Every request needs an API key (``Authorization: Bearer kb_...`` or ``X-API-Key``); the key
acts as its user. Questions go through ``chat.answering.answer()`` (streamed through
``chat.streaming``, like the websocket), uploads through ``ingestion.importing``, and what a
key may see or change is decided by the same rules as the browser and the admin
(``access``). Errors are JSON: ``{"error": {"message", "type", "status", "code"}}``.
"""

from __future__ import annotations

import logging
import threading

from asgiref.sync import sync_to_async
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, JsonResponse, StreamingHttpResponse
from ninja import File, Form, NinjaAPI, Query
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.files import UploadedFile
from ninja.security.base import AuthBase

from kbassist.chat.models import Conversation, Feedback, Message
from kbassist.chat.streaming import AskRequest, stream_events
from kbassist.ingestion.importing import FileRejected, add_document, check_size, import_faq_csv
from kbassist.knowledge.models import FAQ, Collection, Document
from kbassist.knowledge.views import file_response

from . import present, schemas
from .access import ApiError, authenticate, may_change, require_change, visible_collection

log = logging.getLogger(__name__)
ERRORS = {code: schemas.Error for code in (401, 403, 404, 422, 429)}


class KeyAuth(AuthBase):
    """An API key in ``Authorization: Bearer`` (or ``X-API-Key``); the request then acts as its user."""

    openapi_type = "http"
    openapi_scheme = "bearer"

    def __call__(self, request: HttpRequest):
        return authenticate(request, scope="ask" if request.path.rstrip("/").endswith("/ask") else "api")


api = NinjaAPI(
    title="KB Assist API",
    version="1",
    description=(
        "Ask the knowledge base, read and delete your conversations, give feedback, and manage documents and FAQs "
        "of the collections you edit. Send an API key (make one on the *API keys* page) as `Authorization: Bearer <key>`. "
        "A key acts as its user: it sees exactly that user's collections. An OpenAI-compatible endpoint is at `/v1/`."
    ),
    urls_namespace="api-v1",
    auth=KeyAuth(),
    openapi_url="/openapi.json",
    docs_url="/docs",
)


def error_response(exc: ApiError) -> JsonResponse:
    response = JsonResponse(exc.body(), status=exc.status, json_dumps_params={"ensure_ascii": False})
    for name, value in exc.headers.items():
        response[name] = value
    return response


@api.exception_handler(ApiError)
def _api_error(request, exc: ApiError):
    return error_response(exc)


@api.exception_handler(ValidationError)
def _invalid(request, exc: ValidationError):
    details = [{k: e.get(k) for k in ("loc", "msg", "type")} for e in exc.errors]
    message = "; ".join(f"{'.'.join(str(p) for p in d['loc'] if p not in ('body', 'payload'))}: {d['msg']}" for d in details)
    return error_response(ApiError(422, f"Invalid request: {message}", details=details))


@api.exception_handler(AuthenticationError)
def _unauthenticated(request, exc):
    return error_response(ApiError(401, "An API key is needed."))


@api.exception_handler(HttpError)
def _http_error(request, exc: HttpError):
    return error_response(ApiError(exc.status_code, str(exc.message)))


@api.exception_handler(Http404)
def _not_found(request, exc):
    return error_response(ApiError(404, "Not found."))


@api.exception_handler(ObjectDoesNotExist)
def _does_not_exist(request, exc):
    return error_response(ApiError(404, "Not found."))


@api.exception_handler(PermissionDenied)
def _denied(request, exc):
    return error_response(ApiError(403, "Not allowed."))


@api.exception_handler(Exception)
def _failed(request, exc):
    log.exception("API request failed: %s %s", request.method, request.path)
    return error_response(ApiError(500, "Something went wrong on the server."))


def not_found_view(request, rest=""):
    """Any other path under /api/v1/: a JSON 404, like everything else here."""
    return error_response(ApiError(404, f"No such endpoint: {request.path}"))


# --- ask -----------------------------------------------------------------------------------------------


def _own_conversation(user, pk) -> Conversation:
    conversation = Conversation.objects.filter(pk=pk, user=user).first()
    if conversation is None:
        raise ApiError(404, "Conversation not found.")
    return conversation


SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


async def _sse(user, request: AskRequest, stop: threading.Event):
    async for event in stream_events(user, request, stop):
        yield present.sse(event, event["type"])


def _answer_data(request, conversation_id: int, query: str | None, done: dict, errors: list[str]) -> dict:
    return {
        "conversation_id": conversation_id,
        "message_id": done["message_id"],
        "kind": done["kind"],
        "status": done["status"],
        "answer": done["answer"],
        "html": done["html"],
        "query": query or None,
        "citations": [present.citation(request, c) for c in done["citations"]],
        "evidence": done.get("evidence", []),
        "verification": done.get("verification", {}),
        "suggestions": done.get("suggestions", []),
        "timings": done.get("timings", {}),
        "errors": errors,
    }


@api.post(
    "/ask",
    response={200: schemas.Answer, **ERRORS, 500: schemas.Error},
    summary="Ask a question",
    openapi_extra={
        "responses": {
            200: {
                "description": "The answer (JSON), or with `stream: true` Server-Sent Events: `conversation`, `queued`, "
                "`sources`, `token`..., then `done` (the same fields as the JSON answer, citations with relative `url`s) "
                "or `error`: the chat websocket's events.",
                "content": {"text/event-stream": {"schema": {"type": "string"}}},
            }
        }
    },
)
async def ask(request, payload: schemas.AskIn):
    """Ask the knowledge base. The answer takes the first path that applies (cached, curated FAQ,
    refusal, generated from the sources, passages when the model is unavailable) and cites its
    sources with [n] markers."""
    user = request.auth.user
    if payload.conversation_id:
        await sync_to_async(_own_conversation)(user, payload.conversation_id)
    question = AskRequest(question=payload.question, conversation_id=payload.conversation_id,
                          address=request.META.get("REMOTE_ADDR"), via="api")
    stop = threading.Event()
    if payload.stream:
        return StreamingHttpResponse(_sse(user, question, stop), content_type="text/event-stream", headers=SSE_HEADERS)
    whole = await present.whole_answer(stream_events(user, question, stop), payload.conversation_id)
    if whole.done is None:
        raise ApiError(500, whole.problem)
    return _answer_data(request, whole.conversation_id, whole.query, whole.done, whole.errors)


# --- conversations and feedback -------------------------------------------------------------------------


def _message_data(request, message: Message) -> dict:
    return {
        "id": message.pk,
        "role": message.role,
        "content": message.content,
        "kind": message.kind,
        "status": message.status,
        "created_at": message.created_at,
        "query": message.search_query or None,
        "citations": [present.citation(request, c) for c in message.citations],
        "evidence": message.evidence,
        "verification": message.verification_for_asker,
        "feedback": getattr(getattr(message, "feedback", None), "helpful", None),
    }


@api.get("/conversations", response={200: list[schemas.ConversationOut], **ERRORS}, summary="Your conversations")
def conversations(request, limit: int = Query(50, ge=1, le=500), offset: int = Query(0, ge=0)):
    """Newest first."""
    return list(Conversation.objects.filter(user=request.auth.user)[offset : offset + limit])


@api.get("/conversations/{int:conversation_id}", response={200: schemas.ConversationDetail, **ERRORS}, summary="One conversation")
def conversation(request, conversation_id: int):
    item = _own_conversation(request.auth.user, conversation_id)
    messages = [_message_data(request, m) for m in item.messages.select_related("feedback")]
    return {"id": item.pk, "title": item.title, "created_at": item.created_at, "updated_at": item.updated_at, "messages": messages}


@api.delete("/conversations/{int:conversation_id}", response={204: None, **ERRORS}, summary="Delete a conversation")
def delete_conversation(request, conversation_id: int):
    _own_conversation(request.auth.user, conversation_id).delete()
    return 204, None


@api.post("/messages/{int:message_id}/feedback", response={200: schemas.FeedbackOut, **ERRORS}, summary="Thumbs up or down")
def feedback(request, message_id: int, payload: schemas.FeedbackIn):
    """On one of your answers; a second vote replaces the first."""
    user = request.auth.user
    message = Message.objects.filter(pk=message_id, role=Message.Role.ASSISTANT, conversation__user=user).first()
    if message is None:
        raise ApiError(404, "No such answer of yours.")
    item = Feedback.objects.give(message, user, payload.helpful, payload.comment)
    return {"message": message.pk, "helpful": item.helpful, "comment": item.comment}


# --- collections --------------------------------------------------------------------------------------------


@api.get("/collections", response={200: list[schemas.CollectionOut], **ERRORS}, summary="Collections this key may see")
def collections(request):
    user = request.auth.user
    visible = Collection.objects.visible_to(user).annotate(
        n_documents=Count("documents", distinct=True), n_faqs=Count("faqs", distinct=True)
    )
    slugs = present.collection_slugs(Collection.objects.all())
    return [present.collection_data(c, slugs[c.pk], may_change(user, c.pk, "knowledge.add_document")) for c in visible]


# --- documents ----------------------------------------------------------------------------------------------


def _visible(model, user, collection: int | None = None):
    """``model``'s rows (documents or FAQs) in the collections ``user`` sees; with
    ``collection``, only that collection's (404 when the user does not see it)."""
    rows = model.objects.filter(collection__in=Collection.objects.visible_to(user))
    if collection is not None:
        visible_collection(user, collection)
        rows = rows.filter(collection_id=collection)
    return rows


def _one_visible(model, user, pk: int, missing: str):
    """Row ``pk`` of ``model`` when ``user`` sees its collection; 404 ``missing`` otherwise (as
    if it did not exist)."""
    item = _visible(model, user).filter(pk=pk).first()
    if item is None:
        raise ApiError(404, missing)
    return item


def _visible_document(user, pk) -> Document:
    return _one_visible(Document, user, pk, "No such document.")


@api.get("/documents", response={200: list[schemas.DocumentOut], **ERRORS}, summary="Documents and their ingestion status")
def documents(
    request,
    collection: int | None = None,
    status: str | None = Query(None, description="queued, processing, ready or failed"),
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0),
):
    items = _visible(Document, request.auth.user, collection)
    if status:
        items = items.filter(status=status)
    return [present.document_data(request, d) for d in items[offset : offset + limit]]


@api.post("/documents", response={201: schemas.DocumentOut, 409: schemas.Error, 413: schemas.Error, **ERRORS}, summary="Upload a document")
def upload_document(request, collection: int = Form(...), file: UploadedFile = File(...), title: str = Form("")):
    """Into a collection you edit (an editor group of it, and the permission to add documents).
    The file is stored and queued; poll ``GET /documents/{id}`` for status and progress."""
    user = request.auth.user
    require_change(user, collection, "knowledge.add_document")
    try:
        check_size(file, file.name)
    except FileRejected as exc:
        raise ApiError(413, str(exc)) from None
    try:
        document, _ = add_document(Collection.objects.get(pk=collection), file, file.name)
    except FileRejected as exc:
        raise ApiError(409, f"{file.name}: {exc}") from None
    if title.strip():
        Document.objects.filter(pk=document.pk).update(title=title.strip()[:300])
    document.refresh_from_db()
    return 201, present.document_data(request, document)


@api.get("/documents/{int:document_id}", response={200: schemas.DocumentOut, **ERRORS}, summary="A document's status and progress")
def document(request, document_id: int):
    return present.document_data(request, _visible_document(request.auth.user, document_id))


@api.get("/documents/{int:document_id}/file", response={200: None, **ERRORS}, summary="The document's file")
def document_file(request, document_id: int):
    return file_response(_visible_document(request.auth.user, document_id))


@api.delete("/documents/{int:document_id}", response={204: None, **ERRORS}, summary="Delete a document")
def delete_document(request, document_id: int):
    """Its chunks leave both indexes too."""
    user = request.auth.user
    item = _visible_document(user, document_id)
    require_change(user, item.collection_id, "knowledge.delete_document")
    item.delete()
    return 204, None


# --- FAQs ----------------------------------------------------------------------------------------------------


def _visible_faq(user, pk) -> FAQ:
    return _one_visible(FAQ, user, pk, "No such FAQ entry.")


@api.get("/faqs", response={200: list[schemas.FAQOut], **ERRORS}, summary="FAQ entries")
def faqs(request, collection: int | None = None, q: str | None = Query(None, description="Text in the question or answer."),
         limit: int = Query(100, ge=1, le=1000), offset: int = Query(0, ge=0)):
    items = _visible(FAQ, request.auth.user, collection)
    if q:
        items = items.filter(Q(question__icontains=q) | Q(answer__icontains=q))
    return [present.faq_data(f) for f in items[offset : offset + limit]]


@api.post("/faqs", response={201: schemas.FAQOut, **ERRORS}, summary="Add an FAQ entry")
def create_faq(request, payload: schemas.FAQIn):
    """Answered first from then on when a question asks the same thing (indexed in the background)."""
    require_change(request.auth.user, payload.collection, "knowledge.add_faq")
    faq = FAQ.objects.create(collection_id=payload.collection, question=payload.question.strip(), answer=payload.answer.strip())
    return 201, present.faq_data(faq)


@api.get("/faqs/{int:faq_id}", response={200: schemas.FAQOut, **ERRORS}, summary="One FAQ entry")
def faq(request, faq_id: int):
    return present.faq_data(_visible_faq(request.auth.user, faq_id))


@api.patch("/faqs/{int:faq_id}", response={200: schemas.FAQOut, **ERRORS}, summary="Change an FAQ entry")
def update_faq(request, faq_id: int, payload: schemas.FAQPatch):
    user = request.auth.user
    item = _visible_faq(user, faq_id)
    require_change(user, item.collection_id, "knowledge.change_faq")
    for field in ("question", "answer"):
        if (value := getattr(payload, field)) is not None:
            setattr(item, field, value.strip())
    item.save()
    return present.faq_data(item)


@api.delete("/faqs/{int:faq_id}", response={204: None, **ERRORS}, summary="Delete an FAQ entry")
def delete_faq(request, faq_id: int):
    user = request.auth.user
    item = _visible_faq(user, faq_id)
    require_change(user, item.collection_id, "knowledge.delete_faq")
    item.delete()
    return 204, None


@api.post("/faqs/import", response={200: schemas.FAQImportOut, 413: schemas.Error, **ERRORS}, summary="Import FAQs from CSV")
def import_faqs(request, collection: int = Form(...), file: UploadedFile = File(...)):
    """``question,answer`` rows (a header row is optional); a question already in the collection
    gets the new answer. Needs the permissions to add and to change FAQs, as in the admin."""
    require_change(request.auth.user, collection, "knowledge.add_faq", "knowledge.change_faq")
    try:
        check_size(file, file.name)
    except FileRejected as exc:
        raise ApiError(413, str(exc)) from None
    try:
        result = import_faq_csv(Collection.objects.get(pk=collection), file.read())
    except ValueError as exc:
        raise ApiError(422, str(exc)) from None
    return {"imported": len(result.entries), "faqs": [present.faq_data(f) for f in result.entries], "problem": result.problem}


# --- who am I ------------------------------------------------------------------------------------------------


@api.get("/me", response={200: schemas.Me, **ERRORS}, summary="The user this key acts as")
def me(request):
    key = request.auth
    return {
        "username": key.user.get_username(),
        "key": str(key),
        "collections": list(Collection.objects.visible_to(key.user).values_list("name", flat=True)),
    }

