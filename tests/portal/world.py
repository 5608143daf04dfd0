"""A victim organization whose objects of every kind share one primary key, WORLD_PK, so a URL
with an object id in it can be asked for "object WORLD_PK" whatever model its view fetches.

Builders are per model; models another issue has not added yet are skipped. When a new page
fetches a model without a builder, the URL-walking test says so: add a builder here."""
import datetime as dt
import hashlib
import uuid
from dataclasses import dataclass

from django.apps import apps
from django.core.files.base import ContentFile
from django.utils import timezone

from orders.models import Image, InboundMessage, InboundStatus, Order, OrderEvent, OrderExam
from organizations.models import Department, Device, Organization, ProviderLicense, Site, User
from patients.models import Patient
from tests.factories import HostOrganizationFactory, OrganizationFactory, ProviderFactory, UserFactory

WORLD_PK = 900_001
ORDER_STATE = "FL"


@dataclass
class World:
    organization: Organization
    order: Order
    owner: User  # clinic staff + organization admin + integration admin of the victim
    grader: User  # licensed in the order's state
    pcp: User  # a PCP the order names
    staff: User  # platform staff (reopen a grading, ...)
    outsiders: dict  # name -> User who must get 404 for every object


def _model(label: str):
    try:
        return apps.get_model(label)
    except LookupError:
        return None


def world_build() -> World:
    now = timezone.now()
    org = OrganizationFactory(name="Victim Health")
    site = Site.objects.create(pk=WORLD_PK, organization=org, local_id="VIC", name="Victim Clinic", state=ORDER_STATE)
    Department.objects.create(pk=WORLD_PK, site=site, local_id="DEP")
    device = Device.objects.create(pk=WORLD_PK, site=site, local_id="CAM")
    named_pcp = ProviderFactory(npi="1234567890")
    patient = Patient.objects.create(pk=WORLD_PK, organization=org, site=site, local_id="MRN-V", first_name="Vic",
                                     last_name="Tim", dob=dt.date(1950, 5, 5))
    order = Order.objects.create(pk=WORLD_PK, organization=org, patient=patient, site=site, local_id="ORD-V",
                                 evaluation_types=["DR"], state=ORDER_STATE, status="ready_for_grading",
                                 source="web", device=device, ordering_provider=named_pcp,
                                 primary_care_provider=named_pcp)
    OrderExam.objects.create(order=order, patient=patient, evaluation_type="DR")
    image = Image(pk=WORLD_PK, order=order, laterality="OD", content_type="image/jpeg")
    image.file.save("od.jpg", ContentFile(b"\xff\xd8\xff\xe0 not really a jpeg"), save=True)
    body = '{"OrderControlCode": "NW"}'
    inbound = InboundMessage.objects.create(pk=WORLD_PK, channel="clouddirect", organization=org, body=body,
                                            body_sha256=hashlib.sha256(body.encode()).hexdigest(),
                                            status=InboundStatus.DEAD_LETTER, attempts=6, error="gave up")
    OrderEvent.objects.create(pk=WORLD_PK, organization=org, order=order, inbound_message=inbound,
                              event_type="OrderCreationReceipt", transaction_id=uuid.uuid4(), timestamp=now, payload={})

    owner = UserFactory(pk=WORLD_PK, organization=org, username="victim-owner", is_clinic_staff=True,
                        is_org_admin=True, is_integration_admin=True)
    host = HostOrganizationFactory()
    grader = UserFactory(organization=host, username="licensed-grader", is_clinic_staff=False, is_grader=True,
                         provider=ProviderFactory())
    ProviderLicense.objects.create(provider=grader.provider, state=ORDER_STATE)
    pcp = UserFactory(organization=org, username="named-pcp", is_clinic_staff=False, is_pcp=True, provider=named_pcp)
    staff = UserFactory(organization=host, username="platform-staff", is_clinic_staff=False, is_staff=True)

    _build_optional(org=org, order=order, owner=owner, grader=grader, now=now)

    stranger_org = OrganizationFactory(name="Stranger Health")
    unlicensed = UserFactory(organization=host, username="unlicensed-grader", is_clinic_staff=False, is_grader=True,
                             provider=ProviderFactory())
    ProviderLicense.objects.create(provider=unlicensed.provider, state="CA")
    outsiders = {
        "other-organization": UserFactory(organization=stranger_org, username="stranger", is_clinic_staff=True,
                                          is_org_admin=True, is_integration_admin=True),
        "pcp": UserFactory(organization=org, username="other-pcp", is_clinic_staff=False, is_pcp=True,
                           provider=ProviderFactory(npi="1999999999")),
        "unlicensed-grader": unlicensed,
    }
    return World(organization=org, order=order, owner=owner, grader=grader, pcp=pcp, staff=staff,
                 outsiders=outsiders)


def _build_optional(*, org, order, owner, grader, now) -> None:
    """Objects of models other issues own, when those models exist."""
    AuditEvent = _model("iris_portal.AuditEvent")
    AuditEvent.objects.create(pk=WORLD_PK, organization=org, user=owner, action="view", object_type="order",
                              object_id=str(order.pk))
    Credential = _model("organizations.CloudDirectCredential")
    if Credential is not None:
        Credential.objects.create(pk=WORLD_PK, organization=org, kind="writer", username=f"cd-{org.pk}-w",
                                  password_sha256="0" * 64, password_encrypted="-", rotated_at=now)
    HL7Interface = _model("organizations.HL7Interface")
    if HL7Interface is not None:
        HL7Interface.objects.create(pk=WORLD_PK, organization=org, name="Victim feed", sending_facilities=["VICTIM"])
    ImportJob = _model("orders.ImportJob")
    if ImportJob is not None:
        ImportJob.objects.create(pk=WORLD_PK, organization=org, source="portal", file="imports/x.csv",
                                 original_name="x.csv", sha256="0" * 64, status="done")
    if _model("grading.Grading") is not None:
        delivered(order=order, grader=grader, state="given_up", pk=WORLD_PK)


def delivered(*, order, grader, state: str, pk: int | None = None, now=None):
    """A grading of ``order``, its result set with a PDF, and a portal delivery in ``state``
    (each only when its model is installed). Returns the delivery, or None."""
    now = now or timezone.now()
    Grading = _model("grading.Grading")
    grading = Grading.objects.create(pk=pk, order=order, grader=grader, source="portal", graded_at=now)
    ResultSet, ResultDocument = _model("delivery.ResultSet"), _model("delivery.ResultDocument")
    if ResultSet is None:
        return None
    result_set = ResultSet.objects.create(pk=pk, organization=order.organization, order=order, grading=grading,
                                          grading_version=1, result_code="F", transaction_id=uuid.uuid4(),
                                          timestamp=now, order_result={})
    document = ResultDocument(pk=pk, result_set=result_set, kind="pdf", media_type="application/pdf", size=8,
                              sha256="0" * 64)
    document.file.save("report.pdf", ContentFile(b"%PDF-1.4"), save=True)
    Endpoint, Delivery = _model("delivery.Endpoint"), _model("delivery.Delivery")
    if Endpoint is None:
        return None
    endpoint = Endpoint.objects.create(pk=pk, organization=order.organization, name="Pickup", kind="portal")
    return Delivery.objects.create(pk=pk, organization=order.organization, order=order, result_set=result_set,
                                   endpoint=endpoint, document_kind="pdf", state=state, attempts=3)


__all__ = ["WORLD_PK", "World", "delivered", "world_build"]
