"""Delivery rows through the service (R12): which endpoints a result set goes to, retries with
backoff, giving up with an email, receipts, the sweeper and restart safety."""
import datetime as dt
import uuid

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from delivery.models import AttemptOutcome, Delivery, DeliveryState, ResultSet
from delivery.results.services import result_generate
from delivery.services import deliveries_create, deliveries_due, delivery_retry, delivery_send, retry_delay
from orders.models import OrderEvent
from tests.factories import SiteFactory

from .delivery_setup import due_now, endpoint_make, result_set_make
from .factories import eager_celery, graded_order  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db


def file_config(folder, template="{orderLocalId}.pdf"):
    return {"base_folder": str(folder), "file_name_template": template}


@pytest.fixture
def result_set():
    return result_set_make(local_id="ORD-100")


def receipts(order):
    return list(OrderEvent.objects.filter(order=order, event_type="ResultsDeliveryReceipt"))


def test_a_site_endpoint_of_a_kind_replaces_the_organizations(result_set, tmp_path):
    organization, site = result_set.organization, result_set.order.site
    endpoint_make(organization, "file", file_config(tmp_path / "org"), name="org files")
    site_files = endpoint_make(organization, "file", file_config(tmp_path / "site"), site=site, name="site files")
    portal = endpoint_make(organization, "portal", name="pickup")
    endpoint_make(organization, "portal", site=SiteFactory(organization=organization), name="other site")
    endpoint_make(organization, "notification", {"recipients": "x@example.com"}, enabled=False)
    created = deliveries_create(result_set=result_set)
    assert {d.endpoint_id for d in created} == {site_files.pk, portal.pk}
    assert deliveries_create(result_set=result_set) == []  # idempotent
    assert Delivery.objects.count() == 2


