"""The permission side of ``ModelBackend`` without its password check: used in place of
``ModelBackend`` when local passwords are turned off (``KB_LOCAL_LOGIN=false``)."""

from django.contrib.auth.backends import ModelBackend


class PermissionsBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        return None
