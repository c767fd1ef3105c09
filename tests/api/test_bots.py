"""Chat-bot callbacks, signed the way each platform signs them: the DingTalk robot and the WeCom
app. Unsigned, wrongly signed, stale and replayed requests are refused; a mapped sender gets
the answer (Markdown with source links) sent back to a loopback stand-in for the platform's
API; an unmapped sender gets a polite refusal. Also the refused-question webhook."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from kbassist.api.bots import WeComCrypto
from kbassist.api.models import BotSender
from kbassist.chat.models import Message

from tests.conftest import wait_until
from tests.fakes import ScriptedBackend

pytestmark = pytest.mark.django_db(transaction=True)


class Platform:
    """A loopback stand-in for the platform's side: records what it is sent."""

    def __init__(self):
        self.received: list[tuple[str, dict]] = []
        platform = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _answer(self, body: dict):
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):  # WeCom's gettoken
                platform.received.append((self.path, {}))
                self._answer({"errcode": 0, "access_token": "TOKEN-1", "expires_in": 7200})

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                platform.received.append((self.path, json.loads(self.rfile.read(length))))
                self._answer({"errcode": 0, "errmsg": "ok"})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def posts(self):
        return [(path, body) for path, body in self.received if body]


@pytest.fixture
def platform():
    fake = Platform()
    yield fake
    fake.server.shutdown()


@pytest.fixture
def scripted(backend):
    return backend(ScriptedBackend())


# --- DingTalk ------------------------------------------------------------------------------------------------

SECRET = "SECxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"


def dingtalk_headers(secret=SECRET, timestamp_ms=None):
    """As DingTalk signs: Base64(HMAC-SHA256(AppSecret, timestamp + "\\n" + AppSecret))."""
    timestamp = str(timestamp_ms if timestamp_ms is not None else int(time.time() * 1000))
    sign = base64.b64encode(hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()).decode()
    return {"timestamp": timestamp, "sign": sign}


def dingtalk_message(platform, text="How many vacation days do I get?", staff_id="manager4220"):
    return {
        "msgtype": "text", "text": {"content": text}, "msgId": "msgABC", "createAt": int(time.time() * 1000),
        "conversationType": "1", "conversationId": "cidXYZ", "senderId": "$:LWCP_v1:$abc", "senderNick": "Erin",
        "senderStaffId": staff_id, "chatbotUserId": "$:LWCP_v1:$bot", "isAdmin": False,
        "sessionWebhook": platform.url + "/robot/sendBySession?session=abc",
        "sessionWebhookExpiredTime": int(time.time() * 1000) + 3_600_000,
    }


@pytest.fixture
def dingtalk_on(settings):
    settings.KB_DINGTALK_APP_SECRET = SECRET
    settings.KB_DINGTALK_WEBHOOK_HOSTS = ["127.0.0.1"]


def post_dingtalk(client, body, headers):
    return client.post("/bots/dingtalk", json.dumps(body), content_type="application/json", headers=headers)


def test_dingtalk_answers_a_mapped_sender_through_the_session_webhook(client, dingtalk_on, platform, handbook, employee, scripted):
    BotSender.objects.create(platform="dingtalk", sender_id="manager4220", user=employee)
    response = post_dingtalk(client, dingtalk_message(platform), dingtalk_headers())
    assert response.status_code == 200 and response.json() == {}
    wait_until(lambda: platform.posts(), timeout=60, what="the answer sent to the sessionWebhook")
    path, body = platform.posts()[0]
    assert path == "/robot/sendBySession?session=abc" and body["msgtype"] == "markdown"
    text = body["markdown"]["text"]
    assert text.startswith("Full-time staff get 28 days [1].")
    assert f"[1] [Leave, Leave › Vacation](http://testserver/documents/{handbook.pk}/file)" in text
    assert Message.objects.get(role="assistant").conversation.user == employee


