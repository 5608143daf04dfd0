"""Fixtures of the portal tests: an organization with two sites and its users, another
organization, and signed-in clients."""
import pytest

from tests.factories import OrganizationFactory, SiteFactory, UserFactory


@pytest.fixture
def org(db):
    organization = OrganizationFactory(name="Sunrise Eye Care")
    SiteFactory(organization=organization, local_id="NORTH", name="North Clinic", state="FL")
    SiteFactory(organization=organization, local_id="SOUTH", name="South Clinic", state="TX")
    return organization


@pytest.fixture
def north(org):
    return org.sites.get(local_id="NORTH")


@pytest.fixture
def south(org):
    return org.sites.get(local_id="SOUTH")


@pytest.fixture
def clinic_user(org):
    return UserFactory(organization=org, username="clinician", first_name="Cora")


@pytest.fixture
def org_admin(org):
    return UserFactory(organization=org, username="boss", is_org_admin=True, is_clinic_staff=False)


@pytest.fixture
def other_org(db):
    organization = OrganizationFactory(name="Elsewhere Health")
    SiteFactory(organization=organization, local_id="AWAY", name="Away Clinic", state="GA")
    return organization


@pytest.fixture
def clinic(client, clinic_user):
    client.force_login(clinic_user)
    return client


@pytest.fixture
def admin(client, org_admin):
    client.force_login(org_admin)
    return client
