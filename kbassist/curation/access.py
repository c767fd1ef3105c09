"""Who may curate, and what: the cockpit is open to staff and to members of the "Curators"
group; each curator sees the questions and documents of the collections they may edit
(``Collection.objects.editable_by``: their editor groups), superusers those of every
collection."""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied

from kbassist.knowledge.models import Collection

CURATORS_GROUP = "Curators"


def is_curator(user) -> bool:
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return user.is_superuser or user.is_staff or user.groups.filter(name=CURATORS_GROUP).exists()


def curated_collections(user):
    """The collections whose questions and documents ``user`` sees in the cockpit."""
    if not is_curator(user):
        return Collection.objects.none()
    return Collection.objects.editable_by(user)


def sees_everything(user) -> bool:
    """Also the questions that concern no collection (asked by someone who may search none)."""
    return bool(user and user.is_authenticated and user.is_active and user.is_superuser)


def curator_required(view):
    @login_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not is_curator(request.user):
            raise PermissionDenied("Curators only.")
        return view(request, *args, **kwargs)

    return wrapped
