"""API keys: only a hash is stored; the "API keys" page (create, name, list, revoke; the secret
shown once); the admin (service keys acting as a chosen user, revoking anyone's); and
``manage.py api_key create | list | revoke``."""

import re

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from kbassist.api.models import APIKey, hash_secret

pytestmark = pytest.mark.django_db


def test_only_the_hash_of_a_key_is_stored(employee):
    key, secret = APIKey.objects.create_key(employee, "script")
    assert secret.startswith("kb_") and len(secret) > 40
    stored = APIKey.objects.filter(pk=key.pk).values().get()
    assert secret not in str(stored) and stored["hashed"] == hash_secret(secret)
    assert key.prefix == secret[:11] and APIKey.objects.find(secret) == key
    assert APIKey.objects.find(secret[:-1] + ("A" if secret[-1] != "A" else "B")) is None


def test_the_keys_page_creates_a_key_shows_it_once_and_revokes_it(client, employee, hr_user):
    client.force_login(employee)
    page = client.get("/api-keys/")
    assert page.status_code == 200 and "No keys yet" in page.content.decode()
    created = client.post("/api-keys/", {"name": "intranet portal"})
    html = created.content.decode()
    secret = re.search(r'<code id="new-key">(kb_[^<]+)</code>', html).group(1)
    assert created["Cache-Control"] == "no-store"
    key = APIKey.objects.get()
    assert key.user == employee and key.name == "intranet portal" and not key.is_service_key
    # The key works, and the page never shows the secret again.
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).json()["username"] == "erin"
    again = client.get("/api-keys/").content.decode()
    assert secret not in again and key.prefix in again and "intranet portal" in again
    # Someone else cannot revoke it; its owner can.
    client.force_login(hr_user)
    assert client.post(f"/api-keys/{key.pk}/revoke").status_code == 404
    client.force_login(employee)
    client.post(f"/api-keys/{key.pk}/revoke")
    assert APIKey.objects.get().revoked
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 401


def test_the_keys_page_needs_a_login_and_a_future_expiry(client, employee):
    assert client.get("/api-keys/").status_code == 302
    client.force_login(employee)
    today = timezone.localdate()
    response = client.post("/api-keys/", {"name": "old", "expires": today.isoformat()})
    assert "Choose a day after today" in response.content.decode() and not APIKey.objects.exists()
    client.post("/api-keys/", {"name": "soon", "expires": (today + timezone.timedelta(days=2)).isoformat()})
    assert APIKey.objects.get().expires_at.date() == today + timezone.timedelta(days=2)


def test_admins_make_service_keys_for_a_chosen_user_and_revoke_anyone_s(client, admin_user, employee, make_staff):
    client.force_login(admin_user)
    response = client.post("/admin/api/apikey/add/", {"user": employee.pk, "name": "wecom bot"}, follow=True)
    secret = re.search(r"<code>(kb_[^<]+)</code>", response.content.decode()).group(1)
    key = APIKey.objects.get()
    assert key.user == employee and key.created_by == admin_user and key.is_service_key
    assert client.get("/api/v1/me", headers={"X-API-Key": secret}).json()["username"] == "erin"
    client.post("/admin/api/apikey/", {"action": "revoke_keys", "_selected_action": [key.pk]})
    assert APIKey.objects.get().revoked
    # Making a key for someone else is as strong as being them: superusers only.
    staff = make_staff("keeper", "add_apikey", "change_apikey", "view_apikey")
    client.force_login(staff)
    assert client.get("/admin/api/apikey/add/").status_code == 403
    assert client.get("/admin/api/apikey/").status_code == 200


def test_the_api_key_command(employee, capsys):
    call_command("api_key", "create", "erin", "--name", "nightly sync")
    secret = capsys.readouterr().out.strip()
    key = APIKey.objects.find(secret)
    assert key.user == employee and key.name == "nightly sync"
    call_command("api_key", "create", "erin", "--expires-days", "3")
    capsys.readouterr()
    call_command("api_key", "list")
    listing = capsys.readouterr().out
    assert key.prefix in listing and "nightly sync" in listing and secret not in listing
    call_command("api_key", "revoke", key.prefix)
    assert "Revoked" in capsys.readouterr().out and APIKey.objects.find(secret) is None
    call_command("api_key", "list")
    assert key.prefix not in capsys.readouterr().out
    call_command("api_key", "list", "--all")
    assert "revoked" in capsys.readouterr().out
    with pytest.raises(CommandError, match="No user"):
        call_command("api_key", "create", "nobody")
    with pytest.raises(CommandError, match="No key"):
        call_command("api_key", "revoke", "999")