def test_file_delivery_writes_the_pdf_records_the_attempt_and_emits_a_receipt(result_set, tmp_path):
    endpoint_make(result_set.organization, "file", file_config(tmp_path))
    [delivery] = deliveries_create(result_set=result_set)
    outcome = delivery_send(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert outcome.state == delivery.state == DeliveryState.DELIVERED
    assert (tmp_path / "ORD-100.pdf").read_bytes().startswith(b"%PDF")
    assert delivery.attempts == 1 and delivery.delivered_at and delivery.last_error == ""
    [attempt] = delivery.attempt_log.all()
    assert attempt.outcome == AttemptOutcome.SUCCESS and attempt.duration_ms >= 0
    [event] = receipts(result_set.order)
    assert event.payload["DeliveryType"] == "LocalFileSystem"
    assert event.payload["TransmissionStatus"] == "Delivered" and event.payload["IrisOrderId"] == result_set.order_id
    assert delivery_send(delivery_id=delivery.pk) is None  # delivered: never sent again


def test_transient_failure_is_retried_with_backoff_then_succeeds(result_set, tmp_path):
    missing = tmp_path / "share"  # an unmounted share: transient
    endpoint_make(result_set.organization, "file", file_config(missing))
    [delivery] = deliveries_create(result_set=result_set)
    before = timezone.now()
    assert delivery_send(delivery_id=delivery.pk).state == DeliveryState.FAILED
    delivery.refresh_from_db()
    assert delivery.next_attempt_at > before and delivery.last_error and delivery.state == DeliveryState.FAILED
    assert delivery_send(delivery_id=delivery.pk) is None  # not due yet
    missing.mkdir()
    assert delivery_send(delivery_id=due_now(delivery).pk).state == DeliveryState.DELIVERED
    assert [a.outcome for a in delivery.attempt_log.all()] == [AttemptOutcome.TRANSIENT, AttemptOutcome.SUCCESS]
    assert len(receipts(result_set.order)) == 1


def test_backoff_grows_exponentially_with_jitter_and_is_bounded(settings):
    settings.IRIS_DELIVERY_RETRY_BASE_SECONDS, settings.IRIS_DELIVERY_RETRY_MAX_SECONDS = 10, 100
    for attempt, full in [(1, 10), (2, 20), (3, 40), (4, 80), (5, 100), (9, 100)]:
        delays = {retry_delay(attempt).total_seconds() for _ in range(20)}
        assert all(full / 2 <= d <= full for d in delays) and len(delays) > 1


def test_retries_are_bounded_then_given_up_and_the_contact_is_told(result_set, tmp_path, settings):
    settings.IRIS_DELIVERY_MAX_ATTEMPTS = 3
    endpoint_make(result_set.organization, "file", file_config(tmp_path / "missing"),
                  failure_contact="ops@clinic.example", name="Clinic share")
    [delivery] = deliveries_create(result_set=result_set)
    states = [delivery_send(delivery_id=due_now(delivery).pk).state for _ in range(3)]
    assert states == [DeliveryState.FAILED, DeliveryState.FAILED, DeliveryState.GIVEN_UP]
    delivery.refresh_from_db()
    assert delivery.next_attempt_at is None and delivery.attempt_log.count() == 3


def test_permanent_failure_gives_up_at_once_and_emails_a_link_without_phi(result_set, tmp_path,
                                                                          django_capture_on_commit_callbacks):
    # A folder token with no value for this order (no department) cannot make a file name.
    endpoint_make(result_set.organization, "file", file_config(tmp_path, "{departmentLocalId}/{orderLocalId}.pdf"),
                  failure_contact="ops@clinic.example", name="Clinic share")
    [delivery] = deliveries_create(result_set=result_set)
    with django_capture_on_commit_callbacks(execute=True):
        outcome = delivery_send(delivery_id=delivery.pk)
    assert outcome.state == DeliveryState.GIVEN_UP and "departmentLocalId" in outcome.error
    [message] = mail.outbox
    patient = result_set.order.patient
    assert message.to == ["ops@clinic.example"] and "/delivery/monitor/" in message.body
    for phi in (patient.first_name, patient.last_name, patient.local_id, str(patient.dob), "ORD-100"):
        assert phi not in message.body and phi not in message.subject
    assert receipts(result_set.order) == []


def test_retry_after_giving_up_starts_a_new_round(result_set, tmp_path):
    endpoint_make(result_set.organization, "file", file_config(tmp_path, "{departmentLocalId}/{orderLocalId}.pdf"))
    [delivery] = deliveries_create(result_set=result_set)
    delivery_send(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert delivery_retry(delivery=delivery)
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.PENDING and delivery.attempts == 0


def test_the_sweeper_picks_up_due_and_stuck_rows_only(result_set, tmp_path):
    endpoint_make(result_set.organization, "file", file_config(tmp_path))
    endpoint_make(result_set.organization, "file", file_config(tmp_path / "b"), site=None, name="second")
    first, second = deliveries_create(result_set=result_set)
    later = timezone.now() + dt.timedelta(hours=1)
    Delivery.objects.filter(pk=first.pk).update(state=DeliveryState.SENDING, claimed_until=later)  # being sent
    assert deliveries_due(enqueue=False) == [second.pk]
    # A worker died while sending: its claim expires and the row is due again.
    Delivery.objects.filter(pk=first.pk).update(claimed_until=timezone.now() - dt.timedelta(seconds=1))
    assert sorted(deliveries_due(enqueue=False)) == sorted([first.pk, second.pk])


def test_rows_survive_a_restart_and_deliver_due_sends_them(result_set, tmp_path, capsys):
    """Rows created while no worker runs (tasks lost with the broker) are sent by deliver_due."""
    endpoint_make(result_set.organization, "file", file_config(tmp_path))
    [delivery] = deliveries_create(result_set=result_set)  # its task is never run (on_commit not fired)
    Delivery.objects.filter(pk=delivery.pk).update(state=DeliveryState.SENDING,
                                                   claimed_until=timezone.now() - dt.timedelta(minutes=1), attempts=1)
    call_command("deliver_due")
    assert '"delivered": 1' in capsys.readouterr().out
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.DELIVERED and delivery.attempts == 2
    assert (tmp_path / "ORD-100.pdf").exists()
    call_command("deliver_due")
    assert '"attempted": 0' in capsys.readouterr().out


def test_results_generated_hook_creates_and_sends_deliveries(tmp_path, eager_celery,  # noqa: F811
                                                             django_capture_on_commit_callbacks):
    grading = graded_order(local_id="ORD-HOOK")
    endpoint_make(grading.order.organization, "file", file_config(tmp_path))
    with django_capture_on_commit_callbacks(execute=True):
        result_generate(grading_id=grading.pk)
    assert (tmp_path / "ORD-HOOK.pdf").exists()
    assert Delivery.objects.get().state == DeliveryState.DELIVERED


def test_resend_goes_everywhere_but_dft_and_dft_is_sent_once_per_order(result_set, tmp_path):
    organization = result_set.organization
    files = endpoint_make(organization, "file", file_config(tmp_path))
    charges = endpoint_make(organization, "file", file_config(tmp_path / "dft", "{orderLocalId}.hl7"),
                            payload_kind="dft", name="charges")
    assert {d.endpoint_id for d in deliveries_create(result_set=result_set)} == {files.pk, charges.pk}
    resend = result_generate(grading_id=result_set.grading_id, result_code="R")
    assert {d.endpoint_id for d in deliveries_create(result_set=resend)} == {files.pk}
    correction = _correction(result_set)  # the charges endpoint got F, but DFT is never sent twice
    assert {d.endpoint_id for d in deliveries_create(result_set=correction)} == {files.pk}


def test_correction_goes_to_every_destination_that_got_the_earlier_version(result_set, tmp_path):
    organization, order = result_set.organization, result_set.order
    (tmp_path / "old").mkdir(), (tmp_path / "new").mkdir()
    old = endpoint_make(organization, "file", file_config(tmp_path / "old"), name="old share")
    [first] = deliveries_create(result_set=result_set)
    assert delivery_send(delivery_id=first.pk).state == DeliveryState.DELIVERED
    # The site now has its own file endpoint, which replaces the organization's for new results.
    new = endpoint_make(organization, "file", file_config(tmp_path / "new"), site=order.site, name="new share")
    correction = _correction(result_set)
    assert {d.endpoint_id for d in deliveries_create(result_set=correction)} == {old.pk, new.pk}


def _correction(result_set):
    """A ResultCode C result set for the same order (as a regrade produces)."""
    return ResultSet.objects.create(
        organization=result_set.organization, order=result_set.order, grading=result_set.grading,
        grading_version=2, result_code="C", transaction_id=uuid.uuid4(), timestamp=timezone.now(),
        order_result=result_set.order_result)
