"""API keys: how programs (scripts, the intranet portal, chat bots) act as a user.

A key is a random secret shown once when it is made; only its SHA-256 is stored. (The secret
has 256 bits of entropy, so a fast hash is as safe as a slow one and lets a request find its
key with one indexed lookup.) A key acts as its user and sees exactly that user's collections.
"""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .origins import parse_origins

KEY_PREFIX = "kb_"
SHOWN_CHARS = 8  # of the secret after the prefix, kept to tell keys apart in lists


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


class CountsUses:
    """A key that counts its uses: ``last_used_at`` and ``use_count`` fields (API and widget keys)."""

    def record_use(self):
        """One more use, now (a single UPDATE: concurrent requests each count)."""
        now = timezone.now()
        type(self)._default_manager.filter(pk=self.pk).update(last_used_at=now, use_count=F("use_count") + 1)
        self.last_used_at = now


class APIKeyQuerySet(models.QuerySet):
    def create_key(self, user, name: str = "", *, created_by=None, expires_at=None) -> tuple["APIKey", str]:
        """A new key for ``user``: returns ``(key, secret)``; the secret is not kept anywhere."""
        secret = KEY_PREFIX + secrets.token_urlsafe(32)
        key = self.create(
            user=user,
            name=name.strip()[:100],
            prefix=secret[: len(KEY_PREFIX) + SHOWN_CHARS],
            hashed=hash_secret(secret),
            created_by=created_by or user,
            expires_at=expires_at,
        )
        return key, secret

    def active(self):
        now = timezone.now()
        return self.filter(revoked_at__isnull=True).filter(models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now))

    def find(self, secret: str) -> "APIKey | None":
        """The usable key with this secret (not revoked, not expired, its user active), or None."""
        if not secret or not secret.startswith(KEY_PREFIX) or len(secret) > 200:
            return None
        key = self.active().select_related("user").filter(hashed=hash_secret(secret)).first()
        if key is None or not key.user.is_active:
            return None
        return key


class APIKey(CountsUses, models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_keys", verbose_name=_("acts as"),
        help_text=_("The key sees exactly what this user sees, and may change what this user may change."),
    )
    name = models.CharField(_("name"), max_length=100, blank=True)
    prefix = models.CharField(_("key starts with"), max_length=20, editable=False)
    hashed = models.CharField(max_length=64, unique=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False,
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True, help_text=_("Empty: never."))
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True, editable=False)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True, editable=False)
    use_count = models.PositiveBigIntegerField(_("uses"), default=0, editable=False)

    objects = APIKeyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")

    def __str__(self):
        return f"{self.name or _('unnamed key')} ({self.prefix}…)"

    @property
    def is_service_key(self) -> bool:
        """Made by someone else (an admin) to act as this user."""
        return self.created_by_id is not None and self.created_by_id != self.user_id

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @property
    def state(self) -> str:
        return "revoked" if self.revoked else "expired" if self.expired else "active"

    def revoke(self):
        if self.revoked_at is None:
            self.revoked_at = timezone.now()
            APIKey.objects.filter(pk=self.pk, revoked_at__isnull=True).update(revoked_at=self.revoked_at)



class BotSender(models.Model):
    """Who a chat-bot message comes from: a WeCom or DingTalk user id, mapped to a user of
    this site. A sender with no mapping gets a polite refusal, never an answer."""

    class Platform(models.TextChoices):
        WECOM = "wecom", _("WeCom (企业微信)")
        DINGTALK = "dingtalk", _("DingTalk (钉钉)")

    platform = models.CharField(_("platform"), max_length=10, choices=Platform.choices)
    sender_id = models.CharField(
        _("sender id"), max_length=200,
        help_text=_("WeCom: the member's UserID (FromUserName). DingTalk: the staff id (senderStaffId)."),
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="bot_senders",
                             verbose_name=_("answers as"))
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["platform", "sender_id"], name="one_user_per_bot_sender")]
        ordering = ["platform", "sender_id"]
        verbose_name = _("chat-bot sender")
        verbose_name_plural = _("chat-bot senders")

    def __str__(self):
        return f"{self.get_platform_display()}: {self.sender_id} → {self.user}"


class SeenCallback(models.Model):
    """A signed chat-bot callback already accepted, remembered while its timestamp is still
    inside the allowed window, so the same request sent again (a replay) is refused."""

    platform = models.CharField(max_length=10)
    signature = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["platform", "signature"], name="callback_seen_once")]


# --- the embeddable widget ----------------------------------------------------------------------------------

WIDGET_KEY_PREFIX = "wk_"


def new_widget_key() -> str:
    return WIDGET_KEY_PREFIX + secrets.token_urlsafe(18)


class WidgetKeyQuerySet(models.QuerySet):
    def find(self, value: str) -> "WidgetKey | None":
        """The active widget key ``value`` (its user active), or None."""
        if not value or not value.startswith(WIDGET_KEY_PREFIX) or len(value) > 100:
            return None
        key = self.filter(key=value, active=True).select_related("user").first()
        if key is None or not key.user.is_active:
            return None
        return key


class WidgetKey(CountsUses, models.Model):
    """A restricted key for the embeddable chat widget on pages whose visitors are not signed
    in here. It is *public* (it sits in the page's HTML, like a publishable key), so what it may
    do is narrow: only ask questions, only of its collections, only from a frame on one of its
    allowed origins (the browser enforces that through CSP ``frame-ancestors``), at its own rate.
    Answers are given as ``user`` (a service account, say), within its collections."""

    name = models.CharField(_("name"), max_length=100, help_text=_("Where it is used, e.g. “intranet portal, HR pages”."))
    key = models.CharField(_("key"), max_length=64, unique=True, default=new_widget_key, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="widget_keys", verbose_name=_("answers as"),
        help_text=_("Questions are answered as this user (a service account, say): never more than it may see."),
    )
    collections = models.ManyToManyField(
        "knowledge.Collection", related_name="widget_keys", verbose_name=_("collections"),
        help_text=_("The widget asks only these collections (each must be visible to the user above)."),
    )
    allowed_origins = models.TextField(
        _("allowed origins"),
        help_text=_("One per line, scheme, host and port, e.g. https://intranet.example.com. Only pages there may embed the widget."),
    )
    questions_per_minute = models.PositiveIntegerField(
        _("questions per minute"), default=30,
        help_text=_("For all visitors together (each visitor's address also counts against the usual per-person limit). 0: no limit."),
    )
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True, editable=False)
    use_count = models.PositiveBigIntegerField(_("questions"), default=0, editable=False)

    objects = WidgetKeyQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("widget key")
        verbose_name_plural = _("widget keys")

    def __str__(self):
        return self.name

    @property
    def origins(self) -> list[str]:
        return parse_origins(self.allowed_origins)[0]
