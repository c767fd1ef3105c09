"""Signing in in a real headless Chromium (Debian's, driven by Playwright), against a real
Daphne serving the app, a real OpenID Connect provider process and a real slapd, all on
loopback: "Sign in with <provider>" through the full redirect flow (PKCE), LDAP through the
password form, a group removed in the directory, logout at the provider, and the lockout
message after too many failures.

With ``KB_SCREENSHOTS=<folder>`` the pages are saved there (the README's pictures in docs/).
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth.models import User

from kbassist.knowledge.models import Collection

from tests.conftest import running_app
from tests.e2e.test_browser import browser  # noqa: F401  (the Chromium fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def screenshot(page, name):
    folder = os.environ.get("KB_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / name))


@pytest.fixture
def app(app_port, provider, directory):
    """Daphne on the test database, signing in through ``provider`` and ``directory``, with
    login throttling on (3 failures)."""
    settings_env = {key: str(value) for key, value in {**provider.settings(), **directory.settings()}.items()}
    with running_app("/accounts/login/", "daphne-sign-in.log", port=app_port, KB_LOGIN_THROTTLE="1",
                     KB_LOGIN_FAILURE_LIMIT="3", **settings_env) as url:
        yield url


@pytest.fixture
def page(app, browser):  # noqa: F811
    context = browser.new_context(viewport={"width": 1100, "height": 760})
    page = context.new_page()
    page.set_default_timeout(60_000)
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert not errors, errors


def test_sign_in_with_the_provider_and_log_out_there(page, app, provider, hr_collection):
    authorize = []
    page.on("request", lambda r: authorize.append(r.url) if "/openid/authorize" in r.url else None)
    page.goto(app + "/")
    button = page.get_by_role("link", name="Sign in with Acme SSO")
    button.wait_for()
    assert page.locator("input[name=password]").count() == 1  # local and LDAP passwords too
    screenshot(page, "login-sso.png")

    button.click()
    page.wait_for_selector("#op-username")  # the provider's own login page
    assert page.url.startswith(provider.url + "/login/")
    page.fill("#op-username", "olivia")
    page.fill("#op-password", "pw-olivia")
    page.click("#op-submit")
    page.wait_for_selector("body[data-chat-ready]")
    assert page.url == app + "/" and page.locator(".topbar .who").inner_text() == "olivia"
    query = parse_qs(urlsplit(authorize[0]).query)
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"][0]
    olivia = User.objects.get(username="olivia")
    assert sorted(olivia.groups.values_list("name", flat=True)) == ["HR", "Staff"]
    assert hr_collection in Collection.objects.visible_to(olivia)
    screenshot(page, "signed-in-oidc.png")

    # Log out: the provider's session ends too, so the button asks for the password again.
    page.get_by_role("button", name="Log out").click()
    page.get_by_role("link", name="Sign in with Acme SSO").click()
    page.wait_for_selector("#op-username")


def test_sign_in_with_ldap_and_lose_a_group_in_the_directory(page, app, directory, hr_collection):
    def sign_in(password="pw-lena"):
        page.goto(app + "/accounts/login/")
        page.fill("input[name=username]", "lena")
        page.fill("input[name=password]", password)
        page.click("button[type=submit]")

    sign_in()
    page.wait_for_selector("body[data-chat-ready]")
    assert page.locator(".topbar .who").inner_text() == "lena"
    lena = User.objects.get(username="lena")
    assert hr_collection in Collection.objects.visible_to(lena)
    screenshot(page, "signed-in-ldap.png")

    page.get_by_role("button", name="Log out").click()
    directory.set_members("HR")
    sign_in()
    page.wait_for_selector("body[data-chat-ready]")
    assert hr_collection not in Collection.objects.visible_to(User.objects.get(username="lena"))


def test_too_many_failures_show_the_lockout(page, app, directory):
    for _ in range(3):
        page.goto(app + "/accounts/login/")
        page.fill("input[name=username]", "luke")
        page.fill("input[name=password]", "not-his-password")
        page.click("button[type=submit]")
        page.wait_for_selector("p.error")
    message = page.locator("p.lockout")
    assert "Sign-in is locked for 15 minutes" in message.inner_text()
    screenshot(page, "login-locked.png")
