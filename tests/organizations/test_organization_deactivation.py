"""Deactivating an organization turns its Cloud Direct Redis users off and disconnects them;
reactivating turns them on again with the same URLs (issue 3). Against the real Redis
(REDIS_URL): ACL users are server-global, so the broker fixture gives each test its own
user-name prefix and removes them afterwards."""
import pytest
import redis
from django import forms
from django.urls import reverse

from orders.intake.clouddirect.broker import stream_keys
from orders.intake.clouddirect.credentials import (
    acl_users_sync, connection_url, credential_password, credentials_provision, credentials_rotate,
)
from organizations.models import Organization
from organizations.services_organization import organization_set_active
from tests.factories import UserFactory
from tests.orders.clouddirect_support import *  # noqa: F403 - fixtures

pytestmark = pytest.mark.django_db


def urls(organization) -> dict[str, str]:
    return {c.kind: connection_url(c, credential_password(c)) for c in organization.clouddirect_credentials.all()}


def connections_of(broker, username: str) -> int:
    return sum(1 for client in broker.client.client_list() if client.get("user") == username)


def assert_refused(url: str, key: str) -> None:
    with pytest.raises(redis.AuthenticationError):
        redis.Redis.from_url(url).xadd(key, {"body": "{}"})


def assert_works(broker, organization, by_kind: dict[str, str]) -> None:
    keys = stream_keys(organization)
    writer, reader = (redis.Redis.from_url(by_kind[kind]) for kind in ("writer", "reader"))
    writer.xadd(keys.orders, {"body": "{}"})
    broker.client.xadd(keys.events, {"body": "{}"})
    assert reader.xlen(keys.events) >= 1
    writer.close()
    reader.close()


def test_deactivation_turns_users_off_and_kills_their_connections(broker, cd_org,
                                                                  django_capture_on_commit_callbacks):
    credentials_provision(organization=cd_org)
    by_kind = urls(cd_org)
    writer = redis.Redis.from_url(by_kind["writer"])
    writer.xadd(stream_keys(cd_org).orders, {"body": "{}"})  # an open, authenticated connection
    writer_name = cd_org.clouddirect_credentials.get(kind="writer").username
    assert connections_of(broker, writer_name) == 1

    with django_capture_on_commit_callbacks(execute=True):
        organization_set_active(organization=cd_org, active=False)

    assert connections_of(broker, writer_name) == 0  # CLIENT KILL USER, not only "off"
    with pytest.raises(redis.ConnectionError):  # the open connection is gone; reconnecting is refused
        writer.xadd(stream_keys(cd_org).orders, {"body": "{}"})
    assert_refused(by_kind["writer"], stream_keys(cd_org).orders)
    assert_refused(by_kind["reader"], stream_keys(cd_org).events)
    assert Organization.objects.get(pk=cd_org.pk).is_active is False

    with django_capture_on_commit_callbacks(execute=True):
        organization_set_active(organization=cd_org, active=True)
    assert_works(broker, cd_org, by_kind)  # the same URLs work again


def test_rotating_an_inactive_organizations_credential_keeps_it_off(broker, cd_org,
                                                                     django_capture_on_commit_callbacks):
    credentials_provision(organization=cd_org)
    with django_capture_on_commit_callbacks(execute=True):
        organization_set_active(organization=cd_org, active=False)
    credential, password = credentials_rotate(organization=cd_org, kind="writer")
    assert_refused(connection_url(credential, password), stream_keys(cd_org).orders)


def test_worker_sync_applies_a_change_redis_missed(broker, cd_org):
    """is_active changed while Redis could not be told (or by a bulk update): the worker's
    periodic acl_users_sync turns the users off, then on again, without changing passwords."""
    credentials_provision(organization=cd_org)
    by_kind = urls(cd_org)
    Organization.objects.filter(pk=cd_org.pk).update(is_active=False)
    assert acl_users_sync() == 2
    assert acl_users_sync() == 0
    assert_refused(by_kind["writer"], stream_keys(cd_org).orders)

    Organization.objects.filter(pk=cd_org.pk).update(is_active=True)
    assert acl_users_sync() == 2
    assert_works(broker, cd_org, by_kind)


def test_an_organization_without_credentials_needs_no_broker(cd_org, settings, django_capture_on_commit_callbacks):
    settings.IRIS_CLOUDDIRECT_REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    with django_capture_on_commit_callbacks(execute=True):
        organization_set_active(organization=cd_org, active=False)
    assert Organization.objects.get(pk=cd_org.pk).is_active is False


def test_redis_down_still_deactivates_and_is_logged(broker, cd_org, settings, caplog,
                                                    django_capture_on_commit_callbacks):
    credentials_provision(organization=cd_org)
    settings.IRIS_CLOUDDIRECT_REDIS_URL = "redis://127.0.0.1:1/0"
    with django_capture_on_commit_callbacks(execute=True):
        organization_set_active(organization=cd_org, active=False)
    assert Organization.objects.get(pk=cd_org.pk).is_active is False
    assert "the worker's ACL sync will" in caplog.text
    settings.IRIS_CLOUDDIRECT_REDIS_URL = REDIS_URL  # noqa: F405 - back up
    assert acl_users_sync() == 2  # and the worker catches up


# --- Django admin ---------------------------------------------------------------------------------


@pytest.fixture
def staff(client, cd_org):
    client.force_login(UserFactory(organization=cd_org, is_staff=True, is_superuser=True))
    return client


def admin_form_data(response) -> dict:
    """The admin change form's current values, as the browser would post them back."""
    data = {}

    def add(form):
        for field in form:
            value = field.value()
            if isinstance(field.field, forms.BooleanField):
                if value:
                    data[field.html_name] = "on"
            elif isinstance(value, list | tuple):
                data[field.html_name] = [str(item) for item in value]
            else:
                data[field.html_name] = "" if value is None else str(value)

    add(response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        add(inline.formset.management_form)
        for form in inline.formset.forms:
            add(form)
    return data


def test_admin_change_form_deactivation_turns_users_off(staff, broker, cd_org, django_capture_on_commit_callbacks):
    credentials_provision(organization=cd_org)
    by_kind = urls(cd_org)
    url = reverse("admin:organizations_organization_change", args=[cd_org.pk])
    data = admin_form_data(staff.get(url))
    data.pop("is_active")
    with django_capture_on_commit_callbacks(execute=True):
        response = staff.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert_refused(by_kind["writer"], stream_keys(cd_org).orders)

    data["is_active"] = "on"
    with django_capture_on_commit_callbacks(execute=True):
        assert staff.post(url, data).status_code == 302
    assert_works(broker, cd_org, by_kind)


def test_admin_actions_deactivate_and_activate(staff, broker, cd_org, django_capture_on_commit_callbacks):
    credentials_provision(organization=cd_org)
    by_kind = urls(cd_org)
    changelist = reverse("admin:organizations_organization_changelist")
    with django_capture_on_commit_callbacks(execute=True):
        staff.post(changelist, {"action": "deactivate", "_selected_action": [cd_org.pk]})
    assert Organization.objects.get(pk=cd_org.pk).is_active is False
    assert_refused(by_kind["reader"], stream_keys(cd_org).events)
    with django_capture_on_commit_callbacks(execute=True):
        staff.post(changelist, {"action": "activate", "_selected_action": [cd_org.pk]})
    assert_works(broker, cd_org, by_kind)
