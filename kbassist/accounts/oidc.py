"""OpenID Connect sign-in: the authorization-code flow with PKCE (S256) and a nonce, on
mozilla-django-oidc, with the provider's endpoints read from its discovery document.

Every setting comes from ``KB_OIDC_*`` (``oidc_setting`` maps mozilla-django-oidc's names
onto them). The ID token's signature (the provider's JWKS), issuer, audience, expiry and
nonce are checked; users are found by the provider's stable ``sub`` (``ExternalIdentity``),
created on first sign-in, and their groups synced from ``KB_OIDC_GROUPS_CLAIM`` each time.
"""

from __future__ import annotations

import logging
import re

import jwt
import requests
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import SuspiciousOperation
from django.db import transaction
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.generic import View
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.utils import import_from_settings
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from .discovery import DiscoveryError, provider_metadata, verify_ssl
from .groups import sync_groups
from .models import ExternalIdentity

log = logging.getLogger("kbassist.accounts")

CALLBACK_URL_NAME = "oidc_authentication_callback"
_ENDPOINTS = {
    "OIDC_OP_AUTHORIZATION_ENDPOINT": "authorization_endpoint",
    "OIDC_OP_TOKEN_ENDPOINT": "token_endpoint",
    "OIDC_OP_USER_ENDPOINT": "userinfo_endpoint",
    "OIDC_OP_JWKS_ENDPOINT": "jwks_uri",
}


def oidc_enabled() -> bool:
    return bool(settings.KB_OIDC_DISCOVERY_URL and settings.KB_OIDC_CLIENT_ID)


def provider_name() -> str:
    return settings.KB_OIDC_PROVIDER_NAME


def oidc_setting(attr, *default):
    """mozilla-django-oidc's settings, answered from ``KB_OIDC_*`` and the discovery document."""
    if attr in _ENDPOINTS:
        return provider_metadata()[_ENDPOINTS[attr]]
    fixed = {
        "OIDC_RP_CLIENT_ID": settings.KB_OIDC_CLIENT_ID,
        "OIDC_RP_CLIENT_SECRET": settings.KB_OIDC_CLIENT_SECRET,
        "OIDC_RP_SCOPES": settings.KB_OIDC_SCOPES,
        "OIDC_RP_SIGN_ALGO": settings.KB_OIDC_SIGN_ALGO,
        "OIDC_RP_IDP_SIGN_KEY": None,
        "OIDC_USE_PKCE": True,
        "OIDC_PKCE_CODE_CHALLENGE_METHOD": "S256",
        "OIDC_USE_NONCE": True,
        "OIDC_STORE_ID_TOKEN": True,  # the id_token_hint of the provider's logout
        "OIDC_STORE_ACCESS_TOKEN": False,
        "OIDC_CREATE_USER": True,
        "OIDC_VERIFY_SSL": verify_ssl(),
        "OIDC_TIMEOUT": settings.KB_OIDC_TIMEOUT,
        "OIDC_AUTHENTICATION_CALLBACK_URL": CALLBACK_URL_NAME,
        "OIDC_TOKEN_USE_BASIC_AUTH": settings.KB_OIDC_TOKEN_BASIC_AUTH,
        "OIDC_ALLOW_UNSECURED_JWT": False,
    }
    if attr in fixed:
        return fixed[attr]
    return import_from_settings(attr, *default)


def claim_values(claims: dict, path: str) -> list[str] | None:
    """The values of a (dotted: ``realm_access.roles``) claim as a list of strings; None when
    the claim is absent."""
    value = claims
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    if value is None:
        return None
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)):
        return None
    return [str(item) for item in value if item not in (None, "")]


def group_names(claims: dict) -> list[str]:
    """Django group names from the group claim: Keycloak's leading '/' dropped, and names
    mapped through ``KB_OIDC_GROUP_MAP`` (e.g. Azure AD group object ids to names)."""
    values = claim_values(claims, settings.KB_OIDC_GROUPS_CLAIM)
    if values is None:
        # Fail closed: a sign-in without the claim leaves the user in no directory group.
        log.warning("the ID token and userinfo carry no %r claim: no directory groups", settings.KB_OIDC_GROUPS_CLAIM)
        return []
    mapping = settings.KB_OIDC_GROUP_MAP
    return [mapping.get(value, value.lstrip("/") or value) for value in values]


