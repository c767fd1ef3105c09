"""Login throttling (django-axes): after KB_LOGIN_FAILURE_LIMIT failures for one username
from one address that pair is locked, with the reason on the login page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import override_settings
from django.urls import reverse

pytestmark = pytest.mark.django_db

LOCKED = "Too many failed sign-in attempts for this account from your address"


@pytest.fixture(autouse=True)
def throttling():
    with override_settings(AXES_ENABLED=True, AXES_FAILURE_LIMIT=3, AXES_COOLOFF_TIME=timedelta(minutes=15)):
        yield


def attempt(client, username, password, address="127.0.0.2"):
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address)


def test_lockout_after_the_limit_per_user_and_address(client, employee):
    for _ in range(2):
        response = attempt(client, "erin", "wrong")
        assert response.status_code == 200 and LOCKED not in response.content.decode()
    response = attempt(client, "erin", "wrong")
    page = response.content.decode()
    assert response.status_code == 429 and LOCKED in page and "locked for 15 minutes" in page
    # Now even the right password is refused from this address...
    response = attempt(client, "erin", "pw-erin")
    assert response.status_code == 429 and "_auth_user_id" not in client.session
    # ...but another user from the same address, and the same user elsewhere, are not locked.
    other = attempt(client, "root", "pw-root")  # no such user: an ordinary failure
    assert other.status_code == 200 and LOCKED not in other.content.decode()
    response = attempt(client, "erin", "pw-erin", address="127.0.0.3")
    assert response.status_code == 302 and client.session["_auth_user_id"] == str(employee.pk)


def test_a_successful_sign_in_resets_the_count(client, employee):
    attempt(client, "erin", "wrong")
    attempt(client, "erin", "wrong")
    assert attempt(client, "erin", "pw-erin").status_code == 302
    client.logout()
    attempt(client, "erin", "wrong")
    attempt(client, "erin", "wrong")
    assert attempt(client, "erin", "pw-erin").status_code == 302


def test_the_lock_ends_after_the_cool_off(client, employee):
    with override_settings(AXES_COOLOFF_TIME=timedelta(seconds=1)):
        for _ in range(3):
            attempt(client, "erin", "wrong")
        assert attempt(client, "erin", "pw-erin").status_code == 429
        from axes.models import AccessAttempt

        AccessAttempt.objects.update(attempt_time=AccessAttempt.objects.get().attempt_time - timedelta(seconds=5))
        assert attempt(client, "erin", "pw-erin").status_code == 302


def test_the_admin_login_is_throttled_too(client, admin_user):
    for _ in range(3):
        client.post("/admin/login/", {"username": "root", "password": "wrong"}, REMOTE_ADDR="127.0.0.2")
    response = client.post("/admin/login/", {"username": "root", "password": "pw-root"}, REMOTE_ADDR="127.0.0.2")
    assert response.status_code == 429 and LOCKED in response.content.decode()


def test_ldap_failures_count(client, ldap_settings):
    for _ in range(3):
        attempt(client, "lena", "wrong")
    assert attempt(client, "lena", "pw-lena").status_code == 429


def test_the_lockout_message_in_chinese(client, employee):
    for _ in range(3):
        response = client.post(reverse("login"), {"username": "erin", "password": "wrong"}, REMOTE_ADDR="127.0.0.2",
                               HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9")
    assert response.status_code == 429 and "登录失败次数过多，已锁定 15 分钟" in response.content.decode()
