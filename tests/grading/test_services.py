"""grading_submit, claims, licensure (R9) and corrections."""
import datetime as dt

import pytest
from django.utils import timezone

from grading.eyes import EyeInput
from grading.models import CareLevel, Grading, OrderClaim, Severity
from grading.services import (
    GradingForbidden, grading_reopen, grading_submit, order_claim, order_claims_expire, order_release,
)
from orders.canonical import RequestRejected
from orders.models import OrderEvent, OrderExam, OrderStatus
from organizations.models import ProviderLicense
from tests.factories import OrderFactory, UserFactory

from .conftest import dr, make_grader, make_ready_order, normal_dr, ungradable

pytestmark = pytest.mark.django_db

_results_seen: list[int] = []


def record_results(grading_id):
    """Stand-in results handler (settings.IRIS_RESULTS_GENERATE_HANDLER)."""
    _results_seen.append(grading_id)


def test_normal_grading_completes_the_order(order, grader, django_capture_on_commit_callbacks, settings):
    settings.IRIS_RESULTS_GENERATE_HANDLER = "tests.grading.test_services.record_results"
    with django_capture_on_commit_callbacks(execute=True):
        done = grading_submit(order=order, grader=grader, od=normal_dr(), os=normal_dr(), notes="  looks fine ")
    order.refresh_from_db()
    grading = done.grading
    assert order.status == OrderStatus.COMPLETE and order.graded_at == grading.graded_at
    assert not OrderExam.objects.filter(order=order, is_open=True).exists()  # R5 mirror
    assert grading.severity == Severity.NORMAL and grading.icd10_codes == []
    assert not (grading.pathology or grading.urgent or grading.emergent)
    assert grading.care_plan_level == CareLevel.NOT_REFERABLE and grading.care_plan.key == "normal"
    assert grading.notes == "looks fine" and grading.version == 1 and grading.result_code == "F"
    assert [e["ResultObjectType"] for e in done.events] == ["GradingReceipt", "OrderGradedEvent"]
    assert list(OrderEvent.objects.filter(order=order).values_list("event_type", flat=True)) == [
        "GradingReceipt", "OrderGradedEvent"]
    assert _results_seen[-1] == grading.pk
    assert grading.eye("OD").findings == [{"Finding": "Diabetic Retinopathy", "Result": "None"},
                                          {"Finding": "Macular Edema", "Result": "None"}]


def test_pathology_codes_and_care_plan(site, grader):
    order = make_ready_order(site, dx_code="E10.65")
    grading = grading_submit(order=order, grader=grader, od=dr("Moderate", "Positive"), os=dr("Mild")).grading
    assert grading.icd10_codes == ["E103311", "E103292"]
    assert grading.pathology and grading.severity == Severity.CRITICAL  # positive ME is critical
    assert grading.care_plan.key == "refer-severe" and not grading.urgent


def test_proliferative_is_urgent_and_critical(order, grader):
    grading = grading_submit(order=order, grader=grader, od=dr("Proliferative"), os=dr("Proliferative")).grading
    assert grading.icd10_codes == ["E113593"]
    assert grading.urgent and not grading.emergent and grading.severity == Severity.CRITICAL


def test_ungradable_eye_and_suspected_condition(order, grader):
    od = dr("None", "None", "Suspected Glaucoma")
    grading = grading_submit(order=order, grader=grader, od=od, os=ungradable("Small pupil")).grading
    assert grading.severity == Severity.ABNORMAL and grading.pathology and grading.icd10_codes == []
    eye = grading.eye("OS")
    assert eye.gradable is False and eye.ungradable_reason == "Small pupil" and eye.findings == []
    assert grading.care_plan.key == "refer-routine"  # suspected glaucoma beats not-gradable by priority


def test_both_eyes_ungradable_has_no_severity(order, grader):
    grading = grading_submit(order=order, grader=grader, od=ungradable(), os=ungradable()).grading
    assert grading.severity == "" and grading.care_plan.key == "not-gradable"