def _fail(request, message):
    """Remember why a sign-in was refused, for the login page."""
    if request is not None:
        request.kb_sso_error = message


class OIDCBackend(OIDCAuthenticationBackend):
    get_settings = staticmethod(oidc_setting)

    def __init__(self, *args, **kwargs):
        # Nothing is fetched here: Django builds every backend for every password sign-in,
        # and that must work while the provider is unreachable.
        self.UserModel = get_user_model()

    OIDC_OP_TOKEN_ENDPOINT = property(lambda self: oidc_setting("OIDC_OP_TOKEN_ENDPOINT"))
    OIDC_OP_USER_ENDPOINT = property(lambda self: oidc_setting("OIDC_OP_USER_ENDPOINT"))
    OIDC_OP_JWKS_ENDPOINT = property(lambda self: oidc_setting("OIDC_OP_JWKS_ENDPOINT"))
    OIDC_RP_CLIENT_ID = property(lambda self: settings.KB_OIDC_CLIENT_ID)
    OIDC_RP_CLIENT_SECRET = property(lambda self: settings.KB_OIDC_CLIENT_SECRET)
    OIDC_RP_SIGN_ALGO = property(lambda self: settings.KB_OIDC_SIGN_ALGO)
    OIDC_RP_IDP_SIGN_KEY = None

    def authenticate(self, request, **kwargs):
        # Only the callback view's call (code, state, nonce) is ours; a username and password
        # are for the other backends.
        if request is None or "nonce" not in kwargs or kwargs.get("username") or kwargs.get("password"):
            return None
        if not oidc_enabled():
            return None
        try:
            return super().authenticate(request, **kwargs)
        except (requests.RequestException, DiscoveryError, jwt.PyJWTError, SuspiciousOperation) as exc:
            log.warning("OpenID Connect sign-in failed: %s", exc)
            if not getattr(request, "kb_sso_error", None):
                _fail(request, _("Sign-in with %(provider)s failed: the provider's answer could not be verified.")
                      % {"provider": provider_name()})
            return None

    def verify_token(self, token, **kwargs):
        payload = super().verify_token(token, **kwargs)
        issuer = provider_metadata()["issuer"]
        if payload.get("iss") != issuer:
            raise SuspiciousOperation(f"ID token issuer {payload.get('iss')!r} is not {issuer!r}")
        audience = payload.get("aud")
        audiences = [audience] if isinstance(audience, str) else list(audience or [])
        if settings.KB_OIDC_CLIENT_ID not in audiences:
            raise SuspiciousOperation("ID token is not meant for this client")
        return payload

    def get_userinfo(self, access_token, id_token, payload):
        """The userinfo claims over the ID token's (some providers put groups in one only);
        both must be about the same ``sub``."""
        info = super().get_userinfo(access_token, id_token, payload)
        if info.get("sub") != payload.get("sub"):
            raise SuspiciousOperation("userinfo is about another subject than the ID token")
        return {**payload, **info}

    def verify_claims(self, claims):
        if not claims.get("sub"):
            return False
        domains = {d.lower().lstrip("@") for d in settings.KB_OIDC_ALLOWED_DOMAINS if d}
        if domains:
            email = (claims.get("email") or "").lower()
            domain = email.rpartition("@")[2]
            if not email or claims.get("email_verified") is False or domain not in domains:
                log.warning("OpenID Connect sign-in refused: %r is not in an allowed domain", email)
                _fail(self.request, _("Sign-in refused: %(email)s is not an address of an allowed domain.")
                      % {"email": email or _("(no e-mail address)")})
                return False
        return True

    def filter_users_by_claims(self, claims):
        issuer = provider_metadata()["issuer"]
        linked = ExternalIdentity.objects.filter(issuer=issuer, subject=claims["sub"]).values_list("user_id", flat=True)
        users = self.UserModel.objects.filter(pk__in=list(linked))
        if users or not settings.KB_OIDC_LINK_BY_EMAIL:
            return users
        # First sign-in through this provider: an existing account with the same verified
        # e-mail address, not yet linked to any provider, becomes this identity's account.
        email = claims.get("email")
        if not email or claims.get("email_verified") is False:
            return users
        return self.UserModel.objects.filter(email__iexact=email, external_identities__isnull=True)

    def get_username(self, claims):
        base = ""
        for claim in (settings.KB_OIDC_USERNAME_CLAIM, "preferred_username", "email", "sub"):
            base = str(claims.get(claim) or "").strip()
            if base:
                break
        base = re.sub(r"[^\w.@+-]", "_", base)[:140] or "user"
        username, n = base, 1
        while self.UserModel.objects.filter(username__iexact=username).exists():
            n += 1
            username = f"{base}-{n}"
        return username

    @transaction.atomic
    def create_user(self, claims):
        user = self.UserModel.objects.create_user(self.get_username(claims), email=claims.get("email") or "")
        log.info("OpenID Connect: created user %s for %s", user.get_username(), claims["sub"])
        return self.update_user(user, claims)

    @transaction.atomic
    def update_user(self, user, claims):
        issuer = provider_metadata()["issuer"]
        identity, _created = ExternalIdentity.objects.get_or_create(
            issuer=issuer, subject=claims["sub"], defaults={"user": user}
        )
        identity.last_login_at = timezone.now()
        identity.save(update_fields=["last_login_at"])
        changed = []
        for field, claim in (("first_name", "given_name"), ("last_name", "family_name"), ("email", "email")):
            value = (claims.get(claim) or "")[: user._meta.get_field(field).max_length]
            if value and getattr(user, field) != value:
                setattr(user, field, value)
                changed.append(field)
        if changed:
            user.save(update_fields=changed)
        if settings.KB_OIDC_GROUPS_CLAIM:  # empty: groups are managed in the admin
            sync_groups(user, group_names(claims), source="oidc")
        return user


