from django import forms
from django.contrib import admin, messages
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from .models import SensitiveWord


class AddSeveralForm(forms.Form):
    terms = forms.CharField(label=_("Words or phrases, one a line"), widget=forms.Textarea(attrs={"rows": 12, "cols": 60}))
    note = forms.CharField(label=_("Note"), required=False, max_length=300)


@admin.register(SensitiveWord)
class SensitiveWordAdmin(admin.ModelAdmin):
    list_display = ("term", "language", "enabled", "note", "created_at")
    list_editable = ("enabled",)
    list_filter = ("language", "enabled")
    search_fields = ("term", "note")
    change_list_template = "admin/guardrails/sensitiveword/change_list.html"

    def get_urls(self):
        view = self.admin_site.admin_view(self.add_several)
        return [path("add-several/", view, name="guardrails_sensitiveword_add_several"), *super().get_urls()]

    def add_several(self, request):
        """Paste a list (English and Chinese mixed): one term a line, duplicates skipped."""
        if not self.has_add_permission(request):
            from django.core.exceptions import PermissionDenied

            raise PermissionDenied
        form = AddSeveralForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            added = 0
            for line in form.cleaned_data["terms"].splitlines():
                term = " ".join(line.split())[:200]
                if term and not SensitiveWord.objects.filter(term__iexact=term).exists():
                    SensitiveWord.objects.create(term=term, note=form.cleaned_data["note"])
                    added += 1
            messages.success(request, _("%(count)s word(s) added.") % {"count": added})
            return redirect(reverse("admin:guardrails_sensitiveword_changelist"))
        context = {**self.admin_site.each_context(request), "form": form, "opts": self.model._meta,
                   "title": _("Add several sensitive words")}
        return render(request, "admin/guardrails/sensitiveword/add_several.html", context)
