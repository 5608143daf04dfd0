"""factory-boy factories shared by every test module."""
import datetime as dt
import uuid

import factory
from factory.django import DjangoModelFactory

from orders.models import Order, OrderExam, OrderSource
from orders.reference import ALL_EVALUATION_TYPE_CODES
from organizations.models import Organization, Provider, ProviderLicense, Site, User
from patients.models import Patient

PASSWORD = "test-password-123"


class OrganizationFactory(DjangoModelFactory):
    class Meta:
        model = Organization

    client_guid = factory.LazyFunction(uuid.uuid4)
    name = factory.Sequence(lambda n: f"Organization {n}")
    evaluation_types = factory.LazyFunction(lambda: list(ALL_EVALUATION_TYPE_CODES))


class HostOrganizationFactory(OrganizationFactory):
    class Meta:
        model = Organization
        django_get_or_create = ("is_host",)

    name = "Reading Center"
    is_host = True


class SiteFactory(DjangoModelFactory):
    class Meta:
        model = Site

    organization = factory.SubFactory(OrganizationFactory)
    local_id = factory.Sequence(lambda n: f"S{n:04d}")
    name = factory.Sequence(lambda n: f"Site {n}")
    city = "Tampa"
    state = "FL"


class ProviderFactory(DjangoModelFactory):
    class Meta:
        model = Provider
        django_get_or_create = ("npi",)

    npi = factory.Sequence(lambda n: f"{1000000000 + n}")
    first_name = "Pat"
    last_name = factory.Sequence(lambda n: f"Provider{n}")


class ProviderLicenseFactory(DjangoModelFactory):
    class Meta:
        model = ProviderLicense

    provider = factory.SubFactory(ProviderFactory)
    state = "FL"


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    organization = factory.SubFactory(OrganizationFactory)
    is_clinic_staff = True
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):  # noqa: N805 - factory-boy hook
        if create:
            obj.save()


class PatientFactory(DjangoModelFactory):
    class Meta:
        model = Patient

    site = factory.SubFactory(SiteFactory)
    organization = factory.LazyAttribute(lambda p: p.site.organization)
    floating = factory.LazyAttribute(lambda p: p.site.organization.patients_float)
    local_id = factory.Sequence(lambda n: f"MRN{n:06d}")
    first_name = "Jane"
    last_name = factory.Sequence(lambda n: f"Doe{n}")
    dob = dt.date(1960, 1, 2)


class OrderFactory(DjangoModelFactory):
    """An open order with its exam rows (R5)."""

    class Meta:
        model = Order
        skip_postgeneration_save = True

    patient = factory.SubFactory(PatientFactory)
    site = factory.LazyAttribute(lambda o: o.patient.site)
    organization = factory.LazyAttribute(lambda o: o.patient.organization)
    local_id = factory.Sequence(lambda n: f"ORD{n:06d}")
    evaluation_types = factory.LazyFunction(lambda: ["DR"])
    state = factory.LazyAttribute(lambda o: o.site.state or "FL")
    source = OrderSource.WEB

    @factory.post_generation
    def exams(obj, create, extracted, **kwargs):  # noqa: N805 - factory-boy hook
        if create:
            OrderExam.objects.bulk_create([
                OrderExam(order=obj, patient=obj.patient, evaluation_type=code, is_open=obj.is_open)
                for code in obj.evaluation_types
            ])