class OIDCLoginView(OIDCAuthenticationRequestView):
    """``/accounts/oidc/login/``: redirect to the provider's authorization endpoint."""

    get_settings = staticmethod(oidc_setting)

    def __init__(self, **kwargs):
        View.__init__(self, **kwargs)  # the endpoint is looked up when a sign-in starts

    def get(self, request):
        if not oidc_enabled():
            return redirect(settings.LOGIN_URL)
        try:
            self.OIDC_OP_AUTH_ENDPOINT = oidc_setting("OIDC_OP_AUTHORIZATION_ENDPOINT")
        except DiscoveryError as exc:
            log.error("OpenID Connect provider unreachable: %s", exc)
            messages.error(request, _("%(provider)s cannot be reached right now. Try again in a moment.")
                           % {"provider": provider_name()})
            return redirect(settings.LOGIN_URL)
        self.OIDC_RP_CLIENT_ID = settings.KB_OIDC_CLIENT_ID
        return super().get(request)


class OIDCCallbackView(OIDCAuthenticationCallbackView):
    """``/accounts/oidc/callback/``: the provider sends the browser back here with a code."""

    get_settings = staticmethod(oidc_setting)

    @property
    def failure_url(self):
        return reverse("login")

    def login_failure(self):
        message = getattr(self.request, "kb_sso_error", None)
        if not message:
            if self.request.GET.get("error"):
                log.warning("OpenID Connect provider answered %s: %s", self.request.GET.get("error"),
                            self.request.GET.get("error_description", ""))
            message = _("Sign-in with %(provider)s did not succeed. Try again, or ask your administrator.") % {
                "provider": provider_name()
            }
        messages.error(self.request, message)
        return redirect(self.failure_url)


def end_session_url(request, id_token: str) -> str | None:
    """Where to send the browser to end the provider's session too, when the provider
    advertises an ``end_session_endpoint`` (RP-initiated logout); None otherwise."""
    try:
        endpoint = provider_metadata().get("end_session_endpoint")
    except DiscoveryError:
        return None
    if not endpoint:
        return None
    from urllib.parse import urlencode

    params = {
        "id_token_hint": id_token,
        "client_id": settings.KB_OIDC_CLIENT_ID,
        "post_logout_redirect_uri": request.build_absolute_uri(reverse("login")),
    }
    return endpoint + ("&" if "?" in endpoint else "?") + urlencode(params)
