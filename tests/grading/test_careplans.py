"""Care plans: the default catalogue covers everything; inheritance default -> organization ->
site; the highest priority wins, and an Emergent plan always."""
import pytest

from grading import catalogue as cat
from grading.careplans import care_plan_choose
from grading.models import CareLevel, CarePlan, CarePlanRule
from grading.services import grading_submit
from orders.reference import ALL_EVALUATION_TYPE_CODES
from tests.factories import SiteFactory

from .conftest import dr, make_ready_order, normal_dr

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("code", ALL_EVALUATION_TYPE_CODES)
def test_default_catalogue_maps_every_finding_and_no_finding(code, site):
    for key in cat.catalogue_for(code).care_plan_keys():
        choice = care_plan_choose(site=site, evaluation_types=[code], keys=[key])
        assert choice.plan is not None and choice.plan.organization_id is None, (code, key)


def test_default_catalogue_is_seeded_once(care_plans):
    count = CarePlan.objects.count()
    from grading.demo import seed_grading_defaults

    seed_grading_defaults()
    assert CarePlan.objects.count() == count == 11 * len(ALL_EVALUATION_TYPE_CODES)


def test_organization_plan_overrides_the_default_and_a_site_overrides_the_organization(site, grader):
    org = site.organization
    CarePlan.objects.create(organization=org, evaluation_type="DR", key="normal", title="Org normal",
                            instructions="See you next year.", priority=10, level=CareLevel.NOT_REFERABLE)
    other_site = SiteFactory(organization=org, state="FL")
    CarePlan.objects.create(organization=org, site=other_site, evaluation_type="DR", key="normal",
                            title="Site normal", instructions="Site text.", priority=10, level=CareLevel.NOT_REFERABLE)
    keys = [(cat.DIABETIC_RETINOPATHY, "None")]
    assert care_plan_choose(site=site, evaluation_types=["DR"], keys=keys).plan.title == "Org normal"
    assert care_plan_choose(site=other_site, evaluation_types=["DR"], keys=keys).plan.title == "Site normal"
    stranger = SiteFactory(state="FL")  # another organization keeps the default
    assert care_plan_choose(site=stranger, evaluation_types=["DR"], keys=keys).plan.organization_id is None
    grading = grading_submit(order=make_ready_order(site), grader=grader, od=normal_dr(), os=normal_dr()).grading
    assert grading.care_plan_title == "Org normal" and grading.care_plan_instructions == "See you next year."


def test_site_rule_sends_one_finding_to_its_own_plan(site):
    org = site.organization
    CarePlan.objects.create(organization=org, site=site, evaluation_type="DR", key="glaucoma-clinic",
                            title="Glaucoma clinic", instructions="Book our glaucoma clinic.", priority=60,
                            level=CareLevel.REFERABLE)
    CarePlanRule.objects.create(organization=org, site=site, evaluation_type="DR", finding="Suspected Glaucoma",
                                plan_key="glaucoma-clinic")
    keys = [(cat.DIABETIC_RETINOPATHY, "None"), ("Suspected Glaucoma", "")]
    assert care_plan_choose(site=site, evaluation_types=["DR"], keys=keys).plan.title == "Glaucoma clinic"
    sibling = SiteFactory(organization=org, state="FL")
    assert care_plan_choose(site=sibling, evaluation_types=["DR"], keys=keys).plan.key == "refer-routine"


def test_highest_priority_wins_within_a_level(site):
    keys = [(cat.DIABETIC_RETINOPATHY, "Moderate"), (cat.MACULAR_EDEMA, "Positive")]
    choice = care_plan_choose(site=site, evaluation_types=["DR"], keys=keys)
    assert {p.key for p in choice.matched} == {"refer-routine", "refer-severe"} and choice.plan.key == "refer-severe"
    CarePlan.objects.create(organization=site.organization, evaluation_type="DR", key="refer-routine",
                            title="Moderate first", instructions="x", priority=99, level=CareLevel.REFERABLE)
    assert care_plan_choose(site=site, evaluation_types=["DR"], keys=keys).plan.title == "Moderate first"


def test_emergent_plan_always_wins_even_with_a_lower_priority(site):
    CarePlan.objects.create(organization=site.organization, evaluation_type="DR", key="emergent", title="ER now",
                            instructions="x", priority=1, level=CareLevel.EMERGENT)
    keys = [(cat.DIABETIC_RETINOPATHY, "Proliferative"), ("Suspected Bilateral Papilledema", "")]
    choice = care_plan_choose(site=site, evaluation_types=["DR"], keys=keys)
    assert choice.plan.title == "ER now" and choice.emergent and choice.urgent


def test_exact_result_rule_beats_any_result_rule_of_the_same_level(site):
    org = site.organization
    CarePlanRule.objects.create(organization=org, evaluation_type="DR", finding=cat.DIABETIC_RETINOPATHY,
                                result="", plan_key="urgent")
    keys = [(cat.DIABETIC_RETINOPATHY, "Mild")]
    assert care_plan_choose(site=site, evaluation_types=["DR"], keys=keys).plan.key == "urgent"
    CarePlanRule.objects.create(organization=org, evaluation_type="DR", finding=cat.DIABETIC_RETINOPATHY,
                                result="Mild", plan_key="monitor")
    assert care_plan_choose(site=site, evaluation_types=["DR"], keys=keys).plan.key == "monitor"


def test_each_evaluation_type_of_an_order_contributes(site, grader):
    order = make_ready_order(site, types=("DR", "Glaucoma"))
    od = dr("None", "None")
    od.findings.append((cat.GLAUCOMA, "Positive"))
    os = dr("None", "None")
    os.findings.append((cat.GLAUCOMA, "None"))
    grading = grading_submit(order=order, grader=grader, od=od, os=os).grading
    assert grading.care_plan.key == "refer-routine" and grading.care_plan.evaluation_type == "Glaucoma"
