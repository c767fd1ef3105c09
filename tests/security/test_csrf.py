"""CSRF: every URL of the site refuses a POST without the token (the Django test client with
``enforce_csrf_checks``), signed in or not. The only views exempt are the doors for other
programs (the REST API, the OpenAI-compatible endpoint, the chat-bot callbacks, the widget's
key door): they never
read the session cookie, only an API key or a platform signature, so a browser's cookie alone
gets nothing from them."""

import re

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

pytestmark = pytest.mark.django_db

EXAMPLES = {"int": "1", "path": "1", "str": "x", "slug": "x", "uuid": "00000000-0000-0000-0000-000000000000"}


def all_urls(patterns=None, prefix=""):
    """``(path, view)`` for every URL pattern, with an example value for each parameter."""
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + _example(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from all_urls(entry.url_patterns, route)
        elif isinstance(entry, URLPattern):
            yield "/" + route, entry.callback


def _example(pattern) -> str:
    text = str(pattern)
    if text.startswith("^"):  # a regular expression: the admin's app index, ^(?P<app_label>a|b)/$
        text = re.sub(r"\(\?P<\w+>([^|)]+)[^)]*\)", r"\1", text).lstrip("^").rstrip("$")
        return text.replace("\\", "")
    return re.sub(r"<(?:(\w+):)?\w+>", lambda m: EXAMPLES.get(m.group(1) or "str", "x"), text)


URLS = sorted(set(all_urls()), key=lambda url: (url[0], getattr(url[1], "__qualname__", "")))


def test_the_url_walk_finds_every_kind_of_view():
    paths = [p for p, _ in URLS]
    for expected in ("/accounts/login/", "/accounts/logout/", "/api/conversations/1/rename", "/api/messages/1/feedback",
                     "/admin/knowledge/document/upload/", "/admin/knowledge/faq/import/", "/admin/audit/auditevent/export/",
                     "/admin/chat/message/", "/admin/auth/user/1/change/", "/i18n/setlang/"):
        assert expected in paths, expected


MACHINE_DOORS = ("/api/v1/", "/v1/", "/bots/")  # authenticated by an API key or a signature, never a cookie
MACHINE_DOORS += ("/widget/key/",)  # the embeddable widget with a widget key (its session door is protected)


def test_only_the_doors_for_other_programs_are_exempt_from_csrf():
    exempt = [path for path, view in URLS if getattr(view, "csrf_exempt", False)]
    assert exempt and all(path.startswith(MACHINE_DOORS) for path in exempt), exempt


@pytest.mark.parametrize("who", ["anonymous", "employee", "superuser"])
def test_every_post_without_a_token_is_refused(who, employee, admin_user, settings):
    # a hundred POSTs in a row: the rate limits (tested in tests/guardrails/) would answer first
    settings.KB_RATE_ANONYMOUS_PER_MINUTE = settings.KB_RATE_REQUESTS_PER_MINUTE = settings.KB_RATE_QUESTIONS_PER_MINUTE = 0
    client = Client(enforce_csrf_checks=True)
    if who != "anonymous":
        client.force_login(employee if who == "employee" else admin_user)
    refused = []
    for path, _view in URLS:
        response = client.post(path, {"title": "x", "helpful": "true"})
        if path.startswith(MACHINE_DOORS):  # the session cookie alone opens nothing there
            if response.status_code < 400:
                refused.append((path, response.status_code))
        elif response.status_code != 403 or b"CSRF" not in response.content:
            refused.append((path, response.status_code))
    assert refused == [], f"accepted a POST without a CSRF token: {refused}"


def test_a_post_with_the_token_goes_through(client, employee):
    """Control: the same client, with the token, is not refused (so the 403s above are CSRF's)."""
    from kbassist.chat.models import Conversation

    conversation = Conversation.objects.create(user=employee, title="old")
    client = Client(enforce_csrf_checks=True)
    client.force_login(employee)
    client.get("/")  # the chat page sets the CSRF cookie
    token = client.cookies["csrftoken"].value
    response = client.post(f"/api/conversations/{conversation.pk}/rename", '{"title": "new"}',
                           content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 200 and response.json()["title"] == "new"
