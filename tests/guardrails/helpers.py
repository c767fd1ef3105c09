"""Talking to the real chat consumer, as chat.js does."""

from channels.testing import WebsocketCommunicator

from kbassist.chat.consumers import ChatConsumer


def communicator_for(user, ip="10.0.0.1"):
    communicator = WebsocketCommunicator(ChatConsumer.as_asgi(), "/ws/chat/")
    communicator.scope["user"] = user
    communicator.scope["client"] = (ip, 50000)
    return communicator


async def collect(communicator, until=("done", "error"), timeout=60):
    events = []
    while True:
        event = await communicator.receive_json_from(timeout=timeout)
        events.append(event)
        if event["type"] in until:
            return events


async def ask(communicator, question, **fields):
    await communicator.send_json_to({"type": "ask", "question": question, **fields})
    return await collect(communicator)
