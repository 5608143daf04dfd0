"""Fixtures of the grading tests: a host organization with a licensed grader and an AI account,
and orders ready for grading."""
import datetime as dt

import pytest
from django.utils import timezone

from grading.careplan_defaults import careplan_defaults_load
from grading.eyes import EyeInput
from orders.models import OrderStatus
from tests.factories import (
    HostOrganizationFactory, OrderFactory, PatientFactory, ProviderFactory, ProviderLicenseFactory, SiteFactory,
    UserFactory,
)


@pytest.fixture
def care_plans(db):
    """The default catalogue (migration 0002 loads it; a transactional test's flush removes it)."""
    careplan_defaults_load()


@pytest.fixture
def host(db):
    return HostOrganizationFactory()


def make_grader(host, *states, username=None, **extra):
    provider = ProviderFactory()
    for state in states:
        ProviderLicenseFactory(provider=provider, state=state)
    kwargs = {"username": username} if username else {}
    return UserFactory(organization=host, is_clinic_staff=False, is_grader=True, provider=provider, **kwargs, **extra)


@pytest.fixture
def grader(host):
    return make_grader(host, "FL")


@pytest.fixture
def ai_account(host):
    return UserFactory(organization=host, is_clinic_staff=False, is_ai_service=True)


@pytest.fixture
def site(db):
    return SiteFactory(state="FL")


def make_ready_order(site=None, *, types=("DR",), state=None, dx_code="E11", **extra):
    site = site or SiteFactory(state="FL")
    patient = PatientFactory(site=site, dx_code=dx_code)
    return OrderFactory(patient=patient, evaluation_types=list(types), state=state or site.state,
                        status=OrderStatus.READY_FOR_GRADING, serviced_at=timezone.now() - dt.timedelta(hours=1),
                        **extra)


@pytest.fixture
def order(site):
    return make_ready_order(site)


def normal_dr() -> EyeInput:
    return EyeInput(gradable=True, findings=[("Diabetic Retinopathy", "None"), ("Macular Edema", "None")])


def dr(result: str, me: str = "None", *suspected: str, **extra) -> EyeInput:
    findings = [("Diabetic Retinopathy", result), ("Macular Edema", me)] + [(name, "") for name in suspected]
    return EyeInput(gradable=True, findings=findings, **extra)


def ungradable(*reasons: str) -> EyeInput:
    return EyeInput(gradable=False, ungradable_reasons=list(reasons or ["Image out of focus"]))
