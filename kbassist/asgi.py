import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kbassist.settings")

from django.core.asgi import get_asgi_application  # noqa: E402

django_asgi_app = get_asgi_application()

from kbassist.chat.drafts import interrupt_orphaned_at_start  # noqa: E402

interrupt_orphaned_at_start()  # answers a killed predecessor left "streaming" (README, "Faults and scale-out")

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from kbassist.chat.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)

# Load the models and indexes, and answer one warm-up query, before Daphne opens its port
# (KB_WARMUP; kbassist/health/warmup.py): the first question does not pay for loading them.
from kbassist.health.warmup import warm_up_web_process  # noqa: E402

warm_up_web_process()
