"""GradingSubmission messages: every published example, rejections with field names, the raw
inbox (R11) and ``manage.py submit_grading``."""
import json

import pytest
from django.core.management import call_command

from grading.models import Grading
from grading.submission import grading_submission_process
from orders.models import InboundMessage, InboundStatus, Order, OrderStatus
from organizations.models import Site, User
from tests.factories import SiteFactory

from .conftest import make_ready_order
from .helpers import FIXTURES

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_grader(demo):
    return User.objects.get(username="grader")


def fixture_order(demo, name: str, **extra) -> Order:
    """The order a published example refers to (its LocalId, at its Site.LocalId, in FL)."""
    body = json.loads((FIXTURES / name).read_text())
    site, _ = Site.objects.get_or_create(organization=demo, local_id=body["Site"]["LocalId"],
                                         defaults={"name": "Example site", "state": "FL"})
    return make_ready_order(site, local_id=body["LocalId"], **extra)


def submit(name: str, grader=None):
    return grading_submission_process(body=(FIXTURES / name).read_bytes(), channel="cli", sender="test", grader=grader)


def test_example_1_dr_and_amd_normal(demo, demo_grader):
    order = fixture_order(demo, "gradingsubmission-1.json", types=("DR_AMD",))
    outcome = submit("gradingsubmission-1.json", demo_grader)
    assert outcome.success, outcome.error
    assert [e["ResultObjectType"] for e in outcome.events] == ["GradingReceipt", "OrderGradedEvent"]
    assert outcome.events[0]["OrderLocalId"] == "1315535" and outcome.events[0]["Success"] is True
    grading = outcome.grading
    assert grading.severity == "NORMAL" and grading.care_plan.key == "normal" and grading.icd10_codes == []
    assert len(grading.eye("OS").findings) == 4
    order.refresh_from_db()
    assert order.status == OrderStatus.COMPLETE
    assert outcome.inbound.status == InboundStatus.PROCESSED and outcome.inbound.order == order


def test_example_2_mild_dr_with_suspected_glaucoma(demo, demo_grader):
    fixture_order(demo, "gradingsubmission-2.json")
    outcome = submit("gradingsubmission-2.json", demo_grader)
    assert outcome.success, outcome.error
    grading = outcome.grading
    assert grading.icd10_codes == ["E113291"] and grading.pathology and grading.severity == "ABNORMAL"
    assert ("Suspected Glaucoma", None) in [(f["Finding"], f["Result"]) for f in grading.eye("OD").findings]
    assert grading.care_plan.key == "refer-routine"


def test_example_3_one_eye_ungradable(demo, demo_grader):
    fixture_order(demo, "gradingsubmission-3.json")
    outcome = submit("gradingsubmission-3.json", demo_grader)
    assert outcome.success, outcome.error
    eye = outcome.grading.eye("OS")
    assert eye.gradable is False and eye.ungradable_reason == "Key anatomy missing or not clearly visible"


def test_example_4_single_eye_with_missing_eye_reason(demo, demo_grader):
    fixture_order(demo, "gradingsubmission-4.json", single_eye_only=True)
    outcome = submit("gradingsubmission-4.json", demo_grader)
    assert outcome.success, outcome.error
    eye = outcome.grading.eye("OS")
    assert eye.gradable is None and eye.missing_eye_reason == "Enucleation"
    assert outcome.grading.icd10_codes == ["E113291"]


def test_examples_2_and_3_share_an_order_so_the_second_is_rejected(demo, demo_grader):
    """Both published examples grade order 131553564: once graded, an order takes no second
    grading until platform staff reopen it."""
    fixture_order(demo, "gradingsubmission-2.json")
    assert submit("gradingsubmission-2.json", demo_grader).success
    outcome = submit("gradingsubmission-3.json", demo_grader)
    assert not outcome.success and "LocalId: order '131553564' is already graded" in outcome.error
    assert outcome.events[0]["ResultObjectType"] == "GradingReceipt" and outcome.events[0]["Success"] is False
    assert Grading.objects.count() == 1


def test_example_1_on_a_plain_dr_order_names_the_amd_findings(demo, demo_grader):
    fixture_order(demo, "gradingsubmission-1.json", types=("DR",))
    outcome = submit("gradingsubmission-1.json", demo_grader)
    assert not outcome.success
    assert "OD.Findings[2].Finding: 'Wet AMD' is not a finding of evaluation type DR" in outcome.error
    assert outcome.inbound.status == InboundStatus.REJECTED


def test_human_type_submitted_by_the_ai_account_is_refused(demo):
    fixture_order(demo, "gradingsubmission-2.json")
    outcome = submit("gradingsubmission-2.json")  # default grader: the AI service account
    assert not outcome.success and "not by an AI service account" in outcome.error


