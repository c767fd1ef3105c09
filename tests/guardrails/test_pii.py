"""PII redaction (KB_REDACT_PII): masked in stored questions and logs, never in the live
answer; ``redact()`` for the audit trail."""

import logging

import pytest

from kbassist.chat.models import CachedAnswer, Conversation, Message
from kbassist.guardrails.pii import luhn_valid, redact, resident_id_valid
from tests.fakes import ScriptedBackend
from tests.guardrails.helpers import ask, communicator_for

QUESTION = ("I am jane.doe@example.com, ID 11010519491231002X, card 4111 1111 1111 1111, mobile +86 138-1234-5678: "
            "how many vacation days do I get?")


@pytest.mark.parametrize("text, expected", [
    ("write to jane.doe+hr@mail.example.co.uk today", "write to [email] today"),
    ("身份证号11010519491231002X。", "身份证号[ID number]。"),
    ("ID 110105194912310021 has a wrong check digit", "ID 110105194912310021 has a wrong check digit"),
    ("card 4111 1111 1111 1111 or 5500-0000-0000-0004", "card [card number] or [card number]"),
    ("not a card: 4111 1111 1111 1112", "not a card: 4111 1111 1111 1112"),
    ("call 13812345678, 138 1234 5678 or 0086 139-1234-5678", "call [phone], [phone] or [phone]"),
    ("desk 010-12345678, (021) 1234 5678", "desk [phone], [phone]"),
    ("+44 20 7946 0958 or (555) 123-4567 or 555.123.4567", "[phone] or [phone] or [phone]"),
    ("28 days, 2024-01-15, $1,500, 12-week, SF-182, v3.14.159, 1,000,000, 20240115, order 123456",
     "28 days, 2024-01-15, $1,500, 12-week, SF-182, v3.14.159, 1,000,000, 20240115, order 123456"),
])
def test_redact(text, expected):
    assert redact(text) == expected


def test_checksums():
    assert resident_id_valid("11010519491231002X") and not resident_id_valid("110105194912310021")
    assert luhn_valid("4111111111111111") and not luhn_valid("4111111111111112")


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_stored_questions_are_masked_and_the_live_answer_is_not(handbook, employee, backend, settings):
    settings.KB_REDACT_PII = True
    # the personal data around the question is not what it asks: no answerability refusal
    settings.KB_MIN_ANSWERABILITY = settings.KB_WEAK_ANSWERABILITY = 0
    model = backend(ScriptedBackend(reply="Full-time staff get 28 vacation days per year."))
    communicator = communicator_for(employee)
    await communicator.connect()
    events = await ask(communicator, QUESTION)
    assert events[-1]["type"] == "done" and events[-1]["kind"] == "generated"
    assert model.calls[-1][-1].content == QUESTION  # the model answers the question as asked
    masked = ("I am [email], ID [ID number], card [card number], mobile [phone]: how many vacation days do I get?")
    question = await Message.objects.aget(role="user")
    assert question.content == masked
    conversation = await Conversation.objects.aget()
    assert conversation.title == masked[:80]
    answer = await Message.objects.aget(role="assistant")
    assert "@" not in answer.search_query and "4111" not in answer.search_query
    cached = await CachedAnswer.objects.aget()
    assert cached.question == masked
    await communicator.disconnect()


@pytest.mark.django_db
def test_off_by_default(employee, backend, handbook):
    from kbassist.chat.answering import answer
    from kbassist.llm.line import GenerationLine

    backend(ScriptedBackend())
    list(answer(QUESTION, user=employee, line=GenerationLine()))
    assert Message.objects.get(role="user").content == QUESTION


def test_log_lines_are_masked_by_the_configured_handler(settings):
    settings.KB_REDACT_PII = True
    handler = logging.getLogger("kbassist").handlers[0]  # settings.LOGGING's console handler
    record = logging.getLogger("kbassist.chat").makeRecord("kbassist.chat", logging.INFO, __file__, 1,
                                                           "question from %s: %s", ("erin", QUESTION), None)
    assert handler.filter(record)
    assert record.getMessage() == ("question from erin: I am [email], ID [ID number], card [card number], "
                                   "mobile [phone]: how many vacation days do I get?")
    settings.KB_REDACT_PII = False
    record = logging.getLogger("kbassist.chat").makeRecord("kbassist.chat", logging.INFO, __file__, 1, "%s", (QUESTION,), None)
    handler.filter(record)
    assert record.getMessage() == QUESTION
