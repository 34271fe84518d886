"""WSGI entry point, for HTTP-only hosting; WebSockets need pmuproject.asgi."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pmuproject.settings")

application = get_wsgi_application()
