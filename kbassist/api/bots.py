"""Chat-bot callbacks: a WeCom (企业微信) self-built app and a DingTalk (钉钉) robot ask the
knowledge base for the people who write to them.

Each platform signs its callbacks, and each is checked as its documentation says:

- **DingTalk** robot (HTTP mode): headers ``timestamp`` (ms) and ``sign`` =
  Base64(HMAC-SHA256(key=AppSecret, "<timestamp>\\n<AppSecret>")).
- **WeCom** app callback: query ``msg_signature``, ``timestamp``, ``nonce``; the signature is
  SHA1 of the sorted concatenation of the token, timestamp, nonce and the encrypted message;
  the message is AES-256-CBC encrypted with the EncodingAESKey (IV: the key's first 16 bytes,
  PKCS#7 padding to 32 bytes) around ``random(16) + length(4, big-endian) + message + CorpID``.
  A GET with ``echostr`` verifies the URL when the callback is configured.

A request without a signature, with a wrong one, with a timestamp outside
``KB_BOT_MAX_SKEW_S`` seconds, or the same signed request a second time (a replay) is refused
(403). The sender is mapped to a user in the admin (``BotSender``); an unmapped sender gets a
polite refusal. The answer comes from ``answer()`` as that user, in a background thread (both
platforms expect the callback to return within seconds), and is sent back in the platform's
Markdown with numbered source links: DingTalk through the message's ``sessionWebhook``,
WeCom through the app's ``message/send`` API.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import struct
import threading
import time
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import timedelta

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from django.conf import settings
from django.db import IntegrityError, close_old_connections, transaction
from django.http import HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from kbassist.chat.streaming import MAX_QUESTION, AskRequest, request_events
from kbassist.chat.turn import sources_listed

from .access import ApiError, admit
from .models import BotSender, SeenCallback

log = logging.getLogger(__name__)

NOT_MAPPED = (
    "Sorry, I don't know who you are on this knowledge base yet, so I can't answer. "
    "Please ask an administrator to link your account. (抱歉，您的账号尚未关联知识库用户，请联系管理员。)"
)
TEXT_ONLY = "Please send your question as text. (请用文字提问。)"
BUSY = "Too many questions right now; please try again in a minute. (提问太频繁，请稍后再试。)"
FAILED = "Sorry, something went wrong while answering. (抱歉，回答时出错了。)"


class Rejected(Exception):
    """A callback that is not provably from the platform, or a replay of one."""


# --- the replay guard -------------------------------------------------------------------------------------


def check_fresh(timestamp_s: float):
    if abs(time.time() - timestamp_s) > settings.KB_BOT_MAX_SKEW_S:
        raise Rejected("timestamp outside the allowed window")


def check_first_time(platform: str, signature: str):
    """Refuse a signature seen before (kept as long as its timestamp could still pass)."""
    SeenCallback.objects.filter(created_at__lt=timezone.now() - timedelta(seconds=2 * settings.KB_BOT_MAX_SKEW_S)).delete()
    try:
        with transaction.atomic():
            SeenCallback.objects.create(platform=platform, signature=signature[:200])
    except IntegrityError:
        raise Rejected("replayed request") from None


def _rejected(platform: str, exc: Rejected) -> HttpResponse:
    log.warning("%s callback refused: %s", platform, exc)
    return HttpResponse(f"Refused: {exc}.", status=403, content_type="text/plain")


# --- answering, in the background -----------------------------------------------------------------------


def bot_markdown(done: dict, base_url: str) -> str:
    """The answer in chat-app Markdown: its text, then its cited sources as numbered links."""
    text = done["answer"].strip()
    shown = sources_listed(done["citations"], done["kind"])
    if shown:
        lines = []
        for c in shown:
            label = c.get("title") or "source"
            if c.get("location"):
                label += f", {c['location']}"
            lines.append(f"[{c['n']}] [{label}]({base_url}{c['url']})" if c.get("url") else f"[{c['n']}] {label}")
        text += "\n\n**Sources**\n\n" + "\n\n".join(lines)
    return text


def answer_in_background(user, question: str, base_url: str, reply: Callable[[str], None]) -> threading.Thread:
    """Answer ``question`` as ``user`` in a thread, then ``reply(markdown)``."""

    def run():
        close_old_connections()
        try:
            done = None
            for event in request_events(user, AskRequest(question=question[:MAX_QUESTION], via="chat bot"), threading.Event()):
                if event["type"] == "done":
                    done = event
            text = bot_markdown(done, base_url) if done else FAILED
        except Exception:
            log.exception("chat-bot answer failed")
            text = FAILED
        finally:
            close_old_connections()
        _send_safely(reply, text)

    thread = threading.Thread(target=run, name="kbassist-bot-answer", daemon=True)
    thread.start()
    return thread


def post_json(url: str, payload: dict, timeout: float = 10) -> dict:
    request = urllib.request.Request(url, data=json.dumps(payload, ensure_ascii=False).encode("utf-8"),
                                     headers={"Content-Type": "application/json; charset=utf-8"})
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - http(s) only, checked by callers
        return json.loads(response.read() or b"{}")


def _send_safely(reply: Callable[[str], None], text: str):
    try:
        reply(text)
    except Exception:
        log.exception("chat-bot reply could not be sent")


def _say(reply: Callable[[str], None], text: str):
    """A short reply, sent in the background like an answer (the callback returns at once)."""
    threading.Thread(target=_send_safely, args=(reply, text), name="kbassist-bot-reply", daemon=True).start()


def _sender_user(platform: str, sender_id: str):
    mapping = BotSender.objects.select_related("user").filter(platform=platform, sender_id=sender_id).first()
    if mapping is None or not mapping.user.is_active:
        return None
    return mapping.user


def _handle(request, platform: str, sender_id: str, question: str, reply: Callable[[str], None]):
    """Who asks, whether they may, then the answer in the background (or a polite word now)."""
    user = _sender_user(platform, sender_id) if sender_id else None
    if user is None:
        log.info("%s sender %r is not mapped to a user", platform, sender_id)
        return _say(reply, NOT_MAPPED)
    if not question:
        return _say(reply, TEXT_ONLY)
    try:
        admit(request, user, scope="ask")
    except ApiError:
        return _say(reply, BUSY)
    answer_in_background(user, question, request.build_absolute_uri("/")[:-1], reply)


# --- DingTalk -------------------------------------------------------------------------------------------------


def dingtalk_sign(timestamp: str, secret: str) -> str:
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp}\n{secret}".encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def verify_dingtalk(timestamp: str, sign: str, secret: str):
    if not timestamp or not sign:
        raise Rejected("unsigned request")
    try:
        check_fresh(int(timestamp) / 1000)
    except ValueError:
        raise Rejected("malformed timestamp") from None
    if not hmac.compare_digest(dingtalk_sign(timestamp, secret), sign):
        raise Rejected("wrong signature")
    check_first_time("dingtalk", sign)


def _dingtalk_webhook_allowed(url: str, expires_ms) -> bool:
    parts = urllib.parse.urlsplit(url or "")
    if parts.scheme not in ("https", "http") or parts.hostname not in settings.KB_DINGTALK_WEBHOOK_HOSTS:
        return False
    return not expires_ms or int(expires_ms) > time.time() * 1000


@csrf_exempt
def dingtalk(request):
    secret = settings.KB_DINGTALK_APP_SECRET
    if not secret:
        return HttpResponse("The DingTalk robot is not configured (KB_DINGTALK_APP_SECRET).", status=404, content_type="text/plain")
    if request.method != "POST":
        return HttpResponse(status=405)
    try:
        verify_dingtalk(request.headers.get("timestamp", ""), request.headers.get("sign", ""), secret)
    except Rejected as exc:
        return _rejected("DingTalk", exc)
    try:
        message = json.loads(request.body)
    except ValueError:
        return JsonResponse({"error": "The body must be JSON."}, status=400)
    webhook = message.get("sessionWebhook", "")
    if not _dingtalk_webhook_allowed(webhook, message.get("sessionWebhookExpiredTime")):
        log.warning("DingTalk sessionWebhook refused: %r", webhook)
        return JsonResponse({"error": "No usable sessionWebhook to reply to."}, status=400)
    question = (message.get("text") or {}).get("content", "").strip() if message.get("msgtype") == "text" else ""
    sender = message.get("senderStaffId") or message.get("senderId") or ""

    def reply(markdown: str):
        post_json(webhook, {"msgtype": "markdown", "markdown": {"title": (question or "KB Assist")[:30], "text": markdown}})

    _handle(request, BotSender.Platform.DINGTALK, sender, question, reply)
    return JsonResponse({})  # the answer follows through the sessionWebhook


# --- WeCom ----------------------------------------------------------------------------------------------------


class WeComCrypto:
    """WeCom's callback signature and message encryption (its WXBizMsgCrypt scheme)."""

    BLOCK = 32

    def __init__(self, token: str, encoding_aes_key: str, corp_id: str):
        self.token = token
        self.key = base64.b64decode(encoding_aes_key + "=")
        if len(self.key) != 32:
            raise ValueError("KB_WECOM_AES_KEY must be the 43-character EncodingAESKey")
        self.corp_id = corp_id

    def signature(self, timestamp: str, nonce: str, encrypted: str) -> str:
        return hashlib.sha1("".join(sorted([self.token, timestamp, nonce, encrypted])).encode("utf-8")).hexdigest()

    def _cipher(self):
        return Cipher(algorithms.AES(self.key), modes.CBC(self.key[:16]))

    def encrypt(self, text: str, random16: bytes | None = None) -> str:
        body = text.encode("utf-8")
        plain = (random16 or os.urandom(16)) + struct.pack(">I", len(body)) + body + self.corp_id.encode("utf-8")
        pad = self.BLOCK - len(plain) % self.BLOCK
        encryptor = self._cipher().encryptor()
        return base64.b64encode(encryptor.update(plain + bytes([pad]) * pad) + encryptor.finalize()).decode("ascii")

    def decrypt(self, encrypted: str) -> str:
        try:
            decryptor = self._cipher().decryptor()
            plain = decryptor.update(base64.b64decode(encrypted)) + decryptor.finalize()
            pad = plain[-1]
            if not 1 <= pad <= self.BLOCK:
                raise ValueError("bad padding")
            content = plain[16:-pad]
            (length,) = struct.unpack(">I", content[:4])
            message, receiver = content[4 : 4 + length], content[4 + length :]
        except (ValueError, struct.error, TypeError) as exc:
            raise Rejected(f"cannot decrypt: {exc}") from None
        if receiver.decode("utf-8", "replace") != self.corp_id:
            raise Rejected("message for another CorpID")
        return message.decode("utf-8")

    def verify(self, signature: str, timestamp: str, nonce: str, encrypted: str):
        if not (signature and timestamp and nonce and encrypted):
            raise Rejected("unsigned request")
        try:
            check_fresh(int(timestamp))
        except ValueError:
            raise Rejected("malformed timestamp") from None
        if not hmac.compare_digest(self.signature(timestamp, nonce, encrypted), signature):
            raise Rejected("wrong signature")


