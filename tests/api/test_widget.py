"""The embeddable widget's rules, through Django's whole request stack: which pages may frame
it (CSP frame-ancestors), who may ask through it (a signed-in visitor or a widget key), from
where (only its own frame), what (only the key's collections) and how often. The widget in a
real browser on another origin is tests/e2e/test_widget_browser.py."""

import json

import pytest
from django.contrib.auth.models import User

from kbassist.api.admin import WidgetKeyForm
from kbassist.api.models import WidgetKey
from kbassist.api.origins import frame_ancestors, normalize_origin, parse_origins
from kbassist.chat.models import Conversation

from tests.api.test_rest import parse_sse
from tests.fakes import ScriptedBackend

pytestmark = pytest.mark.django_db
PORTAL = "https://intranet.example.com"
OWN = "http://testserver"  # Django's test client's own origin


@pytest.fixture
def widget_key(db, public_collection):
    bot = User.objects.create_user("widget-bot")
    key = WidgetKey.objects.create(name="portal", user=bot, allowed_origins=f"{PORTAL}\nhttp://127.0.0.1:8080")
    key.collections.add(public_collection)
    return key


def ask(client, payload, origin=OWN, path=None):
    """A question as the frame posts it: to the key's door when it carries a key, else the session's."""
    headers = {"Origin": origin} if origin else {}
    path = path or ("/widget/key/ask" if "key" in payload else "/widget/ask")
    return client.post(path, json.dumps(payload), content_type="application/json", headers=headers)


def test_origins_are_normalised_and_anything_else_is_named_invalid():
    assert normalize_origin("https://Intranet.Example.com:443/") == "https://intranet.example.com"
    assert normalize_origin("http://127.0.0.1:8080") == "http://127.0.0.1:8080"
    for bad in ("intranet.example.com", "https://*.example.com", "https://a.example.com/page", "ftp://a.example.com",
                "https://user@a.example.com"):
        assert normalize_origin(bad) is None, bad
    assert parse_origins("https://a.example.com, https://a.example.com/\nnope") == (["https://a.example.com"], ["nope"])
    assert frame_ancestors([]) == "frame-ancestors 'self'"


def test_a_key_s_frame_may_be_embedded_only_by_its_origins(client, widget_key):
    response = client.get("/widget/frame", {"key": widget_key.key, "collection": "handbook", "lang": "zh-CN"})
    assert response.status_code == 200
    assert response["Content-Security-Policy"] == f"frame-ancestors 'self' {PORTAL} http://127.0.0.1:8080"
    assert "X-Frame-Options" not in response  # CSP decides; the site-wide DENY would block every page
    config = json.loads(response.content.split(b'id="widget-config" type="application/json">')[1].split(b"</script>")[0])
    assert config["language"] == "zh-hans" and config["strings"]["title"] == "问知识库" and config["names"] == "Handbook"


