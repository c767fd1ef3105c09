"""LDAP sign-in against a real OpenLDAP slapd started on loopback (tests/accounts/servers.py):
StartTLS with the server certificate checked, user search as a service account, group
search mirrored onto Django groups (added and removed) on every sign-in."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.test import override_settings
from django.urls import reverse

from kbassist.accounts.conf import authentication_backends
from kbassist.knowledge.models import Collection

from .servers import make_certificates

pytestmark = pytest.mark.django_db


def sign_in(client, username, password):
    response = client.post(reverse("login"), {"username": username, "password": password})
    user_id = client.session.get("_auth_user_id")
    return response, (User.objects.get(pk=user_id) if user_id else None)


def test_first_sign_in_creates_the_user_with_the_directory_groups(client, ldap_settings, hr_collection):
    response, user = sign_in(client, "lena", "pw-lena")
    assert response.status_code == 302 and response["Location"] == reverse("chat:index")
    assert (user.username, user.first_name, user.last_name, user.email) == ("lena", "Lena", "Lindqvist",
                                                                            "lena@example.com")
    assert not user.has_usable_password()  # the directory keeps the password
    assert sorted(user.groups.values_list("name", flat=True)) == ["HR", "Staff"]
    assert hr_collection in Collection.objects.visible_to(user)


def test_a_user_removed_from_a_group_loses_that_collection_on_the_next_sign_in(client, ldap_settings, hr_collection):
    _, lena = sign_in(client, "lena", "pw-lena")
    assert hr_collection in Collection.objects.visible_to(lena)
    lena.groups.add(Group.objects.create(name="Handbook editors"), Group.objects.create(name="Stale"))

    ldap_settings.set_members("HR")  # HR is emptied in the directory
    client.logout()
    with override_settings(KB_SSO_LOCAL_GROUPS=["Handbook editors"]):
        _, lena = sign_in(client, "lena", "pw-lena")
    assert sorted(lena.groups.values_list("name", flat=True)) == ["Handbook editors", "Staff"]
    assert hr_collection not in Collection.objects.visible_to(lena)

    ldap_settings.set_members("HR", "luke", "lena")  # and both are put back
    client.logout()
    _, lena = sign_in(client, "lena", "pw-lena")
    assert hr_collection in Collection.objects.visible_to(lena)


def test_wrong_passwords_and_strangers_are_refused(client, ldap_settings):
    assert sign_in(client, "lena", "wrong")[1] is None
    assert sign_in(client, "nobody", "pw-lena")[1] is None
    assert sign_in(client, "lena*", "pw-lena")[1] is None  # filter characters are escaped
    assert not User.objects.filter(username__in=["lena", "nobody"]).exists()


def test_local_accounts_keep_working_unless_turned_off(client, ldap_settings, employee):
    assert sign_in(client, "erin", "pw-erin")[1] == employee
    client.logout()
    with override_settings(KB_LOCAL_LOGIN=False, AUTHENTICATION_BACKENDS=authentication_backends(local=False, ldap=True)):
        assert sign_in(client, "erin", "pw-erin")[1] is None
        response, luke = sign_in(client, "luke", "pw-luke")
        assert luke.username == "luke"
        # Permissions given to a mirrored group in the admin still apply.
        Group.objects.get(name="Staff").permissions.add(Permission.objects.get(codename="view_collection"))
        assert User.objects.get(pk=luke.pk).has_perm("knowledge.view_collection")


def test_ldaps_and_a_required_group(client, ldap_settings):
    with override_settings(KB_LDAP_SERVER_URI=ldap_settings.ldaps_url, KB_LDAP_START_TLS=False,
                           KB_LDAP_REQUIRE_GROUP="cn=HR,ou=groups,dc=example,dc=com"):
        assert sign_in(client, "lena", "pw-lena")[1].username == "lena"
        client.logout()
        assert sign_in(client, "luke", "pw-luke")[1] is None  # not in HR


def test_a_server_certificate_from_another_ca_is_refused(client, ldap_settings, tmp_path):
    other_ca = make_certificates(tmp_path)[0]
    with override_settings(KB_LDAP_TLS_CA_FILE=str(other_ca)):
        assert sign_in(client, "lena", "pw-lena")[1] is None
    with override_settings(KB_LDAP_TLS_CA_FILE=str(other_ca), KB_LDAP_TLS_REQUIRE_CERT="never"):
        assert sign_in(client, "lena", "pw-lena")[1].username == "lena"


def test_a_wrong_service_password_refuses_sign_in_without_an_error_page(client, ldap_settings):
    with override_settings(KB_LDAP_BIND_PASSWORD="wrong"):
        response, user = sign_in(client, "lena", "pw-lena")
    assert user is None and response.status_code == 200


def test_without_a_group_search_groups_stay_as_the_admin_set_them(client, ldap_settings):
    with override_settings(KB_LDAP_GROUP_SEARCH_BASE=""):
        _, luke = sign_in(client, "luke", "pw-luke")
        assert list(luke.groups.all()) == []
        luke.groups.add(Group.objects.create(name="Given in the admin"))
        client.logout()
        _, luke = sign_in(client, "luke", "pw-luke")
    assert list(luke.groups.values_list("name", flat=True)) == ["Given in the admin"]
