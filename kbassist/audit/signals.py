"""Sign-ins, sign-outs, failed sign-ins and group memberships, whatever path made them
(the login form, the admin, single sign-on with group sync, the shell)."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import m2m_changed
from django.dispatch import receiver

from . import Kind, record


def _backend(request):
    session = getattr(request, "session", None)
    return session.get("_auth_user_backend", "") if session is not None else ""


@receiver(user_logged_in, dispatch_uid="kbassist.audit.login")
def logged_in(sender, request, user, **kwargs):
    record(Kind.LOGIN, user=user, request=request, summary=user.get_username(), backend=_backend(request))


@receiver(user_logged_out, dispatch_uid="kbassist.audit.logout")
def logged_out(sender, request, user, **kwargs):
    if user is not None:
        record(Kind.LOGOUT, user=user, request=request, summary=user.get_username())


@receiver(user_login_failed, dispatch_uid="kbassist.audit.login_failed")
def login_failed(sender, credentials, request=None, **kwargs):
    # Only the name that was tried: never the password (Django masks it anyway).
    username = str((credentials or {}).get(get_user_model().USERNAME_FIELD) or (credentials or {}).get("username") or "")[:150]
    record(Kind.LOGIN_FAILED, user=None, request=request, summary=username, username=username)


@receiver(m2m_changed, sender=get_user_model().groups.through, dispatch_uid="kbassist.audit.groups")
def groups_changed(sender, instance, action, reverse, pk_set, **kwargs):
    """Group membership decides which collections a user may see: every change is recorded,
    with who made it (the signed-in user of the request, if any)."""
    if action == "pre_clear":
        # ``clear()`` does not say whom it removed: note it before it happens.
        members = list(instance.groups.all()) if not reverse else list(instance.user_set.all())
        instance._audit_cleared = [m.pk for m in members]
        return
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    pks = set(pk_set or ()) if action != "post_clear" else set(getattr(instance, "_audit_cleared", ()))
    if not pks:
        return
    change = "added" if action == "post_add" else "removed"
    User = get_user_model()
    if reverse:  # group.user_set.add(...)
        pairs = [(u, instance) for u in User.objects.filter(pk__in=pks)]
    else:  # user.groups.add(...)
        pairs = [(instance, g) for g in Group.objects.filter(pk__in=pks)]
    for member, group in pairs:
        record(
            Kind.GROUP_MEMBERSHIP,
            summary=f"{member.get_username()} {change} {'to' if change == 'added' else 'from'} {group.name}",
            member=member.get_username(),
            member_id=member.pk,
            group=group.name,
            group_id=group.pk,
            change=change,
        )
