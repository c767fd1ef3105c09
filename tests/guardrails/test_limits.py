"""Rate limits through the real doors: the websocket consumer (questions per user, per
minute and per day), the chat views (requests per user), anonymous pages (per IP), the
function a REST API calls (429), and the embedded cache shared by separate processes."""

import json
import os
import subprocess
import sys
import time
from types import SimpleNamespace

import pytest
from django.core.cache import cache
from django.test import override_settings
from django.urls import reverse

from kbassist.guardrails.limits import check_question_rate, too_many_requests
from tests.conftest import ROOT
from tests.fakes import ScriptedBackend
from tests.guardrails.helpers import ask, communicator_for


@pytest.fixture(autouse=True)
def one_window(monkeypatch):
    """django-ratelimit counts in fixed windows: hold its clock, so that no test's requests
    straddle the end of a minute."""
    import django_ratelimit.core

    now = time.time()
    monkeypatch.setattr(django_ratelimit.core, "time", SimpleNamespace(time=lambda: now))


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_questions_per_minute_per_user_across_sockets(handbook, employee, hr_user, backend, settings):
    settings.KB_RATE_QUESTIONS_PER_MINUTE = 2
    backend(ScriptedBackend(reply="Full-time staff get 28 vacation days per year."))
    first, second = communicator_for(employee), communicator_for(employee, ip="10.0.0.2")
    await first.connect()
    await second.connect()
    assert (await ask(first, "How many vacation days do I get?"))[-1]["type"] == "done"
    assert (await ask(second, "How many vacation days do I get?"))[-1]["type"] == "done"
    refused = await ask(first, "And sick leave?")
    assert len(refused) == 1 and refused[0]["code"] == "rate_limited"
    assert refused[0]["message"].startswith("You have asked 2 questions in the last minute, the most allowed. Please wait about ")
    assert 1 <= refused[0]["retry_after"] <= 60
    # Chinese question, Chinese message; the other user is not affected; the socket stays open.
    zh = await ask(second, "病假怎么请？")
    assert zh[0]["code"] == "rate_limited" and zh[0]["message"].startswith("您在过去一分钟内已提问 2 次，已达上限。")
    other = communicator_for(hr_user)
    await other.connect()
    assert (await ask(other, "How many vacation days do I get?"))[-1]["type"] == "done"
    for communicator in (first, second, other):
        await communicator.disconnect()


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_questions_per_day(handbook, employee, backend, settings):
    settings.KB_RATE_QUESTIONS_PER_DAY = 1
    backend(ScriptedBackend())
    communicator = communicator_for(employee)
    await communicator.connect()
    assert (await ask(communicator, "How many vacation days do I get?"))[-1]["type"] == "done"
    refused = await ask(communicator, "How many vacation days do I get?")
    assert refused[0]["code"] == "rate_limited" and refused[0]["message"].startswith("You have reached today's limit of 1 questions.")
    assert refused[0]["retry_after"] <= 86400
    await communicator.disconnect()


@pytest.mark.django_db
def test_chat_views_answer_429_with_the_message(client, employee, settings):
    from kbassist.chat.models import Conversation

    settings.KB_RATE_REQUESTS_PER_MINUTE = 2
    conversation = Conversation.objects.create(user=employee, title="t")
    client.force_login(employee)
    url = reverse("chat:rename", args=[conversation.pk])
    for _ in range(2):
        assert client.post(url, {"title": "ok"}, content_type="application/json").status_code == 200
    response = client.post(url, {"title": "again"}, content_type="application/json")
    assert response.status_code == 429 and int(response["Retry-After"]) >= 1
    assert response.json()["error"].startswith("Too many requests in a short time. Please wait about ")
    page = client.get(reverse("chat:index"))
    assert page.status_code == 429 and page.content.decode().startswith("Too many requests")


@pytest.mark.django_db
def test_anonymous_requests_are_limited_per_ip(client, settings):
    settings.KB_RATE_ANONYMOUS_PER_MINUTE = 3
    login = reverse("login")
    for _ in range(3):
        assert client.get(login).status_code == 200
    response = client.get(login)
    assert response.status_code == 429 and "Too many requests" in response.content.decode()
    assert client.get(login, REMOTE_ADDR="192.0.2.7").status_code == 200  # another address counts apart


