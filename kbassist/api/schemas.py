"""Request and response shapes of the REST API (they make its OpenAPI schema)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from ninja import Schema
from pydantic import Field, StrictBool, field_validator

from kbassist.chat.streaming import MAX_QUESTION


class ErrorBody(Schema):
    message: str
    type: str
    status: int
    code: str | None = None
    details: Any = None


class Error(Schema):
    error: ErrorBody


class AskIn(Schema):
    question: str = Field(..., min_length=1, max_length=MAX_QUESTION, description="The question, in English or Chinese.")
    conversation_id: int | None = Field(None, description="Continue this conversation of yours (follow-ups are understood in context).")
    stream: bool = Field(False, description="true: answer with Server-Sent Events, the websocket's events as they happen.")

    @field_validator("question")
    @classmethod
    def not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("The question is empty.")
        return value.strip()


class Citation(Schema):
    n: int = Field(..., description="The number of the [n] marker in the answer.")
    kind: Literal["document", "faq"] | None = None
    title: str | None = None
    collection: str | None = None
    document_id: int | None = None
    faq_id: int | None = None
    faq_question: str | None = None
    chunk_id: int | None = None
    page: int | None = None
    section: str | None = None
    location: str | None = None
    text: str | None = Field(None, description="The passage.")
    url: str | None = Field(None, description="The file at its page, relative to this server (for a signed-in browser).")
    link: str | None = Field(None, description="The same, absolute.")
    api_url: str | None = Field(None, description="The file, for a program with an API key.")
    cited: bool = Field(False, description="Whether the answer cites it with an [n] marker.")
    support: list = Field(default_factory=list, description="[start, end] spans of the passage that support the answer.")
    updated: str | None = Field(None, description="When the source was last updated: a document's last import, an FAQ's last edit (YYYY-MM-DD).")
    review_by: str | None = Field(None, description="The date the source should be reviewed by (YYYY-MM-DD), if review dates are kept.")
    past_review: bool = Field(False, description="Whether that date has passed.")


class Answer(Schema):
    conversation_id: int
    message_id: int
    kind: str = Field(..., description="generated, curated, cached, refused, passages or quoted.")
    status: str = Field(..., description="complete, stopped or error.")
    answer: str = Field(..., description="Markdown, with [n] citation markers.")
    html: str
    query: str | None = Field(None, description="What was searched for (a follow-up is rewritten).")
    citations: list[Citation]
    evidence: list[dict] = Field(default_factory=list, description="The source sentences quoted under the answer.")
    verification: dict = Field(default_factory=dict)
    suggestions: list[dict] = Field(default_factory=list, description="For a refusal: the closest FAQ entries.")
    timings: dict = Field(default_factory=dict)
    errors: list[str] = Field(default_factory=list)


class ConversationOut(Schema):
    id: int
    title: str
    created_at: datetime
    updated_at: datetime


class MessageOut(Schema):
    id: int
    role: str
    content: str
    kind: str
    status: str
    created_at: datetime
    query: str | None = None
    citations: list[Citation] = Field(default_factory=list)
    evidence: list[dict] = Field(default_factory=list)
    verification: dict = Field(default_factory=dict, description="What was checked; from_evidence: the evidence is already quoted in the content.")
    feedback: bool | None = None


class ConversationDetail(ConversationOut):
    messages: list[MessageOut]


class FeedbackIn(Schema):
    helpful: StrictBool = Field(..., description="true: thumbs up; false: thumbs down.")
    comment: str = Field("", max_length=2000)


class FeedbackOut(Schema):
    message: int
    helpful: bool
    comment: str


class CollectionOut(Schema):
    id: int
    name: str
    slug: str
    model: str = Field(..., description="The model name that asks only this collection (OpenAI-compatible endpoint).")
    description: str
    is_public: bool
    can_edit: bool = Field(..., description="Whether this key may add documents to it.")
    documents: int | None = None
    faqs: int | None = None


class DocumentOut(Schema):
    id: int
    collection: int
    title: str
    original_name: str
    status: str = Field(..., description="queued, processing, ready or failed.")
    progress: int = Field(..., description="Percent.")
    chunk_count: int
    page_count: int | None = None
    error: str
    size: int
    sha256: str
    created_at: datetime
    updated_at: datetime
    ingested_at: datetime | None = None
    link: str | None = None
    api_url: str | None = None


class FAQIn(Schema):
    collection: int
    question: str = Field(..., min_length=1)
    answer: str = Field(..., min_length=1)


class FAQPatch(Schema):
    question: str | None = Field(None, min_length=1)
    answer: str | None = Field(None, min_length=1)


class FAQOut(Schema):
    id: int
    collection: int
    question: str
    answer: str
    origin: str
    created_at: datetime
    updated_at: datetime


class FAQImportOut(Schema):
    imported: int = Field(..., description="Entries created or given a new answer.")
    faqs: list[FAQOut]
    problem: str = Field("", description="The rows that could not be used (no question or no answer), by line; empty when all were good.")


class Me(Schema):
    username: str
    key: str = Field(..., description="The key's name and first characters.")
    collections: list[str]
