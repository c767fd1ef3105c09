"""The "API keys" page: a user makes, names, lists and revokes their own keys.

The secret of a new key is shown once, in the response to the form that made it, and never
again (only its hash is stored).
"""

from __future__ import annotations

import datetime

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from .models import APIKey


class KeyForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100, required=True,
                           help_text=gettext_lazy("What the key is for, e.g. “intranet portal”."))
    expires = forms.DateField(label=gettext_lazy("Expires on"), required=False,
                              widget=forms.DateInput(attrs={"type": "date"}),
                              help_text=gettext_lazy("Optional. The key stops working at the start of this day."))

    def clean_expires(self):
        day = self.cleaned_data.get("expires")
        if day is not None and day <= timezone.localdate():
            raise forms.ValidationError(_("Choose a day after today."))
        return day


def expiry_of(day: datetime.date | None):
    if day is None:
        return None
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


@login_required
def keys(request):
    form = KeyForm(request.POST or None)
    secret = None
    if request.method == "POST" and form.is_valid():
        key, secret = APIKey.objects.create_key(request.user, form.cleaned_data["name"], expires_at=expiry_of(form.cleaned_data["expires"]))
        form = KeyForm()
    context = {
        "form": form,
        "secret": secret,
        "keys": request.user.api_keys.select_related("created_by"),
        "base_url": request.build_absolute_uri("/")[:-1],
    }
    response = render(request, "api/keys.html", context)
    if secret:
        response["Cache-Control"] = "no-store"  # the page with the secret is never cached
    return response


@login_required
@require_POST
def revoke(request, pk):
    key = get_object_or_404(APIKey, pk=pk, user=request.user)
    key.revoke()
    messages.success(request, _("The key “%(name)s” is revoked: it no longer works.") % {"name": key.name or key.prefix})
    return redirect(reverse("api:keys"))
