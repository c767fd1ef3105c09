"""The REST API, /api/v1/, outside the "api" namespace: django-ninja names its own URLs
(namespace "api-v1"); any other path under /api/v1/ is a JSON 404."""

from django.urls import path, re_path

from . import rest

urlpatterns = [
    path("api/v1/", rest.api.urls),
    re_path(r"^api/v1/(?P<rest>.*)$", rest.not_found_view),
]