def test_other_free_text_subset_picks_the_plan(order, grader):
    od = dr("None", "None", other_text="Choroidal nevus", other_subset="Urgent")
    grading = grading_submit(order=order, grader=grader, od=od, os=normal_dr()).grading
    assert grading.eye("OD").other_text == "Choroidal nevus" and grading.eye("OD").other_subset == "Urgent"
    assert grading.care_plan.key == "other-urgent" and grading.urgent


@pytest.mark.parametrize("od,os,field,reason", [
    (ungradable("Small pupil", "Image out of focus"), None, "OD.UngradableReasons", "exactly one reason"),
    (EyeInput(gradable=False), None, "OD.UngradableReasons", "exactly one reason"),
    (EyeInput(gradable=False, ungradable_reasons=["Because"]), None, "OD.UngradableReasons[0]", "not an ungradable reason"),
    (EyeInput(gradable=False, ungradable_reasons=["Small pupil"], findings=[("Suspected Cataract", "")]), None,
     "OD.Findings", "no findings"),
    (EyeInput(gradable=True, findings=[("Diabetic Retinopathy", "None")]), None, "OD.Findings",
     "Macular Edema: an answer is required"),
    (dr("Huge"), None, "OD.Findings[0].Result", "'Huge' is not a result of Diabetic Retinopathy"),
    (dr("None", "None", "Wet AMD"), None, "OD.Findings[2].Finding", "not a finding of evaluation type DR"),
    (EyeInput(gradable=True, findings=[("Diabetic Retinopathy", "None"), ("Macular Edema", "None"),
                                       ("Suspected Cataract", "Positive")]), None,
     "OD.Findings[2].Result", "suspected condition and takes no result"),
    (dr("Indeterminable"), None, "OD.Findings", "Indeterminable needs a suspected condition"),
    (dr("None", other_text="Nevus"), None, "OD.OtherSubset", "choose one of"),
    (dr("None", other_subset="Urgent"), None, "OD.Other", "describe the other finding"),
    (EyeInput(), None, "OD.Gradable", "required"),
    (EyeInput(missing_eye_reason="Enucleation"), EyeInput(missing_eye_reason="Enucleation"), "OD",
     "at least one eye must be graded"),
    (dr("None", ungradable_reasons=["Small pupil"]), None, "OD.UngradableReasons", "only for an ungradable eye"),
])
def test_impossible_combinations_are_refused_naming_the_field(order, grader, od, os, field, reason):
    with pytest.raises(RequestRejected) as info:
        grading_submit(order=order, grader=grader, od=od, os=os or normal_dr())
    assert any(e.field == field and reason in e.reason for e in info.value.errors), info.value.message
    order.refresh_from_db()
    assert order.status == OrderStatus.READY_FOR_GRADING and not Grading.objects.exists()


def test_indeterminable_with_a_suspected_condition_is_fine(order, grader):
    od = dr("Indeterminable", "None", "Suspected Vein Occlusion")
    grading = grading_submit(order=order, grader=grader, od=od, os=normal_dr()).grading
    assert grading.icd10_codes == [] and grading.care_plan.key == "refer-severe"


# R9 -------------------------------------------------------------------------------------------


def test_grader_not_licensed_in_the_order_state_is_refused(host, order):
    texan = make_grader(host, "TX")
    with pytest.raises(GradingForbidden, match="no license for the exam state FL"):
        grading_submit(order=order, grader=texan, od=normal_dr(), os=normal_dr())
    with pytest.raises(GradingForbidden):
        order_claim(order=order, grader=texan)


def test_expired_license_does_not_count(host, order):
    grader = make_grader(host)
    ProviderLicense.objects.create(provider=grader.provider, state="FL", expires_on=timezone.localdate() - dt.timedelta(days=1))
    with pytest.raises(GradingForbidden):
        grading_submit(order=order, grader=grader, od=normal_dr(), os=normal_dr())


def test_ai_types_only_by_ai_service_accounts(site, grader, ai_account):
    ai_order = make_ready_order(site, types=("DR_REFNOREF",))
    with pytest.raises(GradingForbidden, match="AI grading service"):
        grading_submit(order=ai_order, grader=grader, od=normal_dr(), os=normal_dr())
    refer = EyeInput(gradable=True, findings=[("Diabetic Retinopathy", "Positive")])
    grading = grading_submit(order=ai_order, grader=ai_account, od=refer, os=refer).grading
    assert grading.care_plan.key == "refer-routine"


