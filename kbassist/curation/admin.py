"""The answers in the Django admin, for curators: refused and disliked answers, answers whose
unsupported claims verification removed, and a way to make an answer an FAQ entry (which
then comes first as a curated answer). Each curator sees the answers about the collections
they may edit (superusers, all). The cockpit (``/curation/``) is the fuller view."""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from kbassist.chat.models import Feedback, Message

from .access import sees_everything
from .faqs import promote
from .models import Gap
from .scope import answers_in_scope


class FeedbackFilter(admin.SimpleListFilter):
    title = _("feedback")
    parameter_name = "feedback"

    def lookups(self, request, model_admin):
        return [("down", _("thumbs down")), ("up", _("thumbs up")), ("none", _("no feedback"))]

    def queryset(self, request, queryset):
        if self.value() == "down":
            return queryset.filter(feedback__helpful=False)
        if self.value() == "up":
            return queryset.filter(feedback__helpful=True)
        if self.value() == "none":
            return queryset.filter(feedback__isnull=True)
        return queryset


class ClaimsRemovedFilter(admin.SimpleListFilter):
    title = _("verification")
    parameter_name = "verified"

    def lookups(self, request, model_admin):
        return [("removed", _("unsupported claims removed")), ("clean", _("every claim supported"))]

    def queryset(self, request, queryset):
        if self.value() == "removed":
            return queryset.filter(verification__claims_removed__gt=0)
        if self.value() == "clean":
            return queryset.filter(verification__claims_removed=0, kind=Message.Kind.GENERATED)
        return queryset


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ["question", "short_answer", "kind", "status", "claims_removed", "rating", "user", "created_at"]
    list_filter = ["kind", FeedbackFilter, ClaimsRemovedFilter, "status", "created_at"]
    search_fields = ["content", "search_query"]
    readonly_fields = [f.name for f in Message._meta.fields]
    actions = ["make_faq"]
    list_select_related = ["conversation__user", "feedback"]

    def get_queryset(self, request):
        answers = super().get_queryset(request).filter(role=Message.Role.ASSISTANT)
        return answers if sees_everything(request.user) else answers_in_scope(answers, request.user)

    def has_add_permission(self, request):
        return False

    @admin.display(description=_("question"))
    def question(self, obj):
        asked = obj.replies_to()
        return asked.content[:120] if asked else "—"

    @admin.display(description=_("unsupported claims removed"))
    def claims_removed(self, obj):
        return obj.verification.get("claims_removed", "")

    @admin.display(description=_("answer"))
    def short_answer(self, obj):
        return obj.content[:160]

    @admin.display(description=_("feedback"))
    def rating(self, obj):
        feedback = getattr(obj, "feedback", None)
        if feedback is None:
            return ""
        return ("👍 " if feedback.helpful else "👎 ") + feedback.comment[:80]

    @admin.display(description=_("user"))
    def user(self, obj):
        return obj.conversation.user

    def has_promote_permission(self, request):
        return request.user.has_perm("knowledge.add_faq")

    @admin.action(description=_("Turn the selected answers into FAQ entries"), permissions=["promote"])
    def make_faq(self, request, queryset):
        made = sum(promote(message, request.user) is not None for message in queryset)
        self.message_user(request, _("%d FAQ entries created; edit them under FAQs.") % made, messages.SUCCESS)


@admin.register(Feedback)
class FeedbackAdmin(admin.ModelAdmin):
    list_display = ["message", "helpful", "comment", "user", "created_at"]
    list_filter = ["helpful"]
    search_fields = ["comment", "message__content"]

    def get_queryset(self, request):
        feedback = super().get_queryset(request)
        if sees_everything(request.user):
            return feedback
        return feedback.filter(message__in=answers_in_scope(Message.objects.all(), request.user))


@admin.register(Gap)
class GapAdmin(admin.ModelAdmin):
    list_display = ["representative", "status", "created_at", "updated_at", "faq"]
    list_filter = ["status"]
    search_fields = ["representative"]
    exclude = ["centroid"]
