"""A sign-in locked after too many failures (django-axes) is an audit event, beside the failed
sign-ins that led to it."""

from axes.signals import user_locked_out
from django.dispatch import receiver

from kbassist import audit


@receiver(user_locked_out, dispatch_uid="kbassist.accounts.locked_out")
def locked_out(sender, request=None, username=None, ip_address=None, **kwargs):
    name = str(username or "")[:150]
    audit.record(audit.Kind.LOCKOUT, user=None, request=request, address=ip_address, summary=name, username=name)