def test_dingtalk_refuses_unsigned_wrongly_signed_stale_and_replayed_requests(client, dingtalk_on, platform, employee, scripted):
    BotSender.objects.create(platform="dingtalk", sender_id="manager4220", user=employee)
    message = dingtalk_message(platform)
    assert post_dingtalk(client, message, {}).status_code == 403
    assert post_dingtalk(client, message, dingtalk_headers(secret="SECwrong")).status_code == 403
    stale = int((time.time() - 3600) * 1000)
    assert post_dingtalk(client, message, dingtalk_headers(timestamp_ms=stale)).status_code == 403
    headers = dingtalk_headers()
    assert post_dingtalk(client, message, headers).status_code == 200
    assert post_dingtalk(client, message, headers).status_code == 403  # the same signed request again
    wait_until(lambda: platform.posts(), timeout=60, what="the one answer")
    time.sleep(0.5)
    assert len(platform.posts()) == 1


def test_dingtalk_unmapped_sender_gets_a_polite_refusal_and_foreign_webhooks_are_refused(client, dingtalk_on, platform, handbook):
    response = post_dingtalk(client, dingtalk_message(platform, staff_id="stranger"), dingtalk_headers())
    assert response.status_code == 200
    wait_until(lambda: platform.posts(), timeout=30, what="the refusal")
    assert "ask an administrator to link your account" in platform.posts()[0][1]["markdown"]["text"]
    assert not Message.objects.exists()
    elsewhere = {**dingtalk_message(platform), "sessionWebhook": "http://10.0.0.1/robot/send"}
    assert post_dingtalk(client, elsewhere, dingtalk_headers()).status_code == 400


def test_the_bots_are_off_until_configured(client):
    assert client.post("/bots/dingtalk", "{}", content_type="application/json").status_code == 404
    assert client.get("/bots/wecom").status_code == 404


# --- WeCom ----------------------------------------------------------------------------------------------------

TOKEN, AES_KEY, CORP_ID = "QDG6eK", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "wx5823bf96d3bd56c7"


def wecom_encrypt(text: str, corp_id=CORP_ID) -> str:
    """As WeCom encrypts: AES-256-CBC, key = Base64(EncodingAESKey + "="), IV = its first 16
    bytes, over random(16) + length (4 bytes, big-endian) + message + CorpID, PKCS#7 to 32."""
    key = base64.b64decode(AES_KEY + "=")
    body = text.encode()
    plain = os.urandom(16) + struct.pack(">I", len(body)) + body + corp_id.encode()
    pad = 32 - len(plain) % 32
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(plain + bytes([pad]) * pad) + encryptor.finalize()).decode()


def wecom_signature(timestamp, nonce, encrypted, token=TOKEN):
    return hashlib.sha1("".join(sorted([token, timestamp, nonce, encrypted])).encode()).hexdigest()


@pytest.fixture
def wecom_on(settings, platform):
    from kbassist.api import bots

    settings.KB_WECOM_TOKEN, settings.KB_WECOM_AES_KEY, settings.KB_WECOM_CORP_ID = TOKEN, AES_KEY, CORP_ID
    settings.KB_WECOM_AGENT_ID, settings.KB_WECOM_SECRET, settings.KB_WECOM_API_BASE = "1000002", "app-secret", platform.url
    bots._token.update(value="", until=0)


def test_wecom_crypto_matches_the_documented_example():
    """The URL-verification example of WeCom's callback documentation."""
    crypto = WeComCrypto(TOKEN, AES_KEY, CORP_ID)
    echostr = "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ=="
    assert crypto.signature("1409659589", "263014780", echostr) == "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3"
    assert crypto.decrypt(echostr) == "1616140317555161061"
    assert crypto.decrypt(crypto.encrypt("往返 round trip")) == "往返 round trip"


def wecom_post(client, text="How many vacation days do I get?", user="zhangsan", *, timestamp=None, nonce="1372623149",
               token=TOKEN, corp_id=CORP_ID, msg_id="1234567890123456"):
    inner = (f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
             f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
             f"<Content><![CDATA[{text}]]></Content><MsgId>{msg_id}</MsgId><AgentID>1000002</AgentID></xml>")
    encrypted = wecom_encrypt(inner, corp_id)
    timestamp = timestamp or str(int(time.time()))
    query = {"msg_signature": wecom_signature(timestamp, nonce, encrypted, token), "timestamp": timestamp, "nonce": nonce}
    body = (f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><AgentID><![CDATA[1000002]]></AgentID>"
            f"<Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>")
    return lambda: client.post("/bots/wecom?" + "&".join(f"{k}={v}" for k, v in query.items()), body, content_type="text/xml")


