"""Events outbox and the results transport against the real Redis."""
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from orders.intake.clouddirect.broker import stream_keys
from orders.intake.clouddirect.publisher import events_unpublished_sweep, results_stream_publish
from orders.models import InboundChannel, OrderEvent
from orders.services.order_request import order_request_process
from tests.orders.clouddirect_support import *  # noqa: F403 - fixtures
from tests.orders.helpers import nw_request

BASE_DIR = Path(__file__).resolve().parents[2]


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"


@pytest.mark.django_db(transaction=True)
def test_events_made_while_redis_is_down_are_published_by_the_sweep(broker, cd_org, settings):
    settings.IRIS_CLOUDDIRECT_REDIS_URL = _closed_port_url()  # the broker is down
    outcome = order_request_process(body=json.dumps(nw_request(cd_org, site="S-FL", order_id="OUT-1")),
                                    channel=InboundChannel.WEB, organization=cd_org)
    assert outcome.success
    event = OrderEvent.objects.get(organization=cd_org)
    assert event.published_at is None  # the publisher failed; the row waits

    settings.IRIS_CLOUDDIRECT_REDIS_URL = REDIS_URL  # the broker is back
    settings.IRIS_CLOUDDIRECT_SWEEP_GRACE_SECONDS = 0
    assert events_unpublished_sweep() == 1
    assert events_unpublished_sweep() == 0  # sent once

    event.refresh_from_db()
    assert event.published_at is not None
    (published,) = broker.events(cd_org)
    assert published == event.payload


@pytest.mark.django_db
def test_sweep_leaves_young_events_to_the_on_commit_publisher(broker, cd_org, settings):
    settings.IRIS_EVENT_PUBLISHERS = []
    order_request_process(body=json.dumps(nw_request(cd_org, site="S-FL", order_id="OUT-2")),
                          channel=InboundChannel.WEB, organization=cd_org)
    settings.IRIS_CLOUDDIRECT_SWEEP_GRACE_SECONDS = 3600

    assert events_unpublished_sweep() == 0
    assert OrderEvent.objects.get(organization=cd_org).published_at is None


@pytest.mark.django_db
def test_order_result_published_on_results_stream_is_readable_by_the_read_only_user(broker, cd_org):
    _, reader = broker.connections(cd_org)
    result = {"Version": "2.3.1", "ResultCode": "F", "Order": {"LocalId": "RES-1"}}

    entry_id = results_stream_publish(cd_org, result)

    ((key, [(read_id, fields)]),) = reader.xread({stream_keys(cd_org).results: 0})
    assert (read_id.decode(), fields[b"type"]) == (entry_id, b"OrderResult")
    assert json.loads(fields[b"body"]) == result


@pytest.mark.parametrize("env, expected", [
    ({"REDIS_URL": "redis://127.0.0.1:6379/9"}, ["orders.intake.clouddirect.publisher.events_stream_publish"]),
    ({"REDIS_URL": ""}, []),
])
def test_publisher_is_on_by_default_only_with_a_broker(env, expected):
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "iris_portal.settings", "DEBUG": "1",
                   "IRIS_EVENT_PUBLISHERS": "", "IRIS_CLOUDDIRECT_REDIS_URL": "", **env}
    for name in ("IRIS_EVENT_PUBLISHERS", "IRIS_CLOUDDIRECT_REDIS_URL"):
        environment.pop(name)
    code = "import django; django.setup(); from django.conf import settings; print(settings.IRIS_EVENT_PUBLISHERS)"
    out = subprocess.run([sys.executable, "-c", code], env=environment, cwd=BASE_DIR, capture_output=True,
                         text=True, timeout=60, check=True).stdout
    assert out.strip() == repr(expected)
