"""`manage.py ensure_admin`: the first administrator, with a password from the settings or a generated one."""

import io

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_ensure_admin_prints_a_generated_password_once(settings):
    settings.KB_ADMIN_PASSWORD = ""
    out = io.StringIO()
    call_command("ensure_admin", stdout=out)
    password = out.getvalue().split("password: ")[1].split()[0]
    assert User.objects.get(username="admin").check_password(password)
    again = io.StringIO()
    call_command("ensure_admin", stdout=again)
    assert again.getvalue() == ""


def test_ensure_admin_takes_the_password_from_the_settings(settings):
    settings.KB_ADMIN_PASSWORD = "s3cret-from-env"
    out = io.StringIO()
    call_command("ensure_admin", stdout=out)
    assert "s3cret" not in out.getvalue()
    assert User.objects.get(username="admin").check_password("s3cret-from-env")
