"""The login page (password form, "Sign in with <provider>", lockout message), logout (ends
the provider's session too when it can), and the admin's login sending people here."""

from __future__ import annotations

import math
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import auth
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views import View

from .oidc import end_session_url, oidc_enabled, provider_name


def password_login_enabled() -> bool:
    """The username/password form is shown for local accounts and for LDAP."""
    return bool(settings.KB_LOCAL_LOGIN or settings.KB_LDAP_SERVER_URI)


def sign_in_context(request) -> dict:
    context = {"password_login": password_login_enabled(), "sso": None}
    if oidc_enabled():
        url = reverse("oidc_authentication_init")
        next_url = request.POST.get("next") or request.GET.get("next")
        if next_url:
            url += "?" + urlencode({"next": next_url})
        context["sso"] = {"name": provider_name(), "url": url}
    return context


def lockout_minutes() -> int:
    cooloff = settings.AXES_COOLOFF_TIME
    return max(1, math.ceil(cooloff.total_seconds() / 60)) if cooloff else 0


class LoginView(auth_views.LoginView):
    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(sign_in_context(self.request))
        return context

    def post(self, request, *args, **kwargs):
        if not password_login_enabled():
            context = self.get_context_data(form=self.get_form_class()(request))
            context["password_disabled"] = True
            return self.render_to_response(context, status=403)
        return super().post(request, *args, **kwargs)


def locked_out(request, response=None, credentials=None):
    """django-axes' answer to a locked-out user+address: the login page, with the reason
    and how long the lock lasts (HTTP 429)."""
    context = {
        "form": AuthenticationForm(request),
        "next": request.POST.get("next") or request.GET.get("next") or "",
        "locked_out": True,
        "lockout_minutes": lockout_minutes(),
        "failure_limit": settings.AXES_FAILURE_LIMIT,
        **sign_in_context(request),
    }
    return render(request, "registration/login.html", context, status=429)


class LogoutView(View):
    """End the local session; when the user signed in through OpenID Connect and the
    provider advertises an ``end_session_endpoint``, end the provider's session as well."""

    http_method_names = ["post", "options"]

    def post(self, request):
        id_token = request.session.get("oidc_id_token")
        target = end_session_url(request, id_token) if id_token and oidc_enabled() else None
        auth.logout(request)
        return HttpResponseRedirect(target or reverse(settings.LOGOUT_REDIRECT_URL))


def admin_login(request, extra_context=None):
    """The admin's own login page knows only passwords: with single sign-on configured, or
    local passwords off, staff sign in on the site's login page instead."""
    from django.contrib import admin

    if oidc_enabled() or not settings.KB_LOCAL_LOGIN:
        next_url = request.GET.get("next") or reverse("admin:index")
        return redirect(reverse("login") + "?" + urlencode({"next": next_url}))
    return admin.site.login(request, extra_context)
