from django.contrib.auth import urls as auth_urls
from django.urls import path

from . import oidc, views

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("oidc/login/", oidc.OIDCLoginView.as_view(), name="oidc_authentication_init"),
    path("oidc/callback/", oidc.OIDCCallbackView.as_view(), name=oidc.CALLBACK_URL_NAME),
    # Django's password change and reset pages, as before.
    *(p for p in auth_urls.urlpatterns if p.name not in ("login", "logout")),
]
