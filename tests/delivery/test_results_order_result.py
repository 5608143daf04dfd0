"""The OrderResult builder against the published example (orderresult-1.json): same keys in the
same order, value types that agree, eye nodes omitted where ResultObject.md says so."""
import pytest

from delivery.results.builder import grading_for_results, order_for_results, order_result_build
from delivery.results.findings import eye_answers
from delivery.results.schema import OrderResult, order_result_json_schema

from .factories import (
    dr_eye, fixture_json, graded_order, missing_eye, normal_eye, ungradable_eye,
)

pytestmark = pytest.mark.django_db

# Where ResultObject.md lets a node be absent (no images of that eye).
OMISSIBLE = {"$.Gradings.OD", "$.Gradings.OS"}
# Null where the example itself shows null for the same node (OS.Findings: no pathology).
NULLABLE = {"$.Gradings.OD.Findings", "$.Gradings.OS.Findings"}


def assert_like(ours, theirs, path="$"):
    """``ours`` has every key of ``theirs`` in the same relative order, with compatible types
    (null in the example accepts anything; extra keys are allowed)."""
    if theirs is None or (ours is None and path in NULLABLE):
        return
    if isinstance(theirs, dict):
        assert isinstance(ours, dict), f"{path}: expected an object, got {ours!r}"
        expected = [key for key in theirs if f"{path}.{key}" not in OMISSIBLE or key in ours]
        missing = [key for key in expected if key not in ours]
        assert not missing, f"{path}: missing {missing}"
        assert [key for key in ours if key in theirs] == expected, f"{path}: key order differs"
        for key in expected:
            assert_like(ours[key], theirs[key], f"{path}.{key}")
    elif isinstance(theirs, list):
        assert isinstance(ours, list), f"{path}: expected an array"
        if theirs and ours:
            for item in ours:
                assert_like(item, theirs[0], f"{path}[]")
    elif ours is not None:
        kind = bool if isinstance(theirs, bool) else int if isinstance(theirs, int) else str
        assert isinstance(ours, kind) and (kind is bool or not isinstance(ours, bool)), \
            f"{path}: {ours!r} is not a {kind.__name__}"


def build(grading, **kwargs) -> dict:
    order = order_for_results(grading.order_id)
    return order_result_build(order=order, grading=grading_for_results(grading.pk),
                              document={"Type": "PDF", "Encoding": "Base64", "Content": "JVBERi0="}, **kwargs)


@pytest.fixture
def example():
    return fixture_json("orderresult-1.json")


def test_normal_order_matches_the_example(example):
    grading = graded_order(camera_operator_info={"first_name": "Cam", "user_name": "cam@clinic"},
                           health_plan_local_id="HP1", health_plan_name="Plan A", health_plan_member_id="M1")
    result = build(grading)
    assert_like(result, example)
    assert list(result)[:len(example)] == list(example)  # root keys in the example's order
    OrderResult.model_validate(result)  # and it is what the published schema describes
    gradings = result["Gradings"]
    assert result["ResultCode"] == "F" and result["Version"] == "2.3.1"
    assert result["$schema"] == "http://127.0.0.1:8000/schemas/order-results.schema.2.3.1.json"
    assert gradings["OD"] == {"Gradable": True, "MissingEyeReason": None, "UngradableReasons": [], "Findings": None}
    assert gradings["Pathology"] is False and gradings["Urgent"] is False and gradings["Emergent"] is False
    assert gradings["CarePlanName"] == "Normal: rescreen in 12 months"
    assert gradings["DxCodes"] == [] and gradings["Severity"] == "NORMAL"
    assert gradings["Provider"]["NPI"] == "1234567893"
    assert result["ImageDetails"]["TotalCount"] == 2 and result["ImageDetails"]["RightEyeOriginalCount"] == 1
    assert [img["Preferred"] for img in result["Images"]] == [True, True]
    assert result["Cpt"] == {"Code": "92250", "Description": "Fundus photography with interpretation and report"}
    assert result["HealthPlan"] == {"LocalId": "HP1", "Name": "Plan A", "MemberId": "M1"}
    assert result["CameraOperator"]["UserName"] == "cam@clinic"
    assert result["Patient"]["Dob"] == "1958-03-14" and result["Patient"]["Genders"] == [
        {"Context": "BirthGender", "Gender": "F"}]
    assert result["Order"]["Status"] == "Complete" and result["Order"]["ServicedTime"] == result["Order"]["ServiceDate"]


