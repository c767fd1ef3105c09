"""Django admin for the knowledge base: collections (who may see and edit them) and chunks.

Documents and FAQs are administered with their ingestion (``kbassist.ingestion.admin``).
"""

from django.contrib import admin
from django.db.models import Count
from django.utils.translation import gettext_lazy as _

from kbassist.audit import Kind
from kbassist.audit.changes import AuditedAdmin

from .auditing import access_state, collection_subject
from .models import Chunk, Collection


@admin.register(Collection)
class CollectionAdmin(AuditedAdmin, admin.ModelAdmin):
    # Every change, who may see or edit the collection included, is an audit event.
    audit_kinds = dict.fromkeys(("added", "changed", "deleted"), Kind.COLLECTION_CHANGE)
    list_display = ["name", "is_public", "group_list", "document_count", "faq_count"]
    filter_horizontal = ["groups", "editor_groups"]
    search_fields = ["name", "description"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(n_docs=Count("documents", distinct=True), n_faqs=Count("faqs", distinct=True))
            .prefetch_related("groups")
        )

    def audit_subjects(self, obj):
        return [collection_subject(obj)]

    def audit_state(self, obj):
        return access_state(obj)

    @admin.display(description=_("groups"))
    def group_list(self, obj):
        return ", ".join(g.name for g in obj.groups.all()) or "—"

    @admin.display(description=_("documents"), ordering="n_docs")
    def document_count(self, obj):
        return obj.n_docs

    @admin.display(description=_("FAQs"), ordering="n_faqs")
    def faq_count(self, obj):
        return obj.n_faqs


@admin.register(Chunk)
class ChunkAdmin(admin.ModelAdmin):
    list_display = ["__str__", "collection", "heading", "page", "position"]
    list_filter = ["collection"]
    search_fields = ["text", "heading"]
    exclude = ["embedding"]
    list_select_related = ["document", "faq", "collection"]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(collection__in=Collection.objects.visible_to(request.user))

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
