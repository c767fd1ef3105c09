"""``AuditedAdmin``: a ModelAdmin mixin that records every add, change and delete made
through that admin (including bulk deletes) as an audit event, besides Django's own log.

A model admin using it says which kind each action is (``audit_kinds``) and how to describe
an object (``audit_subjects``: what it concerns; ``audit_state``: what it holds now).
"""

from __future__ import annotations

from . import record
from .subjects import Subject


class AuditedAdmin:
    audit_kinds: dict[str, str] = {}  # "added" | "changed" | "deleted" -> kind

    def audit_subjects(self, obj) -> list[Subject]:
        return []

    def audit_state(self, obj) -> dict:
        return {}

    def audit_kind(self, obj, action: str, fields: list[str]) -> str:
        return self.audit_kinds[action]

    def audit_change(self, request, obj, action: str, fields: list[str] = ()):
        fields = list(fields)
        record(
            self.audit_kind(obj, action, fields),
            request=request,
            summary=f"{action} {obj._meta.verbose_name} “{obj}”",
            subjects=self.audit_subjects(obj),
            action=action,
            model=obj._meta.label_lower,
            object_id=obj.pk,
            object=str(obj)[:300],
            fields=fields,
            **self.audit_state(obj),
        )

    # Django calls save_model() with the form, then log_change() with the same object.
    def save_model(self, request, obj, form, change):
        obj._audit_fields = list(form.changed_data)
        super().save_model(request, obj, form, change)

    def log_addition(self, request, obj, message):
        entry = super().log_addition(request, obj, message)
        self.audit_change(request, obj, "added", getattr(obj, "_audit_fields", []))
        return entry

    def log_change(self, request, obj, message):
        entry = super().log_change(request, obj, message)
        self.audit_change(request, obj, "changed", getattr(obj, "_audit_fields", []))
        return entry

    def log_deletions(self, request, queryset):
        # Called before the objects are deleted: they can still be described.
        entries = super().log_deletions(request, queryset)
        for obj in queryset:
            self.audit_change(request, obj, "deleted")
        return entries
