"""WSGI entry point, for HTTP-only deployments behind a WSGI server (no websockets)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "infyn.settings")
application = get_wsgi_application()
