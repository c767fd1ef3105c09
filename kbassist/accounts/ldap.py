"""LDAP / Active Directory sign-in on django-auth-ldap, configured by ``KB_LDAP_*``
(``conf.ldap_settings``); the user's directory groups are mirrored onto Django groups with
the same rule as OpenID Connect (``groups.sync_groups``)."""

from __future__ import annotations

import logging

import ldap
from django.conf import settings
from django_auth_ldap import backend

from .conf import ldap_settings
from .groups import sync_groups

log = logging.getLogger("kbassist.accounts")


class LDAPBackend(backend.LDAPBackend):
    @property
    def default_settings(self):
        return ldap_settings(settings)

    def authenticate(self, request, username=None, password=None, **kwargs):
        if not settings.KB_LDAP_SERVER_URI or username is None or password is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)

    def authenticate_ldap_user(self, ldap_user, password):
        user = super().authenticate_ldap_user(ldap_user, password)
        if user is None:
            return None
        if not self.settings.GROUP_SEARCH:
            return user  # no group search configured: groups are managed in the admin
        try:
            names = ldap_user.group_names
        except ldap.LDAPError as exc:
            # Without the groups the user's access cannot be known: refuse the sign-in.
            log.error("LDAP group search for %s failed: %s", user.get_username(), exc)
            return None
        sync_groups(user, names, source="ldap")
        return user
