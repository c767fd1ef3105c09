"""OpenID Connect sign-in against a real provider process (django-oidc-provider in a
throwaway project, tests/accounts/servers.py): the authorization-code flow with PKCE,
users created on first sign-in, groups synced from the claim on every sign-in, allowed
domains, and logout at the provider."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.contrib.auth.models import Group, User
from django.test import override_settings
from django.urls import reverse

from kbassist.accounts.conf import authentication_backends
from kbassist.accounts.models import ExternalIdentity
from kbassist.knowledge.models import Collection

from .conftest import ProviderBrowser, oidc_sign_in

pytestmark = pytest.mark.django_db


def signed_in_user(client):
    return User.objects.get(pk=client.session["_auth_user_id"]) if "_auth_user_id" in client.session else None


def test_first_sign_in_creates_the_user_with_the_directory_groups(client, oidc_settings, hr_collection):
    response, authorize, _ = oidc_sign_in(client, "olivia", "pw-olivia", next_url="/c/1")
    assert response.status_code == 302 and response["Location"] == "/c/1"
    query = parse_qs(urlsplit(authorize).query)
    assert authorize.startswith(oidc_settings.issuer + "/authorize")
    assert query["response_type"] == ["code"] and query["code_challenge_method"] == ["S256"]
    assert query["code_challenge"][0] and query["nonce"][0] and query["state"][0]
    assert set(query["scope"][0].split()) == {"openid", "email", "profile", "groups"}

    user = signed_in_user(client)
    assert user.username == "olivia" and user.email == "olivia@example.com"
    assert (user.first_name, user.last_name) == ("Olivia", "Ortega")
    assert sorted(user.groups.values_list("name", flat=True)) == ["HR", "Staff"]
    assert hr_collection in Collection.objects.visible_to(user)
    identity = ExternalIdentity.objects.get(user=user)
    assert identity.issuer == oidc_settings.issuer and identity.last_login_at is not None
    assert client.get(reverse("chat:index")).status_code == 200


def test_groups_follow_the_claim_on_every_sign_in(client, oidc_settings, hr_collection):
    oidc_sign_in(client, "olivia", "pw-olivia")
    user = signed_in_user(client)
    assert hr_collection in Collection.objects.visible_to(user)
    editors = Group.objects.create(name="Handbook editors")  # given in the admin
    user.groups.add(editors, Group.objects.create(name="Old project"))

    # The directory takes Olivia out of HR and puts her into IT.
    oidc_settings.set_groups("olivia", "Staff", "IT")
    client.logout()
    with override_settings(KB_SSO_LOCAL_GROUPS=["Handbook editors"]):
        oidc_sign_in(client, "olivia", "pw-olivia")
    user = signed_in_user(client)
    assert user.username == "olivia" and User.objects.filter(username__startswith="olivia").count() == 1
    # Added and removed; the group kept in the admin (KB_SSO_LOCAL_GROUPS) stays.
    assert sorted(user.groups.values_list("name", flat=True)) == ["Handbook editors", "IT", "Staff"]
    assert hr_collection not in Collection.objects.visible_to(user)


def test_keycloak_style_paths_and_a_group_map(client, oidc_settings):
    oidc_settings.set_groups("oscar", "/Staff", "b7c0-object-id")
    with override_settings(KB_OIDC_GROUP_MAP={"b7c0-object-id": "Finance"}):
        oidc_sign_in(client, "oscar", "pw-oscar")
    assert sorted(signed_in_user(client).groups.values_list("name", flat=True)) == ["Finance", "Staff"]


def test_a_domain_outside_the_allowed_list_is_refused(client, oidc_settings):
    with override_settings(KB_OIDC_ALLOWED_DOMAINS=["corp.example.net"]):
        response, _, _ = oidc_sign_in(client, "olivia", "pw-olivia")
        assert response.status_code == 302 and response["Location"] == reverse("login")
        page = client.get(reverse("login")).content.decode()
    assert "olivia@example.com is not an address of an allowed domain" in page
    assert signed_in_user(client) is None and not User.objects.filter(username="olivia").exists()

    with override_settings(KB_OIDC_ALLOWED_DOMAINS=["corp.example.net", "Example.com"]):
        oidc_sign_in(client, "olivia", "pw-olivia")
    assert signed_in_user(client).username == "olivia"


def test_the_code_is_useless_without_the_pkce_verifier(client, oidc_settings):
    response = client.get(reverse("oidc_authentication_init"))
    callback = ProviderBrowser().sign_in(response["Location"], "oscar", "pw-oscar")
    code = parse_qs(urlsplit(callback).query)["code"][0]
    # Someone who intercepted the code, but not the verifier kept in the app's session:
    stolen = requests.post(oidc_settings.issuer + "/token", timeout=30, data={
        "grant_type": "authorization_code", "code": code, "client_id": oidc_settings.client_id,
        "client_secret": oidc_settings.client_secret, "redirect_uri": "http://testserver/accounts/oidc/callback/",
    })
    assert stolen.status_code == 400 and stolen.json()["error"] == "invalid_grant"
    assert not User.objects.filter(username="oscar").exists()


def test_a_forged_callback_state_is_refused(client, oidc_settings):
    client.get(reverse("oidc_authentication_init"))
    response = client.get(reverse("oidc_authentication_callback") + "?code=abc&state=not-the-state")
    assert response.status_code == 400 and signed_in_user(client) is None


def test_a_local_account_with_the_same_name_is_not_taken_over(client, oidc_settings, employee):
    taken = User.objects.create_user("olivia", email="olivia@example.com", password="pw-local")
    taken.groups.add(Group.objects.create(name="Local only"))
    oidc_sign_in(client, "olivia", "pw-olivia")
    user = signed_in_user(client)
    assert user != taken and user.username == "olivia-2"
    assert list(taken.groups.values_list("name", flat=True)) == ["Local only"]


def test_linking_by_verified_email_when_asked(client, oidc_settings):
    local = User.objects.create_user("o.ortega", email="Olivia@Example.com", password="pw-local")
    with override_settings(KB_OIDC_LINK_BY_EMAIL=True):
        oidc_sign_in(client, "olivia", "pw-olivia")
        assert signed_in_user(client) == local
        client.logout()
        oidc_sign_in(client, "olivia", "pw-olivia")  # now found by the provider's subject
    assert signed_in_user(client) == local and ExternalIdentity.objects.filter(user=local).count() == 1


def test_logout_ends_the_provider_session_too(client, oidc_settings):
    browser = ProviderBrowser()
    oidc_sign_in(client, "oscar", "pw-oscar", browser=browser)
    id_token = client.session["oidc_id_token"]
    response = client.post(reverse("logout"))
    assert signed_in_user(client) is None
    end_session = response["Location"]
    query = parse_qs(urlsplit(end_session).query)
    assert end_session.startswith(oidc_settings.issuer + "/end-session")
    assert query["id_token_hint"] == [id_token]
    assert query["post_logout_redirect_uri"] == ["http://testserver/accounts/login/"]
    # The browser follows it: the provider ends its session and sends it back to our login.
    back = browser.session.get(end_session, allow_redirects=False, timeout=30)
    assert back.status_code == 302 and back.headers["Location"] == "http://testserver/accounts/login/"
    # Signing in again needs the password at the provider again.
    again = browser.session.get(client.get(reverse("oidc_authentication_init"))["Location"], allow_redirects=False,
                                timeout=30)
    assert "/login/" in again.headers["Location"] and "/accounts/oidc/callback/" not in again.headers["Location"]


def test_logout_of_a_local_user_stays_local(client, oidc_settings, employee):
    client.force_login(employee)
    response = client.post(reverse("logout"))
    assert response.status_code == 302 and response["Location"] == reverse("login")


def test_the_login_page_offers_the_provider(client, oidc_settings):
    page = client.get(reverse("login") + "?next=/c/3").content.decode()
    assert "Sign in with Acme SSO" in page
    assert reverse("oidc_authentication_init") + "?next=%2Fc%2F3" in page
    assert 'name="password"' in page  # local passwords stay on (KB_LOCAL_LOGIN)
    # The admin's login sends staff to this page.
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302 and response["Location"] == reverse("login") + "?next=%2Fadmin%2F"


def test_without_local_passwords_only_the_provider_remains(client, oidc_settings, employee):
    with override_settings(KB_LOCAL_LOGIN=False, AUTHENTICATION_BACKENDS=authentication_backends(local=False, oidc=True)):
        page = client.get(reverse("login")).content.decode()
        assert "Sign in with Acme SSO" in page and 'name="password"' not in page
        response = client.post(reverse("login"), {"username": "erin", "password": "pw-erin"})
        assert response.status_code == 403 and "Password sign-in is turned off here." in response.content.decode()
        assert signed_in_user(client) is None
        # Directory users still have their permissions (checked without ModelBackend).
        oidc_sign_in(client, "oscar", "pw-oscar")
        oscar = signed_in_user(client)
        from django.contrib.auth.models import Permission

        Group.objects.get(name="Staff").permissions.add(Permission.objects.get(codename="view_collection"))
        oscar = User.objects.get(pk=oscar.pk)
        assert oscar.has_perm("knowledge.view_collection")


def test_an_unreachable_provider_leaves_passwords_working(client, employee, settings):
    from tests.conftest import free_port

    settings.AUTHENTICATION_BACKENDS = authentication_backends(local=True, oidc=True)
    settings.KB_OIDC_DISCOVERY_URL = f"http://127.0.0.1:{free_port()}/realms/acme"
    settings.KB_OIDC_CLIENT_ID = "kbassist"
    settings.KB_OIDC_PROVIDER_NAME = "Acme SSO"
    response = client.post(reverse("login"), {"username": "erin", "password": "pw-erin"})
    assert response.status_code == 302 and signed_in_user(client) == employee
    client.logout()
    response = client.get(reverse("oidc_authentication_init"), follow=True)
    assert "Acme SSO cannot be reached right now" in response.content.decode()


def test_the_provider_button_in_chinese(client, oidc_settings):
    page = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9").content.decode()
    assert "使用 Acme SSO 登录" in page


def test_without_a_group_claim_setting_groups_stay_as_the_admin_set_them(client, oidc_settings):
    with override_settings(KB_OIDC_GROUPS_CLAIM=""):
        oidc_sign_in(client, "oscar", "pw-oscar")
        oscar = signed_in_user(client)
        assert list(oscar.groups.all()) == []
        oscar.groups.add(Group.objects.create(name="Given in the admin"))
        client.logout()
        oidc_sign_in(client, "oscar", "pw-oscar")
    assert list(signed_in_user(client).groups.values_list("name", flat=True)) == ["Given in the admin"]
