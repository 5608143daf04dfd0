"""The WSGI application (gunicorn ``iris_portal.wsgi``)."""
import gc
import os

from django.core.wsgi import get_wsgi_application

from iris_portal.collector import CollectorBetweenRequestsWSGI
from iris_portal.stack_reserve import ReservedStackWSGI

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "iris_portal.settings")
# Requests run in a frame-stack chunk of their own: without it, CPython 3.11 mapped and unmapped
# a 16 KiB stack chunk ~860 times per Order Manager page (see iris_portal.stack_reserve).
# The cyclic collector waits until a request is done (see iris_portal.collector).
application = ReservedStackWSGI(CollectorBetweenRequestsWSGI(get_wsgi_application()))

from django.urls import get_resolver  # noqa: E402 - needs the settings loaded above

get_resolver().url_patterns  # import every view now, so that it is frozen below too

# What loading the app made (models, URL patterns, templates: ~170,000 objects) lives as long as
# the process. Left to the cyclic collector, every full collection walked all of it: a 100 ms
# pause every few hundred requests, paid by every request queued behind it. Frozen, they are
# never walked (a full collection now takes under 10 ms).
gc.freeze()