def test_pathology_lists_only_what_the_grader_noted(example):
    grading = graded_order(od=dr_eye("Moderate", "Positive", "Suspected Glaucoma"), os=dr_eye("Mild"))
    result = build(grading)
    assert_like(result, example)
    gradings = result["Gradings"]
    assert gradings["OD"]["Findings"] == [
        {"Finding": "Diabetic Retinopathy", "Result": "Moderate"},
        {"Finding": "Macular Edema", "Result": "Positive"},
        {"Finding": "Suspected Glaucoma", "Result": None},
    ]
    assert gradings["OS"]["Findings"] == [{"Finding": "Diabetic Retinopathy", "Result": "Mild"}]
    assert gradings["Pathology"] is True and gradings["Severity"] == "CRITICAL"  # positive ME is critical
    assert gradings["DxCodes"] == ["E113311", "E113292"]
    assert gradings["DiagnosisCodes"][0] == {
        "Code": "E113311",
        "Description": "Type 2 diabetes mellitus with moderate nonproliferative diabetic retinopathy with macular "
                       "edema, right eye"}
    # Renderers get the full answer sheet back from the catalogue.
    right = eye_answers(gradings["OD"], ["DR"], "OD")
    assert [(a.finding, a.result, a.abnormal) for a in right.answers] == [
        ("Diabetic Retinopathy", "Moderate", True), ("Macular Edema", "Positive", True),
        ("Suspected Glaucoma", "Suspected", True)]
    left = eye_answers(gradings["OS"], ["DR"], "OS")
    assert [(a.finding, a.result) for a in left.answers] == [
        ("Diabetic Retinopathy", "Mild"), ("Macular Edema", "None")]


def test_ungradable_eye(example):
    grading = graded_order(od=normal_eye(), os=ungradable_eye("Small pupil"))
    result = build(grading)
    assert_like(result, example)
    assert result["Gradings"]["OS"] == {"Gradable": False, "MissingEyeReason": None,
                                        "UngradableReasons": ["Small pupil"], "Findings": None}
    assert result["Gradings"]["CarePlanName"].startswith("Ungradable images")
    assert eye_answers(result["Gradings"]["OS"], ["DR"], "OS").status == "ungradable"


def test_single_eye_only_order_has_no_os_node(example):
    grading = graded_order(od=dr_eye("Mild"), os=missing_eye("Enucleation"), images=("OD",), single_eye_only=True,
                           missing_eye_reason="Enucleation")
    result = build(grading)
    assert_like(result, example)
    assert "OS" not in result["Gradings"] and "OD" in result["Gradings"]
    assert result["Order"]["SingleEyeOnly"] is True and result["Order"]["MissingEyeReason"] == "Enucleation"
    assert result["ImageDetails"]["SingleEyeOnly"] is True and result["ImageDetails"]["LeftEyeCount"] == 0
    assert [img["Laterality"] for img in result["Images"]] == ["OD"]
    assert eye_answers(result["Gradings"].get("OS"), ["DR"], "OS").status == "not_imaged"


def test_emergent_order(example):
    grading = graded_order(od=dr_eye("None", "None", "Suspected Bilateral Papilledema"), os=normal_eye())
    result = build(grading, result_code="C")
    assert_like(result, example)
    gradings = result["Gradings"]
    assert gradings["Emergent"] is True and gradings["Urgent"] is True and gradings["Severity"] == "CRITICAL"
    assert gradings["CarePlanName"].startswith("Emergent")
    assert result["ResultCode"] == "C"


def test_ungraded_order_has_null_gradings():
    grading = graded_order()
    order = order_for_results(grading.order_id)
    result = order_result_build(order=order, grading=None)
    assert result["Gradings"] is None and result["ResultsDocument"] is None


def test_published_schema_covers_the_output():
    schema = order_result_json_schema()
    assert schema["title"] == "OrderResult"
    assert {"Gradings", "ImageDetails", "Patient", "ResultCode"} <= set(schema["properties"])
