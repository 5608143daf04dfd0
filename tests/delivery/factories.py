"""Graded orders for the results tests, made through the grading service (grading_submit), with
real image files in storage. Fixtures are imported by the test modules that use them."""
import datetime as dt
import json
import os
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from delivery.results.sample import fundus_jpeg
from grading import catalogue as cat
from grading.careplan_defaults import careplan_defaults_load
from grading.eyes import EyeInput
from grading.services import grading_submit
from orders.models import Image, OrderStatus
from orders.reference import EVALUATION_TYPE_BY_CODE
from organizations.models import Device, User
from tests.factories import (
    HostOrganizationFactory, OrderFactory, PatientFactory, ProviderFactory, ProviderLicenseFactory, SiteFactory,
    UserFactory,
)

# The project's shared/ folder sits beside the repository (also in CI).
FIXTURES = Path(os.environ.get("IRIS_FIXTURES")
                or Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "iris-docs")


def fixture_json(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def normal_eye(types=("DR",)) -> EyeInput:
    """Every diagnosed condition of the types answered with its normal result."""
    def normal(condition):
        return next((r for r in condition.results if r in cat.NORMAL_RESULTS), condition.results[0])

    return EyeInput(gradable=True, findings=[(c.name, normal(c)) for c in cat.catalogue_for_types(types).diagnosed])


def dr_eye(dr: str, me: str = "None", *suspected: str) -> EyeInput:
    return EyeInput(gradable=True, findings=[("Diabetic Retinopathy", dr), ("Macular Edema", me)]
                    + [(name, "") for name in suspected])


def ungradable_eye(reason: str = "Image out of focus") -> EyeInput:
    return EyeInput(gradable=False, ungradable_reasons=[reason])


def missing_eye(reason: str = "Enucleation") -> EyeInput:
    return EyeInput(missing_eye_reason=reason)


def grader_for(types) -> User:
    """A licensed human grader, or the AI service account for AI-read types (R9)."""
    host = HostOrganizationFactory()
    if any(EVALUATION_TYPE_BY_CODE[code].ai for code in types):
        return User.objects.filter(username="ai-reader").first() or UserFactory(
            organization=host, is_clinic_staff=False, is_ai_service=True, username="ai-reader")
    existing = User.objects.filter(username="reader-fl").first()
    if existing is not None:
        return existing
    provider = ProviderFactory(npi="1234567893", first_name="Grace", last_name="Reader", degrees="OD",
                               signature="Grace Reader, OD")
    ProviderLicenseFactory(provider=provider, state="FL")
    return UserFactory(organization=host, is_clinic_staff=False, is_grader=True, provider=provider,
                       username="reader-fl")


def attach_image(order, laterality: str, *, context: str = "Primary", size=(640, 480), seed: int = 1,
                 taken_at=None) -> Image:
    device, _ = Device.objects.get_or_create(site=order.site, local_id="REM-1000", defaults={
        "serial_number": "REM-1000", "manufacturer": "Remidio", "model": "NMFOP", "software_version": "2.2.23"})
    image = Image(order=order, laterality=laterality, image_context=context, content_type="image/jpeg", device=device,
                  local_id=f"{laterality}-{seed}", taken_at=taken_at or timezone.now() - dt.timedelta(hours=2))
    picture = ContentFile(fundus_jpeg(laterality, size, seed=seed))
    image.file.save(f"{laterality.lower()}-{seed}.jpg", picture, save=False)
    image.save()
    return image


def graded_order(*, od: EyeInput | None = None, os: EyeInput | None = None, types=("DR",), images=("OD", "OS"),
                 site=None, patient=None, notes: str = "", **order_fields):
    """An order with images of ``images`` eyes, graded through grading_submit. Returns the grading."""
    careplan_defaults_load()
    site = site or SiteFactory(state="FL", name="Tampa Eye Clinic", street1="100 Main Street", postal_code="33602")
    patient = patient or PatientFactory(site=site, first_name="Maria", last_name="Lopez", dob=dt.date(1958, 3, 14),
                                        birth_gender="F", phone="813-555-0142", street1="9 Palm Ave", city="Tampa",
                                        state="FL", postal_code="33606", race="2106-3", ethnicity="2135-2",
                                        language="es", marital_status="M")
    order_fields.setdefault("cpt_code", "92250")
    order_fields.setdefault("camera_operator_info", {"first_name": "Carla", "last_name": "Operator",
                                                     "user_name": "carla@clinic.example"})
    order_fields.setdefault("health_plan_local_id", "HP-7")
    order_fields.setdefault("health_plan_name", "Sunshine Health")
    order_fields.setdefault("health_plan_member_id", "SH-442211")
    if "ordering_provider" not in order_fields:
        order_fields["ordering_provider"] = ProviderFactory(npi="1234567890", first_name="Pat", last_name="Primary",
                                                            degrees="MD", taxonomy="207Q00000X")
    order = OrderFactory(patient=patient, evaluation_types=list(types), status=OrderStatus.READY_FOR_GRADING,
                         serviced_at=timezone.now() - dt.timedelta(hours=1), **order_fields)
    for index, side in enumerate(images):
        attach_image(order, side, seed=index + 1)
    done = grading_submit(order=order, grader=grader_for(types), od=od or normal_eye(types),
                          os=os or normal_eye(types), notes=notes)
    return done.grading


@pytest.fixture
def eager_celery():
    """Run tasks in-process even when REDIS_URL points Celery at a broker."""
    from iris_portal.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before
