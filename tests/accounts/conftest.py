"""Fixtures for the sign-in tests: a real slapd and a real OpenID Connect provider on
loopback (tests/accounts/servers.py), the people in them, and the app's settings for each."""

from __future__ import annotations

from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests
from django.contrib.auth.models import Group
from django.test import override_settings
from django.urls import reverse

from kbassist.accounts.conf import authentication_backends
from kbassist.accounts.discovery import forget

from tests.conftest import free_port

from .servers import directory_ldif, oidc_provider, slapd_server

# The directory: Lena (HR and Staff) and Luke (Staff).
LDAP_PEOPLE = {"lena": ("Lena", "Lindqvist", "pw-lena"), "luke": ("Luke", "Larsen", "pw-luke")}
LDAP_GROUPS = {"HR": ["lena"], "Staff": ["lena", "luke"]}

# The OpenID Connect provider: Olivia (HR and Staff) and Oscar (Staff).
OIDC_USERS = {
    "olivia": {"password": "pw-olivia", "email": "olivia@example.com", "first_name": "Olivia",
               "last_name": "Ortega", "groups": ["HR", "Staff"]},
    "oscar": {"password": "pw-oscar", "email": "oscar@example.com", "first_name": "Oscar",
              "last_name": "Olsen", "groups": ["Staff"]},
}


@pytest.fixture
def directory():
    with slapd_server(directory_ldif(LDAP_PEOPLE, LDAP_GROUPS)) as server:
        yield server


@pytest.fixture
def ldap_settings(directory):
    """The app signs in against ``directory`` (StartTLS, certificate checked), local
    passwords still on."""
    with override_settings(AUTHENTICATION_BACKENDS=authentication_backends(local=True, ldap=True),
                           **directory.settings()):
        yield directory


@pytest.fixture(scope="session")
def app_port():
    """The port the browser tests' Daphne listens on (registered with the provider)."""
    return free_port()


@pytest.fixture(scope="session")
def provider_server(app_port):
    with oidc_provider(OIDC_USERS, app_urls=["http://testserver", f"http://127.0.0.1:{app_port}"]) as provider:
        yield provider


@pytest.fixture
def provider(provider_server):
    """The provider, its users back in their original groups."""
    provider_server.reset_groups(OIDC_USERS)
    forget()
    yield provider_server
    forget()


@pytest.fixture
def oidc_settings(provider):
    with override_settings(AUTHENTICATION_BACKENDS=authentication_backends(local=True, oidc=True),
                           **provider.settings()):
        yield provider


@pytest.fixture
def hr_group(db):
    return Group.objects.get_or_create(name="HR")[0]


class ProviderBrowser:
    """What a browser does at the provider, with ``requests`` (its cookies are the provider
    session): follow the authorization request, sign in on the provider's page, and come
    back with the redirect to the app's callback."""

    def __init__(self):
        self.session = requests.Session()
        self.authorize_url = None

    def sign_in(self, authorize_url: str, username: str, password: str) -> str:
        self.authorize_url = authorize_url
        response = self.session.get(authorize_url, allow_redirects=False, timeout=30)
        assert response.status_code == 302, response.text[:500]
        location = urljoin(authorize_url, response.headers["Location"])
        if urlsplit(location).path == "/login/":
            # The provider's login page.
            self.session.get(location, timeout=30).raise_for_status()
            next_url = parse_qs(urlsplit(location).query)["next"][0]
            response = self.session.post(
                location,
                data={"username": username, "password": password, "next": next_url,
                      "csrfmiddlewaretoken": self.session.cookies["op_csrftoken"]},
                headers={"Referer": location}, allow_redirects=False, timeout=30,
            )
            assert response.status_code == 302, "the provider refused the password"
            response = self.session.get(urljoin(location, response.headers["Location"]), allow_redirects=False,
                                        timeout=30)
            assert response.status_code == 302, response.text[:500]
            location = urljoin(location, response.headers["Location"])
        return location


def oidc_sign_in(client, username: str, password: str, *, browser: ProviderBrowser | None = None, next_url=None):
    """The whole redirect flow: the app's login view, the provider, the app's callback.
    Returns (the callback's response, the authorization URL, the callback URL)."""
    browser = browser or ProviderBrowser()
    url = reverse("oidc_authentication_init") + (f"?next={next_url}" if next_url else "")
    response = client.get(url)
    assert response.status_code == 302, response.content[:300]
    authorize = response["Location"]
    callback = browser.sign_in(authorize, username, password)
    assert callback.startswith("http://testserver/accounts/oidc/callback/"), callback
    return client.get(callback.removeprefix("http://testserver")), authorize, callback
