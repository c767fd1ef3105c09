"""The pieces of sign-in that need no server: backend order, the group rule, claims,
discovery's checks."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User
from django.test import override_settings

from kbassist.accounts.conf import authentication_backends
from kbassist.accounts.discovery import DiscoveryError, discovery_url, forget, provider_metadata
from kbassist.accounts.groups import sync_groups
from kbassist.accounts.oidc import claim_values, group_names
from kbassist.accounts.signals import groups_synced


def test_backend_order():
    assert authentication_backends() == ["axes.backends.AxesStandaloneBackend",
                                         "django.contrib.auth.backends.ModelBackend"]
    assert authentication_backends(local=False, ldap=True, oidc=True) == [
        "axes.backends.AxesStandaloneBackend", "kbassist.accounts.ldap.LDAPBackend",
        "kbassist.accounts.oidc.OIDCBackend", "kbassist.accounts.backends.PermissionsBackend",
    ]


@pytest.mark.django_db
def test_sync_adds_removes_and_keeps_local_groups():
    user = User.objects.create_user("dana")
    user.groups.add(Group.objects.create(name="Old"), Group.objects.create(name="Editors"))
    sent = []
    groups_synced.connect(lambda **kw: sent.append(kw), weak=False, dispatch_uid="t")
    try:
        with override_settings(KB_SSO_LOCAL_GROUPS=["Editors"]):
            added, removed = sync_groups(user, ["HR", " Staff ", "", "Editors"], source="oidc")
    finally:
        groups_synced.disconnect(dispatch_uid="t")
    assert (added, removed) == (["HR", "Staff"], ["Old"])
    assert sorted(user.groups.values_list("name", flat=True)) == ["Editors", "HR", "Staff"]
    assert sent[0]["sender"] == "oidc" and sent[0]["removed"] == ["Old"]
    assert sync_groups(user, ["HR", "Staff"], source="ldap") == ([], ["Editors"])  # no longer local


def test_claims():
    claims = {"groups": ["/HR", "IT"], "realm_access": {"roles": ["admin"]}, "team": "Finance"}
    assert claim_values(claims, "realm_access.roles") == ["admin"]
    assert claim_values(claims, "team") == ["Finance"]
    assert claim_values(claims, "missing") is None and claim_values(claims, "groups.x") is None
    assert group_names(claims) == ["HR", "IT"]
    with override_settings(KB_OIDC_GROUPS_CLAIM="absent"):
        assert group_names(claims) == []  # fail closed: no claim, no directory groups


def test_discovery_urls():
    assert discovery_url("https://idp.example.com/realms/acme/") == (
        "https://idp.example.com/realms/acme/.well-known/openid-configuration")
    full = "https://login.example.com/tenant/v2.0/.well-known/openid-configuration"
    assert discovery_url(full) == full


def test_discovery_checks_the_issuer(provider):
    assert provider_metadata(provider.issuer)["issuer"] == provider.issuer
    forget()
    with pytest.raises(DiscoveryError, match="names the issuer"):
        # The same document reached under another name than the issuer it names.
        provider_metadata(provider.issuer.replace("127.0.0.1", "localhost"))
    with pytest.raises(DiscoveryError, match="cannot read"):
        provider_metadata(provider.url + "/nothing-here")


def test_a_missing_slapd_skips_or_fails_when_servers_are_required(monkeypatch):
    from tests.accounts import servers

    monkeypatch.setattr(servers, "SLAPD", "/nonexistent/slapd")
    monkeypatch.setenv("KB_REQUIRE_SERVERS", "1")
    with pytest.raises(pytest.fail.Exception, match="slapd is not installed"):
        with servers.slapd_server(""):
            pass
    monkeypatch.delenv("KB_REQUIRE_SERVERS")
    with pytest.raises(pytest.skip.Exception):
        with servers.slapd_server(""):
            pass
