"""One rule for every directory: on each sign-in the user's Django groups become exactly the
directory's groups (added and removed), except the groups named in ``KB_SSO_LOCAL_GROUPS``,
which are managed in the admin and never touched by a sign-in."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import transaction

from .signals import groups_synced

log = logging.getLogger("kbassist.accounts")


def sync_groups(user, names: Iterable[str], *, source: str) -> tuple[list[str], list[str]]:
    """Make ``user``'s groups those in ``names`` (creating missing groups); return the names
    (added, removed)."""
    local = set(settings.KB_SSO_LOCAL_GROUPS)
    wanted = {name.strip()[:150] for name in names if name and name.strip()} - local
    current = {group.name: group for group in user.groups.all()}
    removed = sorted(name for name in current if name not in wanted and name not in local)
    added = sorted(wanted - set(current))
    with transaction.atomic():
        if removed:
            user.groups.remove(*(current[name] for name in removed))
        for name in added:
            user.groups.add(Group.objects.get_or_create(name=name)[0])
    if added or removed:
        log.info("%s sign-in of %s: groups added %s, removed %s", source, user.get_username(), added, removed)
        groups_synced.send(sender=source, user=user, added=added, removed=removed)
    return added, removed
