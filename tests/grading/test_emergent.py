"""An emergent grading emails the organization's emergency contacts at once, through a real
SMTP server, with a link and no PHI (R13)."""
import pytest

from grading.models import Grading
from grading.notifications import emergency_contacts_notify
from grading.services import grading_submit
from iris_portal.celery import app as celery_app

from .conftest import dr, make_ready_order, normal_dr
from .smtp_server import SmtpSink

pytestmark = pytest.mark.django_db


@pytest.fixture
def smtp(settings):
    sink = SmtpSink().start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", sink.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    yield sink
    sink.stop()


@pytest.fixture
def eager_tasks():
    """Run the notification task in-process even when REDIS_URL points Celery at a broker."""
    before = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = before


def test_emergent_grading_notifies_emergency_contacts(site, grader, smtp, eager_tasks, django_capture_on_commit_callbacks):
    org = site.organization
    org.emergency_contacts = "er@clinic.example\noncall@clinic.example"
    org.save()
    order = make_ready_order(site, local_id="ORD-SECRET-77")
    patient = order.patient
    with django_capture_on_commit_callbacks(execute=True):
        grading = grading_submit(order=order, grader=grader, od=dr("None", "None", "Suspected Bilateral Papilledema"),
                                 os=normal_dr()).grading
    assert smtp.received.wait(timeout=10)
    recipients, message = smtp.messages[0]
    assert sorted(recipients) == ["er@clinic.example", "oncall@clinic.example"]
    body = message.get_content()
    assert f"/orders/{order.pk}/" in body
    text = message.as_string()
    for phi in (patient.first_name, patient.last_name, patient.local_id, str(patient.dob), order.local_id,
                patient.dob.strftime("%m/%d/%Y")):
        assert phi not in text
    grading.refresh_from_db()
    assert grading.emergent and grading.severity == "CRITICAL" and grading.emergency_notified_at is not None
    assert emergency_contacts_notify(grading_id=grading.pk) is False  # once only
    assert len(smtp.messages) == 1


def test_non_emergent_grading_sends_nothing(site, grader, smtp, eager_tasks, django_capture_on_commit_callbacks):
    site.organization.emergency_contacts = "er@clinic.example"
    site.organization.save()
    with django_capture_on_commit_callbacks(execute=True):
        grading_submit(order=make_ready_order(site), grader=grader, od=dr("Proliferative"), os=normal_dr())
    assert smtp.messages == [] and not Grading.objects.filter(emergency_notified_at__isnull=False).exists()