def test_the_frame_renders_answers_with_the_chat_s_script_and_words_in_its_own_language(client, widget_key):
    page = client.get("/widget/frame", {"key": widget_key.key, "lang": "zh-CN"}).content.decode()
    # One rendering for both doors: the frame loads render.js, as the chat page does, and the
    # chat's catalogue in the frame's language, whatever the visitor's browser prefers.
    assert page.index("/widget/catalog?lang=zh-hans") < page.index("kbassist/render.js") < page.index("kbassist/widget-frame.js")
    catalog = client.get("/widget/catalog", {"lang": "zh-hans"}, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert json.dumps("标准答案")[1:-1] in catalog  # "Curated answer", a badge render.js shows
    assert "标准答案" not in client.get("/widget/catalog", {"lang": "en"}, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()


def test_a_bad_key_or_collection_gets_a_frame_that_nobody_may_embed(client, widget_key, hr_collection):
    for params in ({"key": "wk_nope"}, {"key": widget_key.key, "collection": "hr-confidential"}):
        response = client.get("/widget/frame", params)
        assert response.status_code in (403, 404) and response["Content-Security-Policy"] == "frame-ancestors 'self'"
    widget_key.active = False
    widget_key.save()
    assert client.get("/widget/frame", {"key": widget_key.key}).status_code == 403


def test_without_a_key_a_signed_in_visitor_asks_as_themselves_on_the_configured_origins(client, employee, settings):
    settings.KB_WIDGET_ORIGINS = ["https://portal.example.com/"]
    response = client.get("/widget/frame")
    assert response.status_code == 200 and b"Sign in to ask" in response.content and b'id="question"' not in response.content
    assert response["Content-Security-Policy"] == "frame-ancestors 'self' https://portal.example.com"
    client.force_login(employee)
    response = client.get("/widget/frame")
    assert b'id="question"' in response.content
    assert ask(client, {"question": ""}).status_code == 422  # signed in: past the door, to the question


def test_questions_are_taken_only_from_the_widget_s_own_frame(client, widget_key):
    # Another origin (a page elsewhere calling the endpoint), or no Origin at all, is refused,
    # even from an allowed origin: only the frame, served from here, asks.
    for origin in (PORTAL, "https://evil.example", None):
        response = ask(client, {"question": "How many vacation days do I get?", "key": widget_key.key}, origin=origin)
        assert response.status_code == 403 and response.json()["code"] == "origin"
        assert "Access-Control-Allow-Origin" not in response
    assert client.get("/widget/ask").status_code == 405


def test_behind_a_proxy_the_frame_s_origin_is_the_trusted_outside_address(client, widget_key, settings):
    # TLS ends at the proxy: the server sees http://testserver, the browser says https://kb.example.com.
    payload = {"question": "", "key": widget_key.key}
    assert ask(client, payload, origin="https://kb.example.com").status_code == 403
    settings.CSRF_TRUSTED_ORIGINS = ["https://kb.example.com"]
    assert ask(client, payload, origin="https://kb.example.com").status_code == 422  # past the origin check
    assert ask(client, {"question": "Hi?"}).status_code == 401  # no key, not signed in
    assert ask(client, {"question": "Hi?", "key": "wk_nope"}).status_code == 403


def test_each_door_reads_only_its_own_credential(client, employee, widget_key):
    # The key's door never reads the session (so it needs no CSRF token); the session's door
    # never reads a key (a key there does not sign anyone in).
    client.force_login(employee)
    assert ask(client, {"question": "Hi?"}, path="/widget/key/ask").status_code == 401
    client.logout()
    assert ask(client, {"question": "Hi?", "key": widget_key.key}, path="/widget/ask").status_code == 401


def test_the_session_s_door_needs_the_csrf_token_the_frame_carries(employee, settings):
    from django.test import Client

    settings.KB_WIDGET_ORIGINS = ["https://portal.example.com"]
    client = Client(enforce_csrf_checks=True)
    client.force_login(employee)
    frame = client.get("/widget/frame")
    token = json.loads(frame.content.split(b'id="widget-config" type="application/json">')[1].split(b"</script>")[0])["csrfToken"]
    assert ask(client, {"question": ""}).status_code == 403  # no token: Django's CSRF refusal
    response = client.post("/widget/ask", json.dumps({"question": ""}), content_type="application/json",
                           headers={"Origin": OWN, "X-CSRFToken": token})
    assert response.status_code == 422  # past CSRF, to the question


@pytest.mark.django_db(transaction=True)
def test_a_key_asks_only_its_collections_streams_and_shows_no_file_links(client, widget_key, handbook, hr_collection,
                                                                          make_document, backend):
    backend(ScriptedBackend(reply="Full-time staff get 28 vacation days per year."))
    make_document(hr_collection, "salaries.md", "# Salaries\n\nSalary bands and vacation days are reviewed every March.\n")
    response = ask(client, {"question": "How many vacation days do I get?", "key": widget_key.key, "lang": "en"})
    assert response.status_code == 200 and response["Content-Type"] == "text/event-stream"
    events = parse_sse(b"".join(response))
    names = [name for name, _ in events]
    assert names[:2] == ["conversation", "sources"] and names.count("token") > 3 and names[-1] == "done"
    done = events[-1][1]
    assert done["answer"] == "Full-time staff get 28 vacation days per year [1]."  # the marker added, as in the chat
    assert '<a href="#source-1" data-cite="1" class="cite-link"' in done["html"]
    assert {c["collection"] for c in done["citations"]} == {"Handbook"}  # never the HR collection
    assert all(c["url"] is None for c in done["citations"])  # visitors are not signed in here
    assert all(s["url"] is None for s in events[1][1]["sources"])
    token = events[0][1]["token"]
    assert "id" not in events[0][1]
    # The signed token continues the conversation; a made-up one starts a new one.
    parse_sse(b"".join(ask(client, {"question": "And part-time staff?", "key": widget_key.key, "conversation": token})))
    parse_sse(b"".join(ask(client, {"question": "And sick leave?", "key": widget_key.key, "conversation": "1"})))
    conversations = Conversation.objects.filter(user=widget_key.user).order_by("pk")
    assert [c.messages.count() for c in conversations] == [4, 2]
    widget_key.refresh_from_db()
    assert widget_key.use_count == 3 and widget_key.last_used_at is not None


@pytest.mark.django_db(transaction=True)
def test_one_key_s_conversation_cannot_be_continued_with_another_key(client, widget_key, handbook, backend):
    backend(ScriptedBackend(reply="Full-time staff get 28 vacation days per year."))
    other = WidgetKey.objects.create(name="other", user=widget_key.user, allowed_origins=PORTAL)
    other.collections.add(*widget_key.collections.all())
    events = parse_sse(b"".join(ask(client, {"question": "How many vacation days do I get?", "key": widget_key.key})))
    parse_sse(b"".join(ask(client, {"question": "And part-time?", "key": other.key, "conversation": events[0][1]["token"]})))
    assert [c.messages.count() for c in Conversation.objects.order_by("pk")] == [2, 2]


@pytest.mark.django_db(transaction=True)
def test_a_key_has_its_own_rate_for_all_its_visitors(client, widget_key, settings, backend):
    backend(ScriptedBackend())
    settings.KB_RATE_QUESTIONS_PER_MINUTE = 0  # the per-address limit off: only the key's counts
    widget_key.questions_per_minute = 2
    widget_key.save()
    codes = [ask(client, {"question": "", "key": widget_key.key}).status_code for _ in range(2)]
    assert codes == [422, 422]  # an empty question is refused before it counts
    ok = [ask(client, {"question": "Hi?", "key": widget_key.key}) for _ in range(3)]
    assert [r.status_code for r in ok] == [200, 200, 429]
    assert int(ok[2]["Retry-After"]) > 0 and "busy" in ok[2].json()["error"]
    for response in ok[:2]:
        b"".join(response)  # let the answers finish


def test_the_admin_form_refuses_bad_origins_and_collections_the_user_cannot_see(widget_key, hr_collection, public_collection):
    data = {"name": "x", "user": widget_key.user.pk, "collections": [hr_collection.pk],
            "allowed_origins": "https://ok.example.com\nhttps://*.example.com", "questions_per_minute": 10, "active": True}
    form = WidgetKeyForm(data)
    assert not form.is_valid()
    assert "https://*.example.com" in str(form.errors["allowed_origins"]) and "HR confidential" in str(form.errors["collections"])
    form = WidgetKeyForm({**data, "collections": [public_collection.pk], "allowed_origins": "https://OK.example.com/"})
    assert form.is_valid(), form.errors
    assert form.save().origins == ["https://ok.example.com"]


def test_the_admin_shows_the_script_tag_to_paste(admin_client, widget_key):
    page = admin_client.get(f"/admin/api/widgetkey/{widget_key.pk}/change/").content.decode()
    assert f'data-key="{widget_key.key}" data-collection="handbook"' in page.replace("&quot;", '"')
    assert "http://testserver/static/kbassist/widget.js" in page
