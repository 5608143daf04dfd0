"""Cloud Direct credentials page and rotation: integration administrators of the organization
only, URLs that really work, rotation that really revokes."""
import pytest
import redis
from django.urls import reverse

from iris_portal.models import AuditEvent
from orders.intake.clouddirect.broker import stream_keys
from orders.intake.clouddirect.credentials import (
    acl_users_sync, connection_url, credential_password, credentials_provision, credentials_rotate,
)
from organizations.models import CloudDirectCredential
from tests.factories import PASSWORD, OrganizationFactory, UserFactory
from tests.orders.clouddirect_support import *  # noqa: F403 - fixtures

pytestmark = pytest.mark.django_db

PAGE = reverse("organizations:clouddirect-credentials")


@pytest.fixture
def integration_admin(cd_org):
    return UserFactory(organization=cd_org, is_clinic_staff=False, is_integration_admin=True)


def signed_in(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


def urls_on_page(response) -> dict[str, str]:
    return {row["credential"].kind: row["url"] for row in response.context["rows"]}


def test_integration_admin_creates_credentials_and_sees_working_urls(client, broker, cd_org, integration_admin):
    signed_in(client, integration_admin)
    assert client.get(PAGE).context["rows"] == []

    response = client.post(reverse("organizations:clouddirect-credentials-create"), follow=True)

    urls = urls_on_page(response)
    assert set(urls) == {"writer", "reader"}
    assert urls["writer"].startswith(f"redis://{broker.prefix}-{cd_org.client_guid}-writer:")
    writer, reader = redis.Redis.from_url(urls["writer"]), redis.Redis.from_url(urls["reader"])
    entry = writer.xadd(stream_keys(cd_org).orders, {"body": "{}"})
    broker.client.xadd(stream_keys(cd_org).events, {"body": "{}"})
    assert reader.xlen(stream_keys(cd_org).events) == 1 and entry
    content = response.content.decode()
    assert urls["writer"] in content and urls["reader"] in content and stream_keys(cd_org).orders in content
    assert AuditEvent.objects.filter(user=integration_admin, action="view",
                                     object_type="clouddirect_credentials").exists()
    assert AuditEvent.objects.filter(user=integration_admin, action="create").exists()


def test_rotation_revokes_the_old_password_and_its_open_connections(client, broker, cd_org, integration_admin):
    credentials_provision(organization=cd_org)
    credential = CloudDirectCredential.objects.get(organization=cd_org, kind="writer")
    old_url = connection_url(credential, credential_password(credential))
    old_connection = redis.Redis.from_url(old_url)
    old_connection.xadd(stream_keys(cd_org).orders, {"body": "{}"})  # authenticated and open
    signed_in(client, integration_admin)

    response = client.post(reverse("organizations:clouddirect-credential-rotate", args=[credential.pk]), follow=True)

    new_url = urls_on_page(response)["writer"]
    assert new_url != old_url
    with pytest.raises(redis.AuthenticationError):
        redis.Redis.from_url(old_url).xadd(stream_keys(cd_org).orders, {"body": "{}"})
    with pytest.raises((redis.ConnectionError, redis.AuthenticationError)):
        # still open, it would keep working (Redis does not re-check passwords): it was killed
        old_connection.xadd(stream_keys(cd_org).orders, {"body": "{}"})
    assert redis.Redis.from_url(new_url).xadd(stream_keys(cd_org).orders, {"body": "{}"})
    credential.refresh_from_db()
    assert credential.rotated_by == integration_admin
    assert AuditEvent.objects.filter(action="rotate", object_id=str(credential.pk)).exists()


@pytest.mark.parametrize("role", ["is_clinic_staff", "is_org_admin", "is_grader", "is_pcp", "is_ai_service"])
def test_other_roles_never_see_the_credentials(client, broker, cd_org, role):
    credentials_provision(organization=cd_org)
    credential = cd_org.clouddirect_credentials.first()
    user = UserFactory(organization=cd_org, **{"is_clinic_staff": False, role: True})
    signed_in(client, user)

    assert client.get(PAGE).status_code == 403
    # A page about one object answers 404 to a user without the role, as if it were not there (R1).
    assert client.post(reverse("organizations:clouddirect-credential-rotate", args=[credential.pk])).status_code == 404
    assert client.post(reverse("organizations:clouddirect-credentials-create")).status_code == 403


def test_anonymous_users_are_sent_to_sign_in(client, broker):
    response = client.get(PAGE)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_another_organizations_credentials_are_404_and_never_shown(client, broker, cd_org, integration_admin):
    other = OrganizationFactory()
    credentials_provision(organization=other)
    theirs = other.clouddirect_credentials.get(kind="writer")
    before = theirs.password_sha256
    signed_in(client, integration_admin)

    assert client.post(reverse("organizations:clouddirect-credential-rotate", args=[theirs.pk])).status_code == 404
    page = client.get(PAGE).content.decode()
    assert str(other.client_guid) not in page and theirs.username not in page
    theirs.refresh_from_db()
    assert theirs.password_sha256 == before


def test_password_is_stored_encrypted_and_hashed_never_in_clear(broker, cd_org):
    credential, password = credentials_rotate(organization=cd_org, kind="reader")
    stored = CloudDirectCredential.objects.filter(pk=credential.pk).values().get()
    assert not any(password in str(value) for value in stored.values())
    assert credential_password(credential) == password


def test_a_changed_secret_key_hides_the_url_but_the_broker_keeps_working(client, broker, cd_org, integration_admin,
                                                                         settings):
    credentials_provision(organization=cd_org)
    settings.SECRET_KEY = "a-completely-different-secret-key-0123456789"
    signed_in(client, integration_admin)

    response = client.get(PAGE)

    assert set(urls_on_page(response).values()) == {None}
    assert "Rotate to issue a new one" in response.content.decode()


def test_secret_key_fallbacks_still_decrypt(broker, cd_org, settings):
    credential, password = credentials_rotate(organization=cd_org, kind="writer")
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-completely-different-secret-key-0123456789"
    assert credential_password(credential) == password


def test_broker_down_changes_nothing(client, broker, cd_org, integration_admin, settings):
    credentials_provision(organization=cd_org)
    credential = cd_org.clouddirect_credentials.get(kind="reader")
    before = credential.password_sha256
    settings.IRIS_CLOUDDIRECT_REDIS_URL = "redis://127.0.0.1:1/0"
    signed_in(client, integration_admin)

    response = client.post(reverse("organizations:clouddirect-credential-rotate", args=[credential.pk]), follow=True)

    assert "unreachable; nothing was changed" in response.content.decode()
    credential.refresh_from_db()
    assert credential.password_sha256 == before


def test_sync_recreates_users_redis_forgot_and_leaves_existing_ones(broker, cd_org):
    credentials_provision(organization=cd_org)
    writer = cd_org.clouddirect_credentials.get(kind="writer")
    broker.client.acl_deluser(writer.username)

    assert acl_users_sync() == 1
    assert acl_users_sync() == 0
    assert redis.Redis.from_url(connection_url(writer, credential_password(writer))).xadd(
        stream_keys(cd_org).orders, {"body": "{}"})


def test_public_url_names_the_host_customers_use(broker, cd_org, settings):
    settings.IRIS_CLOUDDIRECT_PUBLIC_URL = "rediss://broker.example.org:6380/0"
    credential, password = credentials_rotate(organization=cd_org, kind="reader")
    expected = f"rediss://{credential.username}:{password}@broker.example.org:6380/0"
    assert connection_url(credential, password) == expected