@pytest.mark.django_db
def test_the_function_a_rest_api_calls(employee, settings):
    settings.KB_RATE_QUESTIONS_PER_MINUTE = 1
    assert check_question_rate(employee, "10.1.1.1") is None
    refusal = check_question_rate(employee, "10.1.1.1")
    response = too_many_requests(refusal)
    assert response.status_code == 429 and response["Retry-After"] == str(refusal.retry_after)
    assert json.loads(response.content) == {"error": refusal.message, "code": "rate_limited", "retry_after": refusal.retry_after}


@pytest.mark.django_db
def test_a_limit_of_zero_is_no_limit(employee, settings):
    settings.KB_RATE_QUESTIONS_PER_MINUTE = settings.KB_RATE_QUESTIONS_PER_DAY = 0
    assert all(check_question_rate(employee) is None for _ in range(50))


# --- The embedded profile: the database cache, shared by processes ----------------------------------

DB_CACHE = {"default": {"BACKEND": "kbassist.guardrails.cache.DatabaseCache", "LOCATION": "kbassist_cache",
                        "KEY_PREFIX": "kbassist", "OPTIONS": {"MAX_ENTRIES": 1_000_000}}}

COUNT_IN_ANOTHER_PROCESS = """
import sys, django
django.setup()
from types import SimpleNamespace
from kbassist.guardrails.limits import check_question_rate
from kbassist.guardrails.slots import answer_slot
user = SimpleNamespace(pk=4242, is_authenticated=True, username="far-away")
what, n = sys.argv[1], int(sys.argv[2])
if what == "count":
    print(sum(check_question_rate(user) is not None for _ in range(n)))
else:
    answer_slot(user).acquire()  # and exit without giving it back (a process that died)
    print("held")
"""


def in_other_process(*args, **env_extra):
    from django.conf import settings

    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "kbassist.settings", "KB_DATA_DIR": str(settings.DATA_DIR),
           "DATABASE_URL": f"sqlite:///{settings.DATABASES['default']['NAME']}", "KB_CACHE_URL": "dbcache://kbassist_cache",
           **env_extra}
    return subprocess.Popen([sys.executable, "-c", COUNT_IN_ANOTHER_PROCESS, *map(str, args)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.fixture
def database_cache(transactional_db):
    from django.core.management import call_command

    with override_settings(CACHES=DB_CACHE):
        call_command("createcachetable", verbosity=0)
        cache.clear()
        yield cache


def test_the_database_cache_counts_for_every_process(database_cache, settings):
    """Two processes count 30 questions each at the same time, a third refuses the 61st
    (the day's window: a minute's could end between them)."""
    settings.KB_RATE_QUESTIONS_PER_MINUTE, settings.KB_RATE_QUESTIONS_PER_DAY = 0, 60
    limits = {"KB_RATE_QUESTIONS_PER_MINUTE": "0", "KB_RATE_QUESTIONS_PER_DAY": "60"}
    procs = [in_other_process("count", 30, **limits) for _ in range(2)]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    assert [int(out) for out, _ in outputs] == [0, 0]  # 60 counted, none refused
    user = SimpleNamespace(pk=4242, is_authenticated=True, username="far-away")
    refusal = check_question_rate(user)  # the 61st question, counted here, in this process
    assert refusal is not None and "today's limit of 60 questions" in refusal.message


def test_a_count_keeps_its_window(database_cache):
    """A day's counter must not expire after the cache's default five minutes."""
    database_cache.add("day-counter", 1, 86400)
    database_cache.incr("day-counter")
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT expires FROM kbassist_cache WHERE cache_key LIKE %s", ["%day-counter"])
        (expires,) = cursor.fetchone()
    from django.utils.dateparse import parse_datetime

    expires = expires if not isinstance(expires, str) else parse_datetime(expires)
    assert expires.timestamp() - time.time() > 86000 and database_cache.get("day-counter") == 2


def test_one_answer_at_a_time_holds_across_processes(database_cache):
    from kbassist.guardrails.slots import AnswerInProgress, answer_slot

    proc = in_other_process("hold", 0)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0 and out.strip() == "held", err
    with pytest.raises(AnswerInProgress, match="You already have an answer on its way"):
        answer_slot(SimpleNamespace(pk=4242, is_authenticated=True, username="far-away")).acquire()
