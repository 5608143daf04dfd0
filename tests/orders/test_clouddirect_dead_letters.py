"""The dead-letter page: integration administrators of the organization see their dead letters
with the error and can replay them; anyone else gets 403, another organization's letter 404."""
import json

import pytest
from django.urls import reverse

from iris_portal.models import AuditEvent
from orders.intake.clouddirect.dead_letters import dead_letter_mark
from orders.models import InboundChannel, InboundStatus, Order
from orders.services.inbox import inbound_store
from tests.factories import PASSWORD, OrganizationFactory, SiteFactory, UserFactory
from tests.orders.clouddirect_support import *  # noqa: F403 - fixtures
from tests.orders.helpers import nw_request

pytestmark = pytest.mark.django_db

PAGE = reverse("orders:clouddirect-dead-letters")


def dead_letter(organization, *, order_id="DL-1", site="S-FL", attempts=5):
    body = json.dumps(nw_request(organization, site=site, order_id=order_id))
    inbound = inbound_store(channel=InboundChannel.CLOUDDIRECT, body=body, sender="1-0", control_id="1-0",
                            message_type="OrderRequest", organization=organization)
    inbound.attempts = attempts
    inbound.error = "internal error while processing (OperationalError); the message is kept for replay"
    inbound.save(update_fields=["attempts", "error"])
    dead_letter_mark(inbound)
    return inbound


@pytest.fixture
def admin_client(client, cd_org):
    user = UserFactory(organization=cd_org, is_clinic_staff=False, is_integration_admin=True)
    assert client.login(username=user.username, password=PASSWORD)
    client.user = user
    return client


def test_dead_letters_are_listed_with_their_error(admin_client, cd_org):
    letter = dead_letter(cd_org)

    response = admin_client.get(PAGE)

    assert list(response.context["letters"]) == [letter]
    content = response.content.decode()
    assert "gave up after 5 failed attempts; last error: internal error while processing (OperationalError)" in content
    assert "Ada" not in content  # the page shows no patient data
    assert AuditEvent.objects.filter(user=admin_client.user, action="list",
                                     object_type="clouddirect_dead_letter").exists()


def test_replay_processes_the_message_and_it_leaves_the_list(admin_client, cd_org):
    letter = dead_letter(cd_org)

    response = admin_client.post(reverse("orders:clouddirect-dead-letter-replay", args=[letter.pk]), follow=True)

    letter.refresh_from_db()
    assert letter.status == InboundStatus.PROCESSED
    assert letter.order == Order.objects.get(organization=cd_org, local_id="DL-1")
    assert list(response.context["letters"]) == []
    assert f"Message {letter.pk} was processed." in response.content.decode()
    assert AuditEvent.objects.filter(action="replay", object_id=str(letter.pk)).exists()
    # replaying again is impossible (no longer a dead letter) and would not duplicate anyway
    assert admin_client.post(reverse("orders:clouddirect-dead-letter-replay", args=[letter.pk])).status_code == 404


def test_replay_that_fails_again_stays_a_dead_letter_with_the_new_error(admin_client, cd_org, monkeypatch):
    letter = dead_letter(cd_org)

    def broken(**kwargs):
        raise RuntimeError("still broken")

    monkeypatch.setattr("orders.services.order_request.patient_create", broken)
    response = admin_client.post(reverse("orders:clouddirect-dead-letter-replay", args=[letter.pk]), follow=True)

    letter.refresh_from_db()
    assert letter.status == InboundStatus.DEAD_LETTER and letter.attempts == 6
    assert letter.error == ("gave up after 6 failed attempts; last error: internal error while processing "
                            "(RuntimeError); the message is kept for replay")
    assert list(response.context["letters"]) == [letter]


@pytest.mark.parametrize("role", ["is_clinic_staff", "is_org_admin", "is_grader", "is_pcp", "is_ai_service"])
def test_other_roles_get_403_on_the_list_and_404_on_a_letter(client, cd_org, role):
    letter = dead_letter(cd_org)
    user = UserFactory(organization=cd_org, **{"is_clinic_staff": False, role: True})
    assert client.login(username=user.username, password=PASSWORD)

    assert client.get(PAGE).status_code == 403
    assert client.post(reverse("orders:clouddirect-dead-letter-replay", args=[letter.pk])).status_code == 404


def test_another_organizations_dead_letter_is_404_and_not_listed(admin_client, cd_org):
    other = OrganizationFactory()
    SiteFactory(organization=other, local_id="S-FL")
    theirs = dead_letter(other, order_id="THEIRS")

    assert admin_client.post(reverse("orders:clouddirect-dead-letter-replay", args=[theirs.pk])).status_code == 404
    assert list(admin_client.get(PAGE).context["letters"]) == []
    theirs.refresh_from_db()
    assert theirs.status == InboundStatus.DEAD_LETTER
    assert not Order.objects.filter(local_id="THEIRS").exists()
