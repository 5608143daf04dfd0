"""Pages leave no reference cycles around what their template was given
(iris_portal.rendering.render, PortalTable's weak back-references): the table, its records and
the request's objects are freed by reference counting, not by the cyclic collector."""
import gc
import weakref

import pytest
from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import RequestFactory
from django.test.signals import template_rendered

from tests.factories import OrderFactory, PatientFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def collector_off():
    gc.collect()
    gc.disable()
    yield
    gc.enable()


def page_objects(user, path):
    """Weak references to the table and its page's records, taken while the page renders, of a
    request made through the WSGI handler as a server would (no test client keeping contexts)."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    session = SessionStore()
    session.update({SESSION_KEY: str(user.pk), BACKEND_SESSION_KEY: "iris_portal.auth_backends.PortalModelBackend",
                    HASH_SESSION_KEY: user.get_session_auth_hash()})
    session.create()
    seen = []

    def keep(sender, context, **kwargs):
        table = context.get("table")
        if table is not None and not seen:
            seen.append(weakref.ref(table))
            seen.extend(weakref.ref(record) for record in table.page.object_list.data)  # the page's queryset

    template_rendered.connect(keep)
    for signal in (request_started, request_finished):  # as the test client does: keep the test's connection
        signal.disconnect(close_old_connections)
    try:
        cookie = f"{settings.SESSION_COOKIE_NAME}={session.session_key}"
        environ = RequestFactory().get(path, HTTP_COOKIE=cookie).environ
        response = WSGIHandler()(environ, lambda status, headers: None)
        body = b"".join(response)
        response.close()
    finally:
        for signal in (request_started, request_finished):
            signal.connect(close_old_connections)
        template_rendered.disconnect(keep)
    return seen, body


def test_a_list_page_and_its_records_are_freed_without_the_collector(org, north, collector_off):
    for _ in range(3):
        OrderFactory(patient=PatientFactory(site=north))
    refs, body = page_objects(UserFactory(organization=org), "/orders/")
    assert len(refs) == 4 and b"<tbody" in body
    assert [ref() for ref in refs] == [None] * 4
