"""Admin for API keys: every user's keys, revoking any of them, and *service keys* (a key made
by an admin that acts as a chosen user, e.g. a bot account). Only superusers make keys here:
a key acts as its user, so making one for someone else is as strong as being them."""

from django.contrib import admin, messages
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from django import forms

from kbassist.knowledge.models import Collection

from . import widget
from .models import APIKey, BotSender, WidgetKey
from .origins import parse_origins


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


class WidgetKeyForm(forms.ModelForm):
    class Meta:
        model = WidgetKey
        fields = ["name", "user", "collections", "allowed_origins", "questions_per_minute", "active"]
        widgets = {"allowed_origins": forms.Textarea(attrs={"rows": 3, "cols": 60})}

    def clean_allowed_origins(self):
        origins, invalid = parse_origins(self.cleaned_data["allowed_origins"])
        if invalid:
            raise forms.ValidationError(
                _("Not an origin (scheme://host[:port], nothing after it): %(items)s") % {"items": ", ".join(invalid)})
        if not origins:
            raise forms.ValidationError(_("Name at least one origin."))
        return "\n".join(origins)

    def clean(self):
        data = super().clean()
        user, collections = data.get("user"), data.get("collections")
        if user is not None and collections:
            visible = set(Collection.objects.visible_to(user).values_list("pk", flat=True))
            hidden = [c.name for c in collections if c.pk not in visible]
            if hidden:
                self.add_error("collections", _("%(user)s may not see: %(names)s") % {"user": user, "names": ", ".join(hidden)})
        return data


@admin.register(WidgetKey)
class WidgetKeyAdmin(admin.ModelAdmin):
    """Keys for the embeddable widget: ask-only, bound to origins, collections and a rate.
    Only superusers make or change them (a key answers as its user)."""

    form = WidgetKeyForm
    list_display = ["name", "user", "origin_list", "questions_per_minute", "active", "last_used_at", "use_count"]
    list_filter = ["active"]
    search_fields = ["name", "key", "user__username", "allowed_origins"]
    raw_id_fields = ["user"]
    filter_horizontal = ["collections"]
    readonly_fields = ["key", "created_at", "last_used_at", "use_count"]
    change_form_template = "admin/api/widgetkey/change_form.html"  # adds the script tag to paste

    def get_fields(self, request, obj=None):
        fields = ["name", "user", "collections", "allowed_origins", "questions_per_minute", "active"]
        return fields if obj is None else fields + ["key", "created_at", "last_used_at", "use_count"]

    @admin.display(description=_("allowed origins"))
    def origin_list(self, obj):
        return ", ".join(obj.origins)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        key = self.get_object(request, object_id)
        tag = widget.script_tag(request.build_absolute_uri("/"), key) if key is not None else ""
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), "script_tag": tag})

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser
