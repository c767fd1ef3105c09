"""The sensitive-word filter: lists edited in the admin (English and Chinese), questions
refused, answers withheld while they stream; through the admin and the real consumer."""

import logging

import pytest
from asgiref.sync import sync_to_async
from django.urls import reverse

from kbassist.chat.models import Message
from kbassist.guardrails.models import SensitiveWord
from kbassist.guardrails.words import AnswerScreen, Matcher
from kbassist.llm.base import LLMBackend
from tests.fakes import ScriptedBackend
from tests.guardrails.helpers import ask, communicator_for

REFUSED = ("I can't help with this question here. If you think this is a mistake, please contact the people "
           "who maintain the knowledge base.")
WITHHELD = ("This answer has been withheld because it touches on a restricted topic. If you think this is a mistake, "
            "please contact the people who maintain the knowledge base.")


class Pieces(LLMBackend):
    """A model that streams exactly these pieces."""

    name = "pieces"
    context_size = 2048

    def __init__(self, pieces):
        self.pieces = pieces

    def count_tokens(self, text):
        return len(text.split()) + 1

    def stream(self, messages, *, max_tokens, temperature, should_stop=lambda: False):
        for piece in self.pieces:
            if should_stop():
                return
            yield piece


def test_matching_rules():
    matcher = Matcher(["salary bands", "Project Falcon", "机密", "secret"])
    assert matcher.find("What are the SALARY  BANDS?") == ["SALARY  BANDS"]
    assert matcher.find("Who works on project falcon?") == ["project falcon"]
    assert matcher.find("这是机密文件吗") == ["机密"]
    assert matcher.find("Is it secret?") == ["secret"]
    assert matcher.find("Ask the secretary; the salaryman is in 机 密.") == []  # whole English words only
    assert matcher.find("这份secret文件") == ["secret"]  # an English word beside Chinese characters


def test_an_answer_is_screened_as_it_streams():
    screen = AnswerScreen(Matcher(["secret", "机密"]))
    shown = [screen.feed(p) for p in ["The", " secret", "ary", " is", " in"]]
    assert "".join(shown) + screen.flush() == "The secretary is in" and not screen.matched
    screen = AnswerScreen(Matcher(["secret", "机密"]))
    shown = [screen.feed(p) for p in ["This", " is", " sec", "ret", " data"]]
    assert screen.matched == ["secret"] and "sec" not in "".join(shown) and screen.flush() == ""
    screen = AnswerScreen(Matcher(["机密"]))
    shown = [screen.feed(p) for p in ["这是", "机", "密", "文件"]]
    assert screen.matched == ["机密"] and "".join(shown) == "这是"


def test_editors_add_several_words_in_the_admin(client, admin_user):
    client.force_login(admin_user)
    response = client.post(reverse("admin:guardrails_sensitiveword_add_several"),
                           {"terms": "salary bands\n机密\n\nsalary bands\n", "note": "HR asked"}, follow=True)
    assert "2 word(s) added." in response.content.decode()
    words = {w.term: w.language for w in SensitiveWord.objects.all()}
    assert words == {"salary bands": "en", "机密": "zh-hans"}
    assert client.get(reverse("admin:guardrails_sensitiveword_changelist") + "?language=zh-hans").status_code == 200


def test_staff_without_the_permission_cannot_add(client, make_staff):
    client.force_login(make_staff("sam"))
    response = client.post(reverse("admin:guardrails_sensitiveword_add_several"), {"terms": "x"})
    assert response.status_code == 403 and not SensitiveWord.objects.exists()


pytest_async = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


@pytest.fixture
def words(db):
    for term in ("salary bands", "机密", "Project Falcon"):
        SensitiveWord.objects.create(term=term)


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_a_question_that_matches_is_refused_and_recorded(handbook, employee, backend, words, caplog):
    model = backend(ScriptedBackend())
    caplog.set_level(logging.WARNING, logger="kbassist.guardrails")
    communicator = communicator_for(employee)
    await communicator.connect()
    events = await ask(communicator, "What are the salary bands for grade 7?")
    done = events[-1]
    assert done["kind"] == "withheld" and done["answer"] == REFUSED and not model.calls
    zh = (await ask(communicator, "公司的机密项目有哪些？"))[-1]
    assert zh["kind"] == "withheld" and zh["answer"] == "这个问题无法在这里回答。如果您认为这是误判，请联系知识库的维护人员。"
    stored = await sync_to_async(list)(Message.objects.filter(kind="withheld").values_list("verification", flat=True))
    assert [v["guard"] for v in stored] == [{"name": "sensitive_words", "question_terms": ["salary bands"]},
                                            {"name": "sensitive_words", "question_terms": ["机密"]}]
    assert "salary bands" not in str(done)  # the user is not told which word
    assert [r.getMessage() for r in caplog.records if "sensitive_question" in r.getMessage()]
    await communicator.disconnect()


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_an_answer_that_matches_is_withheld_without_showing_the_word(handbook, employee, backend, words):
    backend(Pieces(["Full-time", " staff", " get", " 28", " days;", " ask", " project", " Fal", "con", " for", " more."]))
    communicator = communicator_for(employee)
    await communicator.connect()
    events = await ask(communicator, "How many vacation days do I get?")
    streamed = "".join(e["text"] for e in events if e["type"] == "token")
    assert streamed.startswith("Full-time staff get 28 days; ask ")
    assert "Fal" not in streamed and streamed.endswith(WITHHELD)  # the term never shows, not even in part
    done = events[-1]
    assert done["kind"] == "withheld" and done["status"] == "complete" and done["answer"] == WITHHELD
    assert done["citations"] == [] and "Falcon" not in str(done)
    stored = await Message.objects.aget(pk=done["message_id"])
    assert stored.content == WITHHELD and stored.verification["guard"]["answer_terms"] == ["project Falcon"]
    await communicator.disconnect()


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_a_word_added_later_withholds_a_cached_answer_too(handbook, employee, backend):
    backend(ScriptedBackend(reply="Full-time staff get 28 vacation days per year."))
    communicator = communicator_for(employee)
    await communicator.connect()
    assert (await ask(communicator, "How many vacation days do I get?"))[-1]["kind"] == "generated"
    assert (await ask(communicator, "How many vacation days do I get?"))[-1]["kind"] == "cached"
    await SensitiveWord.objects.acreate(term="vacation days")  # the admin's save is seen by every process
    events = await ask(communicator, "How long is my holiday?")
    assert events[-1]["type"] == "done"
    events = await ask(communicator, "How many vacation days do I get?")
    assert events[-1]["kind"] == "withheld"
    await communicator.disconnect()


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_the_filter_can_be_turned_off(handbook, employee, backend, words, settings):
    settings.KB_SENSITIVE_WORDS = False
    backend(ScriptedBackend())
    communicator = communicator_for(employee)
    await communicator.connect()
    assert (await ask(communicator, "What are the salary bands?"))[-1]["kind"] != "withheld"
    await communicator.disconnect()
