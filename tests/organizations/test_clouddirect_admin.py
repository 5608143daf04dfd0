"""Cloud Direct credentials in the Django admin (issue 3): listed read-only without any secret,
rotated through the service by an admin action (real Redis, REDIS_URL)."""
import pytest
import redis
from django.urls import reverse

from iris_portal.models import AuditEvent
from orders.intake.clouddirect.broker import stream_keys
from orders.intake.clouddirect.credentials import connection_url, credential_password, credentials_provision
from organizations.models import CloudDirectCredential
from tests.factories import UserFactory
from tests.orders.clouddirect_support import *  # noqa: F403 - fixtures

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:organizations_clouddirectcredential_changelist")


@pytest.fixture
def staff(client, cd_org):
    user = UserFactory(organization=cd_org, is_staff=True, is_superuser=True)
    client.force_login(user)
    client.user = user
    return client


def test_no_secret_is_ever_shown(staff, broker, cd_org):
    credentials_provision(organization=cd_org)
    credential = CloudDirectCredential.objects.get(organization=cd_org, kind="writer")
    password = credential_password(credential)
    pages = [staff.get(CHANGELIST), staff.get(reverse("admin:organizations_clouddirectcredential_change",
                                                      args=[credential.pk]))]
    for page in pages:
        content = page.content.decode()
        assert page.status_code == 200 and credential.username in content
        for secret in (password, credential.password_sha256, credential.password_encrypted):
            assert secret not in content
    assert 'name="password' not in pages[1].content.decode()  # read-only: no inputs at all
    assert 'value="rotate"' in pages[0].content.decode()
    assert staff.get(reverse("admin:organizations_clouddirectcredential_add")).status_code == 403
    assert staff.post(reverse("admin:organizations_clouddirectcredential_delete",
                              args=[credential.pk]), {"post": "yes"}).status_code == 403
    assert CloudDirectCredential.objects.filter(pk=credential.pk).exists()


def test_rotate_action_issues_new_passwords(staff, broker, cd_org):
    credentials_provision(organization=cd_org)
    credential = CloudDirectCredential.objects.get(organization=cd_org, kind="writer")
    old_url = connection_url(credential, credential_password(credential))
    old = redis.Redis.from_url(old_url)
    old.xadd(stream_keys(cd_org).orders, {"body": "{}"})

    response = staff.post(CHANGELIST, {"action": "rotate", "_selected_action": [credential.pk]}, follow=True)

    assert "Rotated 1 credential(s)" in response.content.decode()
    credential.refresh_from_db()
    new_url = connection_url(credential, credential_password(credential))
    assert new_url != old_url and credential.rotated_by == staff.user
    assert redis.Redis.from_url(new_url).xadd(stream_keys(cd_org).orders, {"body": "{}"})
    with pytest.raises(redis.ConnectionError):  # the old password's open connection was killed
        old.xadd(stream_keys(cd_org).orders, {"body": "{}"})
    assert AuditEvent.objects.filter(action="rotate", object_type="clouddirect_credential",
                                     object_id=str(credential.pk)).exists()


def test_rotation_is_not_offered_without_the_change_permission(client, broker, cd_org):
    from django.contrib.auth.models import Permission

    viewer = UserFactory(organization=cd_org, is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_clouddirectcredential"))
    client.force_login(viewer)
    credentials_provision(organization=cd_org)
    credential = CloudDirectCredential.objects.get(organization=cd_org, kind="reader")
    before = credential.password_sha256
    response = client.get(CHANGELIST)
    assert response.status_code == 200 and 'value="rotate"' not in response.content.decode()
    client.post(CHANGELIST, {"action": "rotate", "_selected_action": [credential.pk]})
    credential.refresh_from_db()
    assert credential.password_sha256 == before