def parse_xml(data: bytes) -> dict[str, str]:
    """The child elements of a small, flat WeCom XML message (no DTDs or entities accepted)."""
    if len(data) > 1_000_000 or b"<!DOCTYPE" in data.upper() or b"<!ENTITY" in data.upper():
        raise Rejected("unexpected XML")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise Rejected(f"malformed XML: {exc}") from None
    return {child.tag: (child.text or "") for child in root}


def wecom_crypto() -> WeComCrypto | None:
    if not (settings.KB_WECOM_TOKEN and settings.KB_WECOM_AES_KEY and settings.KB_WECOM_CORP_ID):
        return None
    return WeComCrypto(settings.KB_WECOM_TOKEN, settings.KB_WECOM_AES_KEY, settings.KB_WECOM_CORP_ID)


_token = {"value": "", "until": 0.0}
_token_lock = threading.Lock()


def wecom_access_token() -> str:
    """The app's access token (``gettoken``), reused until shortly before it expires."""
    with _token_lock:
        if _token["value"] and time.time() < _token["until"]:
            return _token["value"]
        query = urllib.parse.urlencode({"corpid": settings.KB_WECOM_CORP_ID, "corpsecret": settings.KB_WECOM_SECRET})
        with urllib.request.urlopen(f"{settings.KB_WECOM_API_BASE}/cgi-bin/gettoken?{query}", timeout=10) as response:  # noqa: S310
            data = json.loads(response.read())
        if data.get("errcode"):
            raise RuntimeError(f"WeCom gettoken failed: {data}")
        _token.update(value=data["access_token"], until=time.time() + int(data.get("expires_in", 7200)) - 300)
        return _token["value"]


