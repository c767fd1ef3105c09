"""API keys from the command line, for scripted set-ups.

    python manage.py api_key create USERNAME [--name NAME] [--expires-days N]   # prints the key, once
    python manage.py api_key list [--user USERNAME] [--all]
    python manage.py api_key revoke ID_OR_PREFIX
"""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q
from django.utils import timezone

from kbassist.api.models import APIKey


class Command(BaseCommand):
    help = "Create, list and revoke API keys. A key acts as its user and sees exactly that user's collections."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="Make a key for USERNAME and print it (only the hash is stored).")
        create.add_argument("username")
        create.add_argument("--name", default="", help="What the key is for.")
        create.add_argument("--expires-days", type=int, help="The key stops working after this many days.")
        listing = sub.add_parser("list", help="List keys (not their secrets).")
        listing.add_argument("--user", help="Only this user's keys.")
        listing.add_argument("--all", action="store_true", help="Also revoked and expired keys.")
        revoke = sub.add_parser("revoke", help="Revoke a key, given its id or the start of the key.")
        revoke.add_argument("key")

    def handle(self, *args, **opts):
        getattr(self, "_" + opts["action"])(opts)

    def _create(self, opts):
        user = get_user_model().objects.filter(username=opts["username"]).first()
        if user is None:
            raise CommandError(f"No user named {opts['username']!r}.")
        if not user.is_active:
            raise CommandError(f"{user} is inactive: a key for them would not work.")
        if opts["expires_days"] is not None and opts["expires_days"] < 1:
            raise CommandError("--expires-days must be at least 1.")
        expires = timezone.now() + timedelta(days=opts["expires_days"]) if opts["expires_days"] else None
        key, secret = APIKey.objects.create_key(user, opts["name"], expires_at=expires)
        self.stderr.write(f"Key {key.pk} for {user} (\"{key.name}\"). The key is printed once; only its hash is kept:")
        self.stdout.write(secret)

    def _list(self, opts):
        keys = APIKey.objects.select_related("user", "created_by").order_by("pk")
        if opts["user"]:
            keys = keys.filter(user__username=opts["user"])
        if not opts["all"]:
            keys = keys & APIKey.objects.active()
        rows = [("id", "key", "user", "name", "state", "created", "expires", "last used", "uses")]
        for k in keys:
            rows.append((str(k.pk), k.prefix + "…", k.user.get_username(), k.name or "-", k.state,
                         f"{k.created_at:%Y-%m-%d}", f"{k.expires_at:%Y-%m-%d}" if k.expires_at else "-",
                         f"{k.last_used_at:%Y-%m-%d %H:%M}" if k.last_used_at else "-", str(k.use_count)))
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        for row in rows:
            self.stdout.write("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())

    def _revoke(self, opts):
        given = opts["key"].rstrip("…")
        query = Q(pk=int(given)) if given.isdigit() else Q(prefix__startswith=given[:20]) if len(given) >= 6 else None
        if query is None:
            raise CommandError("Give the key's id or at least its first 6 characters (e.g. kb_AbC1).")
        keys = list(APIKey.objects.filter(query))
        if not keys:
            raise CommandError(f"No key {opts['key']!r}.")
        if len(keys) > 1:
            raise CommandError(f"{len(keys)} keys start with {given!r}: give more of it, or the id.")
        key = keys[0]
        if key.revoked:
            self.stdout.write(f"Key {key.pk} ({key}) was already revoked.")
            return
        key.revoke()
        self.stdout.write(f"Revoked key {key.pk} ({key}) of {key.user}.")
