"""Create the first admin account if there is none, without a hard-coded password.

The password comes from KB_ADMIN_PASSWORD, or is generated and printed once.
"""

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create an admin account if no superuser exists yet."

    def add_arguments(self, parser):
        parser.add_argument("--username", default=settings.KB_ADMIN_USERNAME)

    def handle(self, *args, **opts):
        User = get_user_model()
        if User.objects.filter(is_superuser=True).exists():
            return
        password = settings.KB_ADMIN_PASSWORD or secrets.token_urlsafe(12)
        User.objects.create_superuser(opts["username"], email="", password=password)
        self.stdout.write(self.style.SUCCESS("Created admin account"))
        self.stdout.write(f"  username: {opts['username']}")
        if settings.KB_ADMIN_PASSWORD:
            self.stdout.write("  password: (from KB_ADMIN_PASSWORD)")
        else:
            self.stdout.write(f"  password: {password}   <- shown only this once; change it in the admin")