def test_ai_account_cannot_grade_human_types(order, ai_account):
    with pytest.raises(GradingForbidden, match="not by an AI service account"):
        grading_submit(order=order, grader=ai_account, od=normal_dr(), os=normal_dr())


def test_orders_without_images_or_closed_are_refused(site, grader):
    waiting = make_ready_order(site)
    waiting.status = OrderStatus.AWAITING_IMAGES
    waiting.save()
    with pytest.raises(RequestRejected, match="no images yet"):
        grading_submit(order=waiting, grader=grader, od=normal_dr(), os=normal_dr())
    grading_submit(order=make_ready_order(site, local_id="DONE"), grader=grader, od=normal_dr(), os=normal_dr())
    with pytest.raises(RequestRejected, match="already graded"):
        grading_submit(order=waiting.__class__.objects.get(local_id="DONE"), grader=grader, od=normal_dr(), os=normal_dr())


# Claims ---------------------------------------------------------------------------------------


def test_claim_and_release(order, grader, host):
    claim = order_claim(order=order, grader=grader)
    order.refresh_from_db()
    assert order.status == OrderStatus.IN_GRADING and claim.grader == grader
    other = make_grader(host, "FL")
    with pytest.raises(GradingForbidden, match="claimed by another grader"):
        order_claim(order=order, grader=other)
    with pytest.raises(GradingForbidden, match="claimed by another grader"):
        grading_submit(order=order, grader=other, od=normal_dr(), os=normal_dr())
    assert order_claim(order=order, grader=grader).expires_at >= claim.expires_at  # renewing is fine
    order_release(order=order, grader=grader)
    order.refresh_from_db()
    assert order.status == OrderStatus.READY_FOR_GRADING and not OrderClaim.objects.exists()
    assert order_claim(order=order, grader=other).grader == other


def test_an_expired_claim_is_taken_over_and_swept(order, grader, host):
    order_claim(order=order, grader=grader)
    OrderClaim.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    other = make_grader(host, "FL")
    assert order_claim(order=order, grader=other).grader == other
    OrderClaim.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert order_claims_expire() == 1
    order.refresh_from_db()
    assert order.status == OrderStatus.READY_FOR_GRADING and not OrderClaim.objects.exists()


def test_grading_drops_the_claim(order, grader):
    order_claim(order=order, grader=grader)
    grading_submit(order=order, grader=grader, od=normal_dr(), os=normal_dr())
    assert not OrderClaim.objects.exists()


# Corrections ----------------------------------------------------------------------------------


def test_reopen_and_regrade_supersedes(order, grader, host):
    first = grading_submit(order=order, grader=grader, od=normal_dr(), os=normal_dr()).grading
    with pytest.raises(GradingForbidden):
        grading_reopen(order=order, by=grader)
    staff = UserFactory(organization=host, is_staff=True, is_clinic_staff=False)
    grading_reopen(order=order, by=staff)
    order.refresh_from_db()
    assert order.status == OrderStatus.READY_FOR_GRADING
    assert OrderExam.objects.filter(order=order, is_open=True).count() == 1
    assert OrderEvent.objects.filter(order=order, event_type="ReadyForGradingEvent").exists()
    done = grading_submit(order=order, grader=grader, od=dr("Severe"), os=normal_dr())
    first.refresh_from_db()
    assert first.superseded and done.grading.version == 2 and done.grading.result_code == "C"
    assert "correction" in done.events[0]["Warnings"][0]
    assert Grading.objects.filter(order=order, superseded=False).get() == done.grading


def test_reopen_refused_when_a_newer_open_order_exists(order, grader, host):
    grading_submit(order=order, grader=grader, od=normal_dr(), os=normal_dr())
    OrderFactory(patient=order.patient, evaluation_types=["DR"])  # the patient's next open DR order
    staff = UserFactory(organization=host, is_staff=True, is_clinic_staff=False)
    with pytest.raises(RequestRejected, match="newer open order"):
        grading_reopen(order=order, by=staff)
    order.refresh_from_db()
    assert order.status == OrderStatus.COMPLETE
