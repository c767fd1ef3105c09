"""The audit trail in the admin: read-only for everyone (superusers included), filtered by
user, kind, date, collection and document, and exported as CSV exactly as filtered.

"Who could have seen salary-bands.md last month?" is the document filter (chunks of it shown
or cited in answers, the file or a passage opened, the document changed) with the month
picked in the date bar or the date range.
"""

from __future__ import annotations

import csv
import json
from datetime import datetime, time, timedelta

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import PermissionDenied
from django.db.models import Max
from django.http import HttpResponseBadRequest, StreamingHttpResponse
from django.urls import path
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext_lazy as _

from . import Kind, record
from .models import AuditEvent, AuditSubject
from .subjects import Role


class InputFilter(admin.SimpleListFilter):
    """A filter typed into a text box instead of picked from a list."""

    template = "admin/audit/input_filter.html"
    placeholder = ""

    def lookups(self, request, model_admin):
        return [("", "")]  # one dummy choice, so that the filter is shown

    def choices(self, changelist):
        others = []
        for key, values in changelist.get_filters_params().items():
            if key != self.parameter_name:
                others.extend((key, v) for v in (values if isinstance(values, list) else [values]))
        yield {
            "selected": self.value() is None,
            "query_string": changelist.get_query_string(remove=[self.parameter_name]),
            "query_parts": others,
            "placeholder": self.placeholder,
        }


class UserFilter(InputFilter):
    title = _("user")
    parameter_name = "user"
    placeholder = _("username")

    def queryset(self, request, queryset):
        value = (self.value() or "").strip()
        if not value:
            return queryset
        return queryset.filter(username__iexact=value)


class DocumentFilter(InputFilter):
    title = _("document (who could have seen it)")
    parameter_name = "document"
    placeholder = _("file name, title or id")

    def queryset(self, request, queryset):
        value = (self.value() or "").strip()
        return queryset.seen_document(value) if value else queryset


class KindFilter(admin.SimpleListFilter):
    title = _("kind")
    parameter_name = "kind"

    def lookups(self, request, model_admin):
        kinds = AuditEvent.objects.order_by().values_list("kind", flat=True).distinct()
        return sorted(((k, Kind.LABELS.get(k, k)) for k in kinds), key=lambda kv: str(kv[1]))

    def queryset(self, request, queryset):
        return queryset.filter(kind=self.value()) if self.value() else queryset


class CollectionFilter(admin.SimpleListFilter):
    title = _("collection")
    parameter_name = "collection"

    def lookups(self, request, model_admin):
        # Each collection once, under the latest name it was recorded with (grouped in SQL).
        latest = AuditSubject.objects.exclude(collection_id=None).values("collection_id").annotate(last=Max("id")).values("last")
        names = AuditSubject.objects.filter(id__in=latest).values_list("collection_id", "collection_name")
        return sorted(((str(cid), name or f"#{cid}") for cid, name in names), key=lambda kv: kv[1].lower())

    def queryset(self, request, queryset):
        if self.value() and self.value().isdigit():
            return queryset.about_collection(int(self.value()))
        return queryset


class DateRangeFilter(admin.ListFilter):
    """From and to (inclusive) calendar days, in the site's time zone."""

    title = _("date range")
    template = "admin/audit/date_range_filter.html"
    parameters = ("since", "until")

    def __init__(self, request, params, model, model_admin):
        super().__init__(request, params, model, model_admin)
        self.values = {}
        for name in self.parameters:
            if name in params:
                value = params.pop(name)
                value = value[-1] if isinstance(value, list) else value
                if value:
                    self.values[name] = value
        for name, value in self.values.items():
            if parse_date(value) is None:
                raise IncorrectLookupParameters(f"{name}: not a date (YYYY-MM-DD): {value!r}")

    def has_output(self):
        return True

    def expected_parameters(self):
        return list(self.parameters)

    def queryset(self, request, queryset):
        tz = timezone.get_current_timezone()
        if "since" in self.values:
            queryset = queryset.filter(created_at__gte=datetime.combine(parse_date(self.values["since"]), time.min, tz))
        if "until" in self.values:
            end = datetime.combine(parse_date(self.values["until"]) + timedelta(days=1), time.min, tz)
            queryset = queryset.filter(created_at__lt=end)
        return queryset

    def choices(self, changelist):
        others = []
        for key, values in changelist.get_filters_params().items():
            if key not in self.parameters:
                others.extend((key, v) for v in (values if isinstance(values, list) else [values]))
        yield {
            "selected": not self.values,
            "query_string": changelist.get_query_string(remove=list(self.parameters)),
            "query_parts": others,
            "since": self.values.get("since", ""),
            "until": self.values.get("until", ""),
        }


