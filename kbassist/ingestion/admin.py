"""Django admin for what goes into a collection: document uploads with live ingestion
status, and FAQ entries (by hand or CSV import).

Being staff only opens the admin. Every view and action here also checks the model
permission, and a staff member sees and changes only the collections whose editor groups
they are in (``Collection.objects.editable_by``); superusers may edit every collection.
"""

import json

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from kbassist import audit
from kbassist.audit import Kind, Role
from kbassist.audit.changes import AuditedAdmin
from kbassist.knowledge.auditing import collection_subject, document_subject, faq_subject
from kbassist.knowledge.models import FAQ, Collection, Document
from kbassist.observability.heartbeat import worker_status

from .importing import FileRejected, add_files, check_size, import_faq_csv, queue_ingestion


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        kwargs.setdefault("allow_empty_file", True)  # an empty file is reported as skipped, with the others
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, (list, tuple)):
            return [single(d, initial) for d in data]
        return [single(data, initial)]


class CollectionForm(forms.Form):
    """A form whose collection choice holds only the collections the user may edit."""

    collection = forms.ModelChoiceField(Collection.objects.none())

    def __init__(self, user, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["collection"].queryset = Collection.objects.editable_by(user)


class UploadForm(CollectionForm):
    files = MultipleFileField(
        label=_("Files"), required=False,
        help_text=_("Several at once, or a .zip of files. PDF (scans too), Word, Excel, PowerPoint, HTML, Markdown, "
                    "text, CSV (an FAQ list when its header is question,answer), e-mail (.eml), images (read by OCR), "
                    "old .doc/.xls/.ppt (with LibreOffice)."),
    )
    folder = MultipleFileField(
        label=_("Or a folder"), required=False,
        widget=MultipleFileInput(attrs={"webkitdirectory": True, "directory": True}),
        help_text=_("Every file in the folder and its subfolders."),
    )

    # The folder's files' paths inside it, in the order of the files (JSON, filled in by
    # upload.js): browsers send a folder's files by name only.
    folder_paths = forms.CharField(required=False, widget=forms.HiddenInput)

    def clean(self):
        cleaned = super().clean()
        files = [f for f in cleaned.get("files") or [] if f]
        folder = [f for f in cleaned.get("folder") or [] if f]
        paths = self._paths(cleaned.get("folder_paths"), folder)
        uploads = [(f.name, f) for f in files] + list(zip(paths, folder))
        if not uploads and not self.errors:
            raise forms.ValidationError(_("Choose files, a zip of files or a folder."))
        cleaned["uploads"] = uploads
        return cleaned

    @staticmethod
    def _paths(raw, folder) -> list[str]:
        """Each folder file's path inside the folder, where the page sent one that ends with
        the file's own name; otherwise its name."""
        try:
            paths = json.loads(raw) if raw else []
        except ValueError:
            paths = []
        if not isinstance(paths, list) or len(paths) != len(folder):
            paths = [None] * len(folder)
        return [p if isinstance(p, str) and p.replace("\\", "/").rsplit("/", 1)[-1] == f.name else f.name
                for p, f in zip(paths, folder)]


class FAQImportForm(CollectionForm):
    csv_file = forms.FileField(label=_("CSV file"), help_text=_("Columns: question,answer (a header row is optional)."))


class CollectionContentAdmin(AuditedAdmin, admin.ModelAdmin):
    """Admin for what lives in a collection (documents, FAQs): besides the model permission,
    a staff member sees and changes only the collections whose editor groups they are in.
    Every add, change and delete is an audit event (``AuditedAdmin``)."""

    def get_queryset(self, request):
        return super().get_queryset(request).filter(collection__in=Collection.objects.editable_by(request.user))

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "collection":
            kwargs["queryset"] = Collection.objects.editable_by(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def may_edit(self, request, obj) -> bool:
        return obj is None or Collection.objects.editable_by(request.user).filter(pk=obj.collection_id).exists()

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and self.may_edit(request, obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and self.may_edit(request, obj)

    def audit_faq_import(self, request, collection, created, file_name: str):
        """An FAQ list imported into ``collection`` (the CSV import or an upload) is one audit event."""
        audit.record(
            Kind.FAQ_EDIT, request=request, summary=f"imported {len(created)} FAQ entries into “{collection}”",
            subjects=[collection_subject(collection)] + [faq_subject(faq, Role.CHANGED) for faq in created],
            action="imported", file_name=file_name, faq_ids=[faq.pk for faq in created],
        )

    def require(self, request, *permissions):
        """Custom views check the model permissions themselves (admin_view checks is_staff only)."""
        checks = {"add": self.has_add_permission, "change": self.has_change_permission}
        if not all(checks[p](request) for p in permissions):
            raise PermissionDenied


class DocumentForm(forms.ModelForm):
    class Meta:
        model = Document
        fields = ["collection", "title", "file"]

    def clean(self):
        cleaned = super().clean()
        upload = cleaned.get("file")
        if upload and "file" in self.changed_data and cleaned.get("collection"):
            try:
                check_size(upload, upload.name)
            except FileRejected as exc:
                raise forms.ValidationError(str(exc)) from None
            self.instance.file = upload
            self.instance.original_name = upload.name
            self.instance.fill_file_facts()
            duplicate = Document.objects.filter(collection=cleaned["collection"], sha256=self.instance.sha256)
            if self.instance.pk:
                duplicate = duplicate.exclude(pk=self.instance.pk)
            if duplicate.exists():
                raise forms.ValidationError(
                    _("This file is already in the collection as “%(title)s”.") % {"title": duplicate.first()}
                )
        return cleaned


STATUS_COLOURS = {"queued": "#777", "processing": "#1f6feb", "ready": "#1a7f37", "failed": "#cf222e", "skipped": "#9a6700"}


@admin.register(Document)
class DocumentAdmin(CollectionContentAdmin):
    form = DocumentForm
    list_display = ["__str__", "collection", "status_badge", "progress_bar", "chunk_count", "page_count", "error_short", "updated_at"]
    list_filter = ["status", "collection"]
    search_fields = ["title", "keywords", "original_name", "source_path"]
    readonly_fields = ["status", "progress", "stage", "chunk_count", "page_count", "error", "sha256", "size", "original_name", "source_path", "keywords", "created_at", "ingested_at"]
    actions = ["reingest"]
    change_list_template = "admin/knowledge/document/change_list.html"

    def get_urls(self):
        return [
            path("upload/", self.admin_site.admin_view(self.upload_view), name="knowledge_document_upload"),
        ] + super().get_urls()

    def audit_kind(self, obj, action, fields):
        if action == "added":
            return Kind.DOCUMENT_UPLOAD
        if action == "deleted":
            return Kind.DOCUMENT_DELETE
        return Kind.DOCUMENT_REPLACE if "file" in fields else Kind.DOCUMENT_CHANGE

    def audit_subjects(self, obj):
        return [document_subject(obj, Role.CHANGED)]

    def audit_state(self, obj):
        return {"file_name": obj.original_name, "sha256": obj.sha256, "size": obj.size, "collection": obj.collection.name}

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not change or "file" in form.changed_data:
            queue_ingestion(obj)

    @admin.action(description=_("Ingest the selected documents again"), permissions=["change"])
    def reingest(self, request, queryset):
        for document in queryset:
            queue_ingestion(document)
        self.message_user(request, _("%d document(s) queued.") % queryset.count())

    def changelist_view(self, request, extra_context=None):
        """The list; above it, when documents are queued and no worker has been seen lately,
        a notice saying they wait for one (the worker's heartbeat, kbassist/observability)."""
        if request.method == "GET" and self.get_queryset(request).filter(status=Document.Status.QUEUED).exists():
            if not (status := worker_status()).alive:
                self.message_user(request, status.message, level=messages.WARNING)
        return super().changelist_view(request, extra_context)

    def add_view(self, request, form_url="", extra_context=None):
        """"Add document" is the multi-file upload (files, a zip of files, or a folder)."""
        return redirect(reverse("admin:knowledge_document_upload"))

    def upload_view(self, request):
        self.require(request, "add")
        form = UploadForm(request.user, request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            uploads = form.cleaned_data["uploads"]
            outcomes = add_files(form.cleaned_data["collection"], uploads)
            counts = {kind: sum(1 for o in outcomes if o.outcome == kind) for kind in ("queued", "imported", "skipped", "failed")}
            self.message_user(
                request,
                _("%(files)d file(s): %(queued)d queued for ingestion, %(imported)d FAQ list(s) imported, "
                  "%(skipped)d skipped, %(failed)d failed. The list below shows each document's progress.")
                % {"files": len(outcomes), **counts},
                level=messages.ERROR if counts["failed"] else messages.SUCCESS,
            )
            for outcome in outcomes:
                if outcome.document is not None:
                    self.audit_change(request, outcome.document, "added")
                if outcome.faqs:
                    self.audit_faq_import(request, form.cleaned_data["collection"], outcome.faqs, outcome.name)
                if outcome.outcome in ("skipped", "failed"):
                    level = messages.WARNING if outcome.outcome == "skipped" else messages.ERROR
                    self.message_user(request, f"{outcome.outcome}: {outcome.name}: {outcome.reason}", level=level)
            return redirect(reverse("admin:knowledge_document_changelist"))
        context = {**self.admin_site.each_context(request), "form": form, "title": _("Upload documents"), "opts": self.model._meta}
        return render(request, "admin/knowledge/upload.html", context)

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, obj):
        return format_html(
            '<span class="kb-status" data-status="{}" style="color:#fff;background:{};padding:2px 8px;border-radius:9px">{}</span>',
            obj.status,
            STATUS_COLOURS.get(obj.status, "#777"),
            obj.get_status_display(),
        )

    @admin.display(description=_("progress"))
    def progress_bar(self, obj):
        stage = obj.stage if obj.status == Document.Status.PROCESSING else ""
        return format_html('<progress max="100" value="{}" title="{}%"></progress> {}%<br><small class="kb-stage">{}</small>',
                           obj.progress, obj.progress, obj.progress, stage)

    @admin.display(description=_("reason (skipped or failed)"))
    def error_short(self, obj):
        return obj.error[:160] if obj.error else ""


@admin.register(FAQ)
class FAQAdmin(CollectionContentAdmin):
    list_display = ["question", "collection", "origin", "updated_at"]
    list_filter = ["collection", "origin"]
    search_fields = ["question", "answer"]
    change_list_template = "admin/knowledge/faq/change_list.html"

    audit_kinds = dict.fromkeys(("added", "changed", "deleted"), Kind.FAQ_EDIT)

    def get_urls(self):
        return [
            path("import/", self.admin_site.admin_view(self.import_view), name="knowledge_faq_import"),
        ] + super().get_urls()

    def audit_subjects(self, obj):
        return [faq_subject(obj, Role.CHANGED)]

    def audit_state(self, obj):
        return {"question": obj.question, "answer": obj.answer, "collection": obj.collection.name}

    def import_view(self, request):
        self.require(request, "add", "change")  # an import adds entries and rewrites answers
        form = FAQImportForm(request.user, request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            try:
                result = import_faq_csv(form.cleaned_data["collection"], form.cleaned_data["csv_file"].read())
            except ValueError as exc:
                form.add_error("csv_file", str(exc))
            else:
                self.audit_faq_import(request, form.cleaned_data["collection"], result.entries, form.cleaned_data["csv_file"].name)
                self.message_user(request, _("%d FAQ entries imported and queued for indexing.") % len(result.entries))
                if result.problem:
                    self.message_user(request, result.problem, level=messages.WARNING)
                return redirect(reverse("admin:knowledge_faq_changelist"))
        context = {**self.admin_site.each_context(request), "form": form, "title": _("Import FAQs from CSV"), "opts": self.model._meta}
        return render(request, "admin/knowledge/upload.html", context)


