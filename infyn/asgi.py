"""ASGI entry point: HTTP through Django, websockets through Channels (served by daphne)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "infyn.settings")
# Django must be set up before anything that imports models (the websocket routes).
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from inference.routing import websocket_urlpatterns  # noqa: E402
from infyn.lib import daphne_limits  # noqa: E402
from infyn.lib.request_limits import (  # noqa: E402
    AllowedHostsWebsocketMiddleware,
    BodyLimitMiddleware,
)

# Under daphne, oversized bodies are refused while they are read, not after.
daphne_limits.install()

application = ProtocolTypeRouter(
    {
        "http": BodyLimitMiddleware(django_asgi_app),
        # The widget runs on vendors' sites: the consumer checks each page's origin against
        # the vendor its token names; the Host must be one of ours (ALLOWED_HOSTS), as for
        # every HTTP request.
        "websocket": AllowedHostsWebsocketMiddleware(URLRouter(websocket_urlpatterns)),
    }
)
