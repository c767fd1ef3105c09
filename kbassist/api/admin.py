"""Admin for API keys: every user's keys, revoking any of them, and *service keys* (a key made
by an admin that acts as a chosen user, e.g. a bot account). Only superusers make keys here:
a key acts as its user, so making one for someone else is as strong as being them."""

from django.contrib import admin, messages
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from .models import APIKey, BotSender


class KeyState(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("active", _("active")), ("revoked", _("revoked")), ("expired", _("expired"))]

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "active":
            return APIKey.objects.active().filter(pk__in=queryset.values("pk"))
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        if self.value() == "expired":
            return queryset.filter(revoked_at__isnull=True, expires_at__lte=now)
        return queryset


@admin.register(APIKey)
class APIKeyAdmin(admin.ModelAdmin):
    list_display = ["__str__", "user", "created_by", "state_badge", "created_at", "expires_at", "last_used_at", "use_count"]
    list_filter = [KeyState, "created_at"]
    search_fields = ["name", "prefix", "user__username"]
    readonly_fields = ["prefix", "created_by", "created_at", "revoked_at", "last_used_at", "use_count"]
    autocomplete_fields = []
    actions = ["revoke_keys"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["user", "name", "expires_at"]
        return ["user", "name", "prefix", "created_by", "created_at", "expires_at", "revoked_at", "last_used_at", "use_count"]

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields + (["user"] if obj is not None else [])

    def has_add_permission(self, request):
        return request.user.is_superuser

    @admin.display(description=_("state"))
    def state_badge(self, obj):
        colour = {"active": "#1a7f37", "revoked": "#cf222e", "expired": "#777"}[obj.state]
        return format_html('<span style="color:{}">{}</span>', colour, obj.state)

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        key, secret = APIKey.objects.create_key(obj.user, obj.name, created_by=request.user, expires_at=obj.expires_at)
        obj.pk, obj.prefix = key.pk, key.prefix
        self.message_user(
            request,
            format_html(_("The new key for {}: <code>{}</code> Copy it now: it will not be shown again."), obj.user, secret),
            level=messages.WARNING,
        )

    @admin.action(description=_("Revoke the selected keys"), permissions=["change"])
    def revoke_keys(self, request, queryset):
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(request, _("%d key(s) revoked.") % count)


@admin.register(BotSender)
class BotSenderAdmin(admin.ModelAdmin):
    """Who may ask through the WeCom app and the DingTalk robot, and as which user."""

    list_display = ["platform", "sender_id", "user", "note", "created_at"]
    list_filter = ["platform"]
    search_fields = ["sender_id", "user__username", "note"]
    raw_id_fields = ["user"]

    def has_add_permission(self, request):
        return request.user.is_superuser  # a mapping lets someone ask as that user

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser
