"""The worker loop and ``manage.py clouddirect_worker`` against the real Redis, and the
customer-side client waiting for its receipt."""
import io
import threading

import pytest
from django.core.management import call_command
from django.db import connection

from orders.intake.clouddirect.broker import GROUP, stream_keys
from orders.intake.clouddirect.client import CloudDirectClient
from orders.intake.clouddirect.credentials import connection_url, credential_password, credentials_provision
from orders.models import Order
from tests.orders.clouddirect_support import *  # noqa: F403 - fixtures
from tests.orders.helpers import nw_request

pytestmark = pytest.mark.django_db(transaction=True)


def customer_client(organization) -> CloudDirectClient:
    credentials_provision(organization=organization)
    urls = {c.kind: connection_url(c, credential_password(c)) for c in organization.clouddirect_credentials.all()}
    return CloudDirectClient(client_guid=str(organization.client_guid).upper(), orders_url=urls["writer"],
                             events_url=urls["reader"])


def test_customer_client_sends_and_waits_for_its_receipt_while_the_worker_runs(broker, cd_org):
    client = customer_client(cd_org)
    worker = broker.worker(block_ms=100)
    stop = threading.Event()

    def run():
        try:
            worker.run(stop)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    try:
        good = client.send_and_wait(nw_request(cd_org, site="S-FL", order_id="CL-1"), timeout=20)
        bad = client.send_and_wait(nw_request(cd_org, site="NOPE", order_id="CL-2"), timeout=20)
    finally:
        stop.set()
        thread.join(timeout=10)

    assert not thread.is_alive()  # stopped gracefully within one read
    assert (good["Success"], good["IrisOrderId"]) == (True, Order.objects.get(local_id="CL-1").pk)
    assert (bad["Success"], bad["ErrorMessage"]) == (False, "Site.LocalId: unknown site 'NOPE'")


def test_command_once_handles_waiting_messages_and_exits(broker, cd_org):
    client = customer_client(cd_org)
    broker.worker().maintain()
    client.send(nw_request(cd_org, site="S-FL", order_id="CMD-1"))
    client.send(nw_request(cd_org, site="S-FL", order_id="CMD-2", mrn="MRN-2"))
    out = io.StringIO()

    call_command("clouddirect_worker", "--once", stdout=out)

    assert out.getvalue().strip() == "handled 2 messages"
    assert set(Order.objects.filter(organization=cd_org).values_list("local_id", flat=True)) == {"CMD-1", "CMD-2"}
    assert [e["OrderLocalId"] for _, e in client.events(block_ms=1)] == ["CMD-1", "CMD-2"]


def test_messages_sent_before_the_group_existed_are_consumed(broker, cd_org):
    client = customer_client(cd_org)
    client.send(nw_request(cd_org, site="S-FL", order_id="EARLY-1"))

    assert broker.worker().run_once() == 1
    assert Order.objects.filter(local_id="EARLY-1").exists()


def test_worker_recovers_a_stream_and_acl_users_that_redis_lost(broker, cd_org):
    """A Redis restart without persistence forgets streams, groups and ACL users."""
    client = customer_client(cd_org)
    worker = broker.worker()
    worker.maintain()
    keys = stream_keys(cd_org)
    broker.client.delete(keys.orders)
    for credential in cd_org.clouddirect_credentials.all():
        broker.client.acl_deluser(credential.username)

    assert worker.poll(block_ms=None) == 0  # NOGROUP: the group is re-created
    assert broker.client.xinfo_groups(keys.orders)[0]["name"] == GROUP.encode()
    worker.maintain()  # re-creates the ACL users with the stored password hash
    client.send(nw_request(cd_org, site="S-FL", order_id="BACK-1"))
    assert worker.run_once() == 1
    assert Order.objects.filter(local_id="BACK-1").exists()


def test_gone_consumers_are_forgotten_but_not_ones_with_pending_entries(broker, cd_org, monkeypatch):
    monkeypatch.setattr("orders.intake.clouddirect.worker.GONE_CONSUMER_IDLE_MS", -1)
    client = customer_client(cd_org)
    worker = broker.worker()
    worker.maintain()
    keys = stream_keys(cd_org)
    client.send(nw_request(cd_org, site="S-FL", order_id="GONE-1"))
    broker.client.xreadgroup(GROUP, "dead-with-pending", {keys.orders: ">"})
    broker.client.xgroup_createconsumer(keys.orders, GROUP, "dead-idle")

    worker.maintain()

    names = {c["name"] for c in broker.client.xinfo_consumers(keys.orders, GROUP)}
    assert names == {b"dead-with-pending"}


def test_command_sweep_events_publishes_what_was_never_published(broker, cd_org, settings):
    import json

    from orders.models import InboundChannel, OrderEvent
    from orders.services.order_request import order_request_process

    settings.IRIS_EVENT_PUBLISHERS = []  # as if Redis had been down when the order was made
    order_request_process(body=json.dumps(nw_request(cd_org, site="S-FL", order_id="SWEEP-1")),
                          channel=InboundChannel.WEB, organization=cd_org)
    settings.IRIS_CLOUDDIRECT_SWEEP_GRACE_SECONDS = 0
    out = io.StringIO()

    call_command("clouddirect_worker", "--sweep-events", stdout=out)

    assert out.getvalue().strip() == "published 1 events"
    assert OrderEvent.objects.get(organization=cd_org).published_at is not None
    assert [e["OrderLocalId"] for e in broker.events(cd_org)] == ["SWEEP-1"]
