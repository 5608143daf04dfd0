"""Organization admins edit care plans for their organization or a site; other organizations'
sites are 404 and the edits drive the next grading."""
import pytest
from django.urls import reverse

from grading.models import CarePlan, CarePlanRule
from grading.services import grading_submit
from tests.factories import SiteFactory, UserFactory

from .conftest import make_ready_order, normal_dr

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(site):
    return UserFactory(organization=site.organization, is_org_admin=True)


def test_admin_sees_the_effective_catalogue(client, admin):
    client.force_login(admin)
    page = client.get(reverse("grading:care-plans") + "?type=DR").content.decode()
    assert 'data-plan="emergent"' in page and "Suspected Bilateral Papilledema" in page


def test_override_a_plan_for_the_organization_then_reset(client, admin, site, grader):
    client.force_login(admin)
    client.post(reverse("grading:care-plan-save"), {"type": "DR", "key": "normal", "title": "See you in a year",
                                                    "instructions": "Book the yearly exam.", "priority": 10,
                                                    "level": "not_referable"})
    plan = CarePlan.objects.get(organization=site.organization, key="normal", evaluation_type="DR")
    grading = grading_submit(order=make_ready_order(site), grader=grader, od=normal_dr(), os=normal_dr()).grading
    assert grading.care_plan == plan and grading.care_plan_title == "See you in a year"
    client.post(reverse("grading:care-plan-reset"), {"type": "DR", "key": "normal"})
    assert not CarePlan.objects.filter(organization=site.organization).exists()


def test_site_rule_override(client, admin, site):
    client.force_login(admin)
    client.post(reverse("grading:care-plan-rule-save"), {"type": "DR", "site": site.pk, "finding": "Suspected Glaucoma",
                                                         "result": "", "plan_key": "urgent"})
    rule = CarePlanRule.objects.get(site=site)
    assert rule.organization == site.organization and rule.plan_key == "urgent"


def test_other_organization_site_and_non_admins_get_404(client, admin, site):
    client.force_login(admin)
    stranger = SiteFactory()
    assert client.get(reverse("grading:care-plans") + f"?site={stranger.pk}").status_code == 404
    response = client.post(reverse("grading:care-plan-save"), {"type": "DR", "site": stranger.pk, "key": "normal",
                                                               "title": "x", "instructions": "x", "priority": 1,
                                                               "level": "urgent"})
    assert response.status_code == 404 and not CarePlan.objects.filter(organization__isnull=False).exists()
    client.force_login(UserFactory(organization=site.organization))  # clinic staff, not an admin
    assert client.get(reverse("grading:care-plans")).status_code == 404
