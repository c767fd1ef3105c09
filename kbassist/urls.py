from django.contrib import admin
from django.urls import include, path

from kbassist.accounts.views import admin_login

urlpatterns = [
    path("admin/login/", admin_login),
    path("admin/", admin.site.urls),
    path("accounts/", include("kbassist.accounts.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("kbassist.knowledge.urls")),
    path("", include("kbassist.chat.urls")),
]
