"""The chat websocket through the whole ASGI stack (origin check, session auth, consumer):
foreign origins and anonymous users are refused; one user's conversation is never reached
by another through its id."""

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client

from kbassist.asgi import application
from kbassist.chat.models import Conversation, Message

from tests.fakes import ScriptedBackend

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


def session_cookie(user) -> bytes:
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}".encode()


async def connect(origin: bytes | None, user=None):
    headers = [(b"host", b"127.0.0.1:8000")]
    if origin is not None:
        headers.append((b"origin", origin))
    if user is not None:
        headers.append((b"cookie", await sync_to_async(session_cookie)(user)))
    communicator = WebsocketCommunicator(application, "/ws/chat/", headers=headers)
    connected, code = await communicator.connect()
    return communicator, connected, code


@pytest.mark.parametrize("origin", [b"http://evil.example", b"https://127.0.0.1.evil.example", b"null"])
async def test_foreign_origins_are_refused_even_with_a_valid_session(origin, employee):
    communicator, connected, _ = await connect(origin, employee)
    assert not connected
    await communicator.disconnect()


async def test_anonymous_users_are_refused(db):
    communicator, connected, code = await connect(b"http://127.0.0.1:8000")
    assert not connected and code == 4401
    await communicator.disconnect()


async def test_signed_in_user_from_the_sites_own_origin_is_accepted(employee):
    communicator, connected, _ = await connect(b"http://127.0.0.1:8000", employee)
    assert connected  # control: the refusals above are the origin's and the session's
    await communicator.disconnect()


async def receive_until_done(communicator):
    events = []
    while not events or events[-1]["type"] not in ("done", "error"):
        events.append(await communicator.receive_json_from(timeout=60))
    return events


async def test_another_users_conversation_cannot_be_continued_or_regenerated(handbook, employee, hr_user, backend):
    backend(ScriptedBackend())
    theirs = await Conversation.objects.acreate(user=hr_user, title="salary talk")
    await Message.objects.acreate(conversation=theirs, role="user", content="What is my salary?")
    await Message.objects.acreate(conversation=theirs, role="assistant", content="Band E3 [1].")
    communicator, connected, _ = await connect(b"http://127.0.0.1:8000", employee)
    assert connected
    for request in ({"type": "ask", "question": "and vacation?", "conversation_id": theirs.pk},
                    {"type": "regenerate", "conversation_id": theirs.pk}):
        await communicator.send_json_to(request)
        events = await receive_until_done(communicator)
        assert events == [{"type": "error", "message": "Conversation not found."}]
    assert await Message.objects.filter(conversation=theirs).acount() == 2  # nothing added or removed
    await communicator.disconnect()