def test_wecom_url_verification(client, wecom_on):
    timestamp, nonce = str(int(time.time())), "5555"
    echostr = wecom_encrypt("8086720134")
    query = {"msg_signature": wecom_signature(timestamp, nonce, echostr), "timestamp": timestamp, "nonce": nonce, "echostr": echostr}
    response = client.get("/bots/wecom", query)
    assert response.status_code == 200 and response.content == b"8086720134"
    assert client.get("/bots/wecom", {**query, "msg_signature": "0" * 40}).status_code == 403


def test_wecom_answers_a_mapped_member_through_the_app_api(client, wecom_on, platform, handbook, employee, scripted):
    BotSender.objects.create(platform="wecom", sender_id="zhangsan", user=employee)
    response = wecom_post(client)()
    assert response.status_code == 200 and response.content == b""
    wait_until(lambda: platform.posts(), timeout=60, what="the answer sent through message/send")
    gettoken = [p for p, body in platform.received if p.startswith("/cgi-bin/gettoken")]
    assert parse_qs(urlsplit(gettoken[0]).query) == {"corpid": [CORP_ID], "corpsecret": ["app-secret"]}
    path, body = platform.posts()[0]
    assert path == "/cgi-bin/message/send?access_token=TOKEN-1"
    assert body["touser"] == "zhangsan" and body["agentid"] == 1000002 and body["msgtype"] == "markdown"
    assert body["markdown"]["content"].startswith("Full-time staff get 28 days [1].")
    assert "(http://testserver/documents/" in body["markdown"]["content"]


def test_wecom_refuses_unsigned_wrongly_signed_stale_foreign_and_replayed_callbacks(client, wecom_on, platform, employee, scripted):
    BotSender.objects.create(platform="wecom", sender_id="zhangsan", user=employee)
    assert client.post("/bots/wecom", "<xml><Encrypt>x</Encrypt></xml>", content_type="text/xml").status_code == 403
    assert wecom_post(client, token="wrong-token")().status_code == 403
    assert wecom_post(client, timestamp=str(int(time.time()) - 3600))().status_code == 403
    assert wecom_post(client, corp_id="wwOTHERCORP")().status_code == 403
    once = wecom_post(client)
    assert once().status_code == 200
    assert once().status_code == 403  # the same signed request again
    entity = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><xml><Encrypt>&a;</Encrypt></xml>'
    assert client.post("/bots/wecom?msg_signature=x&timestamp=1&nonce=1", entity, content_type="text/xml").status_code == 403


def test_wecom_unmapped_member_gets_a_polite_refusal(client, wecom_on, platform, handbook):
    assert wecom_post(client, user="stranger")().status_code == 200
    wait_until(lambda: platform.posts(), timeout=30, what="the refusal")
    assert "ask an administrator to link your account" in platform.posts()[0][1]["markdown"]["content"]


# --- the refused-question webhook -----------------------------------------------------------------------------


def test_a_refused_question_is_posted_to_the_webhook(settings, platform, handbook, employee, scripted):
    from kbassist.chat.answering import answer

    settings.KB_REFUSAL_WEBHOOK_URL = platform.url + "/tickets"
    events = list(answer("What is the airspeed velocity of an unladen swallow?", user=employee))
    assert events[-1]["kind"] == "refused"
    wait_until(lambda: platform.posts(), timeout=30, what="the refusal webhook")
    path, body = platform.posts()[0]
    assert path == "/tickets" and body["event"] == "question_refused"
    assert body["question"] == "What is the airspeed velocity of an unladen swallow?" and body["user"] == "erin"
    assert body["message_id"] == events[-1]["message_id"]
    list(answer("How many vacation days do I get?", user=employee))  # answered: nothing posted
    time.sleep(0.5)
    assert len(platform.posts()) == 1