def test_ai_type_graded_by_the_ai_account(demo):
    site = SiteFactory(organization=demo, state="FL")
    make_ready_order(site, local_id="AI-1", types=("DR_REFNOREF",))
    body = {"ClientGuid": str(demo.client_guid), "LocalId": "AI-1",
            "OD": {"Gradable": True, "Findings": [{"Finding": "diabetic retinopathy", "Result": "positive"}]},
            "OS": {"Gradable": True, "Findings": [{"Finding": "Diabetic Retinopathy", "Result": "None"}]}}
    outcome = grading_submission_process(body=json.dumps(body), channel="clouddirect", sender="stream")
    assert outcome.success, outcome.error
    assert outcome.grading.grader.username == "ai-service"
    assert outcome.grading.eye("OD").findings == [{"Finding": "Diabetic Retinopathy", "Result": "Positive"}]


def test_other_with_subset_in_the_finding_name(demo, demo_grader):
    site = SiteFactory(organization=demo, state="FL")
    make_ready_order(site, local_id="O-1")
    normal = [{"Finding": "Diabetic Retinopathy", "Result": "None"}, {"Finding": "Macular Edema", "Result": "None"}]
    body = {"ClientGuid": str(demo.client_guid), "LocalId": "O-1",
            "OD": {"Gradable": True, "Findings": normal + [{"Finding": "Other (Severe)", "Result": "Retinal detachment"}]},
            "OS": {"Gradable": True, "Findings": normal + [{"Finding": "Other", "Result": "Nevus"}]}}
    outcome = grading_submission_process(body=body, channel="cli", grader=demo_grader)
    assert outcome.success, outcome.error
    assert outcome.grading.eye("OD").other_subset == "Severe" and outcome.grading.eye("OS").other_subset == "Referable"
    assert "Other without a subset" in outcome.events[0]["Warnings"][0]


@pytest.mark.parametrize("body,field", [
    ('{"ClientGuid": "63E3C9EF-66AC-4154-B0C2-494515EB99A7", "OD": {}}', "LocalId: required"),
    ('{"ClientGuid": "not-a-guid", "LocalId": "1", "OD": {"Gradable": true}}', "ClientGuid: 'not-a-guid' is not a GUID"),
    ('{"ClientGuid": "00000000-0000-4000-8000-00000000abcd", "LocalId": "1", "OD": {"Gradable": true}}',
     "ClientGuid: unknown ClientGuid"),
    ('{"ClientGuid": "63E3C9EF-66AC-4154-B0C2-494515EB99A7", "LocalId": "nope", "OD": {"Gradable": true}}',
     "LocalId: no order 'nope'"),
    ('{"ClientGuid": "63E3C9EF', "invalid JSON"),
])
def test_rejections_name_the_field_and_keep_the_raw_message(demo, body, field):
    outcome = grading_submission_process(body=body, channel="cli", sender="test")
    assert not outcome.success and field in outcome.error
    stored = InboundMessage.objects.get(pk=outcome.inbound.pk)
    assert stored.body == body and stored.status == InboundStatus.REJECTED and stored.message_type == "GradingSubmission"


def test_cli_submit_grading(demo, demo_grader, tmp_path, capsys):
    fixture_order(demo, "gradingsubmission-2.json")
    with pytest.raises(SystemExit) as exit_info:
        call_command("submit_grading", str(FIXTURES / "gradingsubmission-2.json"))  # AI account: refused
    assert exit_info.value.code == 1
    call_command("submit_grading", str(FIXTURES / "gradingsubmission-2.json"), "--grader", "grader")
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert [e["ResultObjectType"] for e in lines][-2:] == ["GradingReceipt", "OrderGradedEvent"]
    assert lines[-1]["Success"] is True


def test_cli_submit_grading_reads_standard_input(demo, monkeypatch, capsys):
    import io
    import sys

    fixture_order(demo, "gradingsubmission-3.json")
    stdin = io.TextIOWrapper(io.BytesIO((FIXTURES / "gradingsubmission-3.json").read_bytes()))
    monkeypatch.setattr(sys, "stdin", stdin)
    call_command("submit_grading", "-", "--grader", "grader")
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["ResultObjectType"] == "OrderGradedEvent"


def test_replaying_an_applied_message_changes_nothing(demo, demo_grader):
    """R11: the Cloud Direct worker may process a stored message again (crash before XACK)."""
    fixture_order(demo, "gradingsubmission-2.json")
    first = submit("gradingsubmission-2.json", demo_grader)
    again = grading_submission_process(body=first.inbound.body, channel="clouddirect", inbound=first.inbound,
                                       grader=demo_grader)
    assert again.success and again.grading == first.grading and Grading.objects.count() == 1
    assert "duplicate submission" in again.events[0]["Warnings"][0]


def test_channel_organization_must_match_the_client_guid(demo, demo_grader):
    fixture_order(demo, "gradingsubmission-2.json")
    other = SiteFactory().organization
    outcome = grading_submission_process(body=(FIXTURES / "gradingsubmission-2.json").read_bytes(),
                                         channel="clouddirect", organization=other, grader=demo_grader)
    assert not outcome.success and "ClientGuid: does not match the organization of this channel" in outcome.error