def wecom_send(user_id: str, markdown: str):
    url = f"{settings.KB_WECOM_API_BASE}/cgi-bin/message/send?access_token={urllib.parse.quote(wecom_access_token())}"
    result = post_json(url, {"touser": user_id, "msgtype": "markdown", "agentid": int(settings.KB_WECOM_AGENT_ID or 0),
                             "markdown": {"content": markdown}})
    if result.get("errcode"):
        raise RuntimeError(f"WeCom message/send failed: {result}")


@csrf_exempt
def wecom(request):
    crypto = wecom_crypto()
    if crypto is None:
        return HttpResponse("The WeCom app is not configured (KB_WECOM_TOKEN, KB_WECOM_AES_KEY, KB_WECOM_CORP_ID).",
                            status=404, content_type="text/plain")
    signature, timestamp, nonce = (request.GET.get(k, "") for k in ("msg_signature", "timestamp", "nonce"))
    try:
        if request.method == "GET":  # URL verification when the callback is set up
            echo = request.GET.get("echostr", "")
            crypto.verify(signature, timestamp, nonce, echo)
            return HttpResponse(crypto.decrypt(echo), content_type="text/plain")
        if request.method != "POST":
            return HttpResponse(status=405)
        encrypted = parse_xml(request.body).get("Encrypt", "")
        crypto.verify(signature, timestamp, nonce, encrypted)
        message = parse_xml(crypto.decrypt(encrypted).encode("utf-8"))
        check_first_time("wecom", signature)
    except Rejected as exc:
        return _rejected("WeCom", exc)
    if message.get("MsgType") == "event":
        return HttpResponse("", content_type="text/plain")  # e.g. someone opened the app
    sender = message.get("FromUserName", "")
    question = message.get("Content", "").strip() if message.get("MsgType") == "text" else ""
    _handle(request, BotSender.Platform.WECOM, sender, question, lambda markdown: wecom_send(sender, markdown))
    return HttpResponse("", content_type="text/plain")  # no passive reply: the answer follows through message/send
