"""The per-organization Redis ACL users, checked against the real Redis: each may do its one
job and nothing else."""
import pytest
import redis

from orders.intake.clouddirect.broker import stream_keys
from tests.factories import OrganizationFactory
from tests.orders.clouddirect_support import *  # noqa: F403 - fixtures

pytestmark = pytest.mark.django_db

REFUSED = redis.exceptions.NoPermissionError


@pytest.fixture
def two_orgs(broker):
    mine, other = OrganizationFactory(), OrganizationFactory()
    broker.client.xadd(stream_keys(mine).events, {"type": "OrderCreationReceipt", "body": "{}"})
    broker.client.xadd(stream_keys(mine).results, {"type": "OrderResult", "body": "{}"})
    broker.client.xadd(stream_keys(other).events, {"type": "OrderCreationReceipt", "body": "{}"})
    return mine, other


def test_write_only_user_may_only_xadd_to_its_own_orders_stream(broker, two_orgs):
    mine, other = two_orgs
    writer, _ = broker.connections(mine)

    assert writer.xadd(stream_keys(mine).orders, {"body": "{}"})
    refused = [
        lambda: writer.ping(),  # so clients must not health-check
        lambda: writer.xlen(stream_keys(mine).orders),
        lambda: writer.xrange(stream_keys(mine).orders),
        lambda: writer.xread({stream_keys(mine).events: 0}),
        lambda: writer.xadd(stream_keys(mine).events, {"body": "{}"}),
        lambda: writer.xadd(stream_keys(other).orders, {"body": "{}"}),
        lambda: writer.xdel(stream_keys(mine).orders, "0-1"),
        lambda: writer.get("anything"),
        lambda: writer.keys("*"),
    ]
    for command in refused:
        with pytest.raises(REFUSED):
            command()


def test_read_only_user_may_only_read_its_own_events_and_results(broker, two_orgs):
    mine, other = two_orgs
    _, reader = broker.connections(mine)
    keys = stream_keys(mine)

    reply = reader.xread({keys.events: 0, keys.results: 0})
    assert [key for key, _ in reply] == [keys.events.encode(), keys.results.encode()]
    assert reader.xlen(keys.events) == 1
    assert len(reader.xrange(keys.results)) == len(reader.xrevrange(keys.results)) == 1
    assert reader.xinfo_stream(keys.events)["length"] == 1
    assert reader.xread({keys.events: "$"}, block=10) == []  # blocking read works too
    refused = [
        lambda: reader.ping(),
        lambda: reader.xadd(keys.orders, {"body": "{}"}),
        lambda: reader.xadd(keys.events, {"body": "{}"}),
        lambda: reader.xread({keys.orders: 0}),
        lambda: reader.xread({stream_keys(other).events: 0}),
        lambda: reader.xreadgroup("iris-portal", "me", {keys.events: ">"}),
        lambda: reader.xdel(keys.events, "0-1"),
        lambda: reader.xtrim(keys.events, maxlen=0),
        lambda: reader.xinfo_groups(keys.events),
    ]
    for command in refused:
        with pytest.raises(REFUSED):
            command()
    assert broker.client.xlen(keys.events) == 1  # nothing was removed


def test_users_are_named_after_the_organization_and_get_select_only_outside_db_0(broker, two_orgs):
    from orders.intake.clouddirect.credentials import acl_rules

    mine, _ = two_orgs
    broker.connections(mine)
    names = sorted(mine.clouddirect_credentials.values_list("username", flat=True))
    assert names == [f"{broker.prefix}-{mine.client_guid}-reader", f"{broker.prefix}-{mine.client_guid}-writer"]
    assert "+select" not in acl_rules(mine, "writer", db=0)
    assert "+select" in acl_rules(mine, "writer", db=3)
