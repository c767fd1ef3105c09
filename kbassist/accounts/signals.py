from django.dispatch import Signal

# Sent after a sign-in changed a user's groups: sender=the source ("oidc" or "ldap"),
# user=..., added=[group names], removed=[group names]. For the audit trail.
groups_synced = Signal()
