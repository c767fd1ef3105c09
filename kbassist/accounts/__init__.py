"""Sign-in: local accounts, OpenID Connect (authorization code + PKCE, mozilla-django-oidc),
LDAP / Active Directory (django-auth-ldap), and login throttling (django-axes).

Directory groups become Django groups on every sign-in (``groups.sync_groups``); collection
access follows them because ``Collection.objects.visible_to(user)`` is decided by groups.
"""
