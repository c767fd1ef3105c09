"""Which authentication backends are on, and the django-auth-ldap settings, computed from the
``KB_*`` settings. Importable without Django being set up (``kbassist/settings.py`` uses it)."""

from __future__ import annotations

AXES_BACKEND = "axes.backends.AxesStandaloneBackend"
MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"
PERMISSIONS_BACKEND = "kbassist.accounts.backends.PermissionsBackend"
LDAP_BACKEND = "kbassist.accounts.ldap.LDAPBackend"
OIDC_BACKEND = "kbassist.accounts.oidc.OIDCBackend"


def authentication_backends(*, local: bool = True, ldap: bool = False, oidc: bool = False) -> list[str]:
    """The backends, in the order Django tries them. django-axes comes first: it refuses a
    locked-out user+address before any password is checked. Without local passwords a
    backend that only answers permission checks stands in for ``ModelBackend``, so group
    and user permissions keep working for directory users."""
    backends = [AXES_BACKEND]
    if ldap:
        backends.append(LDAP_BACKEND)
    if oidc:
        backends.append(OIDC_BACKEND)
    backends.append(MODEL_BACKEND if local else PERMISSIONS_BACKEND)
    return backends


GROUP_TYPES = {
    # KB_LDAP_GROUP_TYPE: (django_auth_ldap.config class, default KB_LDAP_GROUP_FILTER)
    "groupOfNames": ("GroupOfNamesType", "(objectClass=groupOfNames)"),
    "nestedGroupOfNames": ("NestedGroupOfNamesType", "(objectClass=groupOfNames)"),
    "groupOfUniqueNames": ("GroupOfUniqueNamesType", "(objectClass=groupOfUniqueNames)"),
    "posixGroup": ("PosixGroupType", "(objectClass=posixGroup)"),
    "activeDirectory": ("NestedActiveDirectoryGroupType", "(objectClass=group)"),
}
TLS_REQUIRE_CERT = ("demand", "hard", "try", "allow", "never")


def ldap_settings(s) -> dict:
    """django-auth-ldap's settings (names without the ``AUTH_LDAP_`` prefix) from the
    ``KB_LDAP_*`` settings of ``s`` (``django.conf.settings`` or any object with them).

    An ``AUTH_LDAP_*`` setting, where one is defined, still wins over what is built here.
    """
    import ldap
    from django_auth_ldap import config

    if s.KB_LDAP_GROUP_TYPE not in GROUP_TYPES:
        raise ValueError(f"KB_LDAP_GROUP_TYPE must be one of {', '.join(GROUP_TYPES)}, not {s.KB_LDAP_GROUP_TYPE!r}")
    group_class, default_group_filter = GROUP_TYPES[s.KB_LDAP_GROUP_TYPE]

    options = {
        ldap.OPT_REFERRALS: 0,  # Active Directory's referrals would need a second bind
        ldap.OPT_NETWORK_TIMEOUT: s.KB_LDAP_TIMEOUT,
        ldap.OPT_TIMEOUT: s.KB_LDAP_TIMEOUT,
    }
    tls = {}
    if s.KB_LDAP_TLS_REQUIRE_CERT:
        if s.KB_LDAP_TLS_REQUIRE_CERT not in TLS_REQUIRE_CERT:
            raise ValueError(f"KB_LDAP_TLS_REQUIRE_CERT must be one of {', '.join(TLS_REQUIRE_CERT)}")
        tls[ldap.OPT_X_TLS_REQUIRE_CERT] = getattr(ldap, f"OPT_X_TLS_{s.KB_LDAP_TLS_REQUIRE_CERT.upper()}")
    if s.KB_LDAP_TLS_CA_FILE:
        tls[ldap.OPT_X_TLS_CACERTFILE] = s.KB_LDAP_TLS_CA_FILE
    if tls:
        # A new TLS context last, so that the options above apply to this connection.
        options.update(tls)
        options[ldap.OPT_X_TLS_NEWCTX] = 0

    conf = {
        "SERVER_URI": s.KB_LDAP_SERVER_URI,
        "BIND_DN": s.KB_LDAP_BIND_DN,
        "BIND_PASSWORD": s.KB_LDAP_BIND_PASSWORD,
        "START_TLS": s.KB_LDAP_START_TLS,
        "CONNECTION_OPTIONS": options,
        "USER_ATTR_MAP": dict(s.KB_LDAP_USER_ATTR_MAP),
        "ALWAYS_UPDATE_USER": True,
        # Group membership is mirrored by kbassist.accounts.groups.sync_groups (the same
        # rule as for OpenID Connect), not by django-auth-ldap's own MIRROR_GROUPS.
        "MIRROR_GROUPS": None,
        "FIND_GROUP_PERMS": False,
        "CACHE_TIMEOUT": 0,
    }
    if s.KB_LDAP_USER_DN_TEMPLATE:
        conf["USER_DN_TEMPLATE"] = s.KB_LDAP_USER_DN_TEMPLATE
    else:
        conf["USER_SEARCH"] = config.LDAPSearch(s.KB_LDAP_USER_SEARCH_BASE, ldap.SCOPE_SUBTREE, s.KB_LDAP_USER_FILTER)
    if s.KB_LDAP_GROUP_SEARCH_BASE:
        conf["GROUP_SEARCH"] = config.LDAPSearch(
            s.KB_LDAP_GROUP_SEARCH_BASE, ldap.SCOPE_SUBTREE, s.KB_LDAP_GROUP_FILTER or default_group_filter
        )
        conf["GROUP_TYPE"] = getattr(config, group_class)()
    if s.KB_LDAP_REQUIRE_GROUP:
        conf["REQUIRE_GROUP"] = s.KB_LDAP_REQUIRE_GROUP
    return conf
