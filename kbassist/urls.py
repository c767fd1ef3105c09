from django.contrib import admin
from django.urls import include, path

from kbassist.accounts.views import LogoutView, admin_login

urlpatterns = [
    # The admin logs out through the site's logout (which ends a single sign-on session too), and
    # signs in on the site's login page when single sign-on is on.
    path("admin/login/", admin_login),
    path("admin/logout/", LogoutView.as_view()),
    path("admin/", admin.site.urls),
    path("accounts/", include("kbassist.accounts.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("curation/", include("kbassist.curation.urls")),
    path("", include("kbassist.knowledge.urls")),
    path("", include("kbassist.chat.urls")),
    # API for other programs: keys page, /v1/ (OpenAI-compatible), chat bots; /api/v1/ (REST)
    path("", include("kbassist.api.urls")),
    path("", include("kbassist.api.rest_urls")),
    # Health and metrics for load balancers and Prometheus: /healthz, /readyz, /metrics (kbassist/health)
    path("", include("kbassist.health.urls")),
]