class SubjectInline(admin.TabularInline):
    model = AuditSubject
    fields = ["role", "collection_name", "collection_id", "document_name", "document_id", "faq_id", "chunk_id"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["created_at", "kind_display", "username", "address", "summary", "collections", "documents"]
    list_filter = [UserFilter, KindFilter, DateRangeFilter, CollectionFilter, DocumentFilter]
    date_hierarchy = "created_at"
    search_fields = ["summary", "username"]
    fields = ["created_at", "kind", "username", "user", "address", "summary", "pretty_details"]
    readonly_fields = fields
    inlines = [SubjectInline]
    actions = None
    list_per_page = 100
    change_list_template = "admin/audit/auditevent/change_list.html"

    # Append-only: nobody adds, changes or deletes events here, not even a superuser.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("subjects")

    def get_urls(self):
        return [
            path("export/", self.admin_site.admin_view(self.export_view), name="audit_auditevent_export"),
        ] + super().get_urls()

    @admin.display(description=_("kind"), ordering="kind")
    def kind_display(self, obj):
        return obj.kind_label

    @admin.display(description=_("collections"))
    def collections(self, obj):
        return ", ".join(collection_names(obj))

    @admin.display(description=_("documents seen"))
    def documents(self, obj):
        return ", ".join(document_names(obj))[:300]

    @admin.display(description=_("details"))
    def pretty_details(self, obj):
        from django.utils.html import format_html

        return format_html("<pre style='white-space:pre-wrap'>{}</pre>", json.dumps(obj.details, ensure_ascii=False, indent=2))

    def export_view(self, request):
        """The filtered list as CSV (the same query string as the list; every page)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            changelist = self.get_changelist_instance(request)
        except IncorrectLookupParameters as exc:
            return HttpResponseBadRequest(str(exc))
        events = changelist.get_queryset(request)
        filters = {k: v for k, v in request.GET.items() if k not in ("p", "o")}
        record(Kind.AUDIT_EXPORT, request=request, summary=f"audit CSV exported ({events.count()} events)", filters=filters)
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        response = StreamingHttpResponse(csv_lines(events), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.csv"'
        return response


HEADER = ["time", "kind", "user", "address", "what", "collections", "documents seen",
          "chunks retrieved", "chunks shown", "chunks cited", "details"]


def collection_names(event) -> list[str]:
    return list(dict.fromkeys(s.collection_name for s in event.subjects.all() if s.collection_name))


def document_names(event) -> list[str]:
    return list(dict.fromkeys(s.document_name for s in event.subjects.all() if s.role in Role.SEEN and s.document_name))


def _cell(value) -> str:
    """A CSV cell a spreadsheet shows as text: one starting with = + - @ would be a formula."""
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


class _Echo:
    def write(self, value):
        return value


def csv_lines(events):
    writer = csv.writer(_Echo())
    yield "\ufeff"  # so that spreadsheets read UTF-8 (Chinese questions)
    yield writer.writerow(HEADER)
    for event in events.iterator(chunk_size=500):
        details = event.details or {}
        yield writer.writerow([_cell(v) for v in (
            timezone.localtime(event.created_at).isoformat(timespec="seconds"),
            event.kind,
            event.username,
            event.address or "",
            event.summary,
            "; ".join(collection_names(event)),
            "; ".join(document_names(event)),
            " ".join(map(str, details.get("retrieved", []))),
            " ".join(map(str, details.get("shown", []))),
            " ".join(map(str, details.get("cited", []))),
            json.dumps(details, ensure_ascii=False, sort_keys=True),
        )])
