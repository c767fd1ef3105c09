"""The audit trail: append-only events, and what each one concerns.

Events are never changed or deleted one by one: ``save()`` refuses to update, ``delete()``
refuses, and so do the querysets' ``update()`` and ``delete()``. The only way out is the
retention purge (``AuditEvent.objects.purge_before``), run by a periodic task.
"""

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from . import Kind
from .subjects import Role


class AppendOnly(Exception):
    """Audit events are written once and never changed or deleted one by one."""


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnly("audit events cannot be changed")

    def delete(self):
        raise AppendOnly("audit events are removed only by the retention purge")

    def seen_document(self, document: str):
        """Events in which the user had the content of a document: a chunk of it shown or
        cited in an answer, the file or a passage opened, or the document changed.
        ``document`` is an id, or part of its title or file name."""
        subjects = AuditSubject.objects.filter(role__in=Role.SEEN)
        if str(document).strip().isdigit():
            subjects = subjects.filter(document_id=int(document))
        else:
            subjects = subjects.filter(document_name__icontains=str(document).strip())
        return self.filter(pk__in=subjects.values("event_id"))

    def about_collection(self, collection_id: int):
        """Events that searched, showed, opened or changed anything of a collection."""
        return self.filter(pk__in=AuditSubject.objects.filter(collection_id=collection_id).values("event_id"))

    def purge_before(self, cutoff) -> int:
        """Delete the events older than ``cutoff``; the retention purge, nothing else, calls this."""
        # Plain DELETE statements: no rows are loaded, however many there are.
        AuditSubject.objects.filter(event__created_at__lt=cutoff)._raw_delete(self.db)
        return self.filter(created_at__lt=cutoff)._raw_delete(self.db)


class AuditEvent(models.Model):
    created_at = models.DateTimeField(_("when"), default=timezone.now, db_index=True, editable=False)
    kind = models.CharField(_("kind"), max_length=40, db_index=True)
    # Who: the user at the time (kept when the account is deleted: no constraint, no cascade)
    # and the name they had then.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.DO_NOTHING, db_constraint=False,
        related_name="+", verbose_name=_("user"),
    )
    username = models.CharField(_("username"), max_length=150, blank=True, db_index=True)
    address = models.GenericIPAddressField(_("address"), null=True, blank=True)
    summary = models.CharField(_("what"), max_length=300, blank=True)
    details = models.JSONField(_("details"), default=dict, blank=True, encoder=DjangoJSONEncoder)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        indexes = [models.Index(fields=["kind", "created_at"]), models.Index(fields=["username", "created_at"])]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.kind_label} {self.username or '-'}"

    @property
    def kind_label(self) -> str:
        return Kind.LABELS.get(self.kind, self.kind)

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnly("audit events cannot be changed")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnly("audit events are removed only by the retention purge")


class AuditSubject(models.Model):
    """One collection, document, FAQ or chunk an event concerns, and how (``Role``). Ids, not
    foreign keys: the trail keeps what was seen after the document is deleted or replaced."""

    event = models.ForeignKey(AuditEvent, on_delete=models.CASCADE, related_name="subjects")
    role = models.CharField(max_length=10)
    collection_id = models.PositiveBigIntegerField(null=True, blank=True, db_index=True)
    collection_name = models.CharField(max_length=200, blank=True)
    document_id = models.PositiveBigIntegerField(null=True, blank=True, db_index=True)
    document_name = models.CharField(max_length=300, blank=True)
    faq_id = models.PositiveBigIntegerField(null=True, blank=True)
    chunk_id = models.PositiveBigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        what = self.document_name or self.collection_name or f"chunk {self.chunk_id}"
        return f"{Role.LABELS.get(self.role, self.role)}: {what}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnly("audit events cannot be changed")
        super().save(*args, **kwargs)
