"""ASGI entry point: HTTP through Django, websockets through Channels (served by daphne)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "infyn.settings")
# Django must be set up before anything that imports models (the websocket routes).
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from inference.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        # The widget runs on vendors' sites: the consumer checks each page's origin against
        # the vendor its token names (ALLOWED_HOSTS is about our own host names).
        "websocket": URLRouter(websocket_urlpatterns),
    }
)
