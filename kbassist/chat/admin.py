"""What curators see: questions asked, answers refused or disliked, and a way to make an
answer an FAQ entry (which then comes first as a curated answer)."""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from kbassist import audit
from kbassist.audit import Kind, Role
from kbassist.knowledge.auditing import faq_subject
from kbassist.knowledge.models import FAQ, Collection
from kbassist.text import strip_citations

from .models import CachedAnswer, Conversation, Feedback, Message



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
        return super().get_queryset(request).filter(role=Message.Role.ASSISTANT)

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
        made = 0
        editable = Collection.objects.editable_by(request.user)
        for message in queryset:
            asked = message.replies_to()
            if asked is None or message.kind == Message.Kind.REFUSED or not message.content.strip():
                continue
            names = [c.get("collection") for c in message.citations if c.get("cited")] or [c.get("collection") for c in message.citations]
            collection = editable.filter(name__in=[n for n in names if n]).first() or editable.filter(is_public=True).first()
            if collection is None:
                continue
            faq = FAQ.objects.create(
                collection=collection, question=asked.content, answer=strip_citations(message.content).strip(), origin=FAQ.Origin.CURATED
            )
            audit.record(
                Kind.FAQ_PROMOTED, request=request, summary=f"answer {message.pk} became FAQ “{faq.question[:120]}”",
                subjects=[faq_subject(faq, Role.CHANGED)], message_id=message.pk, faq_id=faq.pk,
                question=faq.question, answer=faq.answer, collection=collection.name,
            )
            made += 1
        self.message_user(request, _("%d FAQ entries created; edit them under FAQs.") % made, messages.SUCCESS)


@admin.register(Feedback)
class FeedbackAdmin(admin.ModelAdmin):
    list_display = ["message", "helpful", "comment", "user", "created_at"]
    list_filter = ["helpful"]
    search_fields = ["comment", "message__content"]


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    list_display = ["__str__", "user", "updated_at"]
    search_fields = ["title", "user__username"]


@admin.register(CachedAnswer)
class CachedAnswerAdmin(admin.ModelAdmin):
    list_display = ["question", "hits", "created_at"]
    search_fields = ["question"]
