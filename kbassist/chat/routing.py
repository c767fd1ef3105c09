from django.urls import path

from .consumers import ChatConsumer

WS_PATH = "ws/chat/"
websocket_urlpatterns = [path(WS_PATH, ChatConsumer.as_asgi())]
