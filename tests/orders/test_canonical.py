"""OrderRequest parsing: liberal in what it accepts, precise in what it refuses."""
import datetime as dt

import pytest

from orders.canonical import RequestRejected, parse_order_request
from orders.canonical.base import parse_datetime
from orders.canonical.jsonio import loads_lenient

from .helpers import fixture_text

GUID = "63E3C9EF-66AC-4154-B0C2-494515EB99A7"


def minimal(**patch):
    body = {"OrderControlCode": "NW", "ClientGuid": GUID, "Site": {"LocalId": "PC1234"},
            "Order": {"LocalId": "O1", "EvaluationTypes": ["DR"]},
            "Patient": {"LocalId": "P1", "Name": {"First": "A", "Last": "B"}, "Dob": "1/1/2000"}}
    body.update(patch)
    return body


def rejection(body) -> str:
    with pytest.raises(RequestRejected) as info:
        parse_order_request(body)
    return info.value.message


def test_published_nw_example_with_trailing_comma_zip_and_urgent_is_accepted():
    request = parse_order_request(fixture_text("orderrequest-nw-1.json"))
    assert request.order_control_code == "NW"
    assert request.order.evaluation_types == ["DR"]
    assert request.order.scheduled_time == dt.datetime(2025, 1, 1)
    assert request.order.cpt_code.code == "57554"
    assert request.order.urgent is False
    assert request.patient.dob == dt.date(2000, 1, 1)
    assert request.patient.gender_for("BirthGender") == "M"
    assert request.camera.images[0].azure_blob_storage.file_name.endswith(".dcm")
    assert request.camera.images[0].taken.microsecond == 693677  # 7 fractional digits accepted


def test_published_xo_example_is_refused_with_the_parse_position():
    message = rejection(fixture_text("orderrequest-xo-1.json"))
    assert message.startswith("invalid JSON at line 10 column 4")


def test_published_cancel_example_needs_no_site():
    request = parse_order_request(fixture_text("orderrequest-ca-1.json"))
    assert request.order_control_code == "CA" and request.site is None


def test_property_names_are_case_insensitive():
    request = parse_order_request({"orderControlCode": "nw", "CLIENTGUID": GUID, "site": {"localid": "PC1234"},
                                   "order": {"localId": "O1", "evaluationtypes": ["dr"]},
                                   "PATIENT": {"LOCALID": "P1", "name": {"first": "A", "LAST": "B"}, "DOB": "2000-01-01"}})
    assert request.client_guid == GUID and request.order.evaluation_types == ["DR"]
    assert request.patient.name.last == "B"


def test_typescript_client_integer_enums_value_key_and_v_version():
    body = minimal(Version="V2.3.1", OrderControlCode=1)
    body["Order"]["EvaluationTypes"] = [1, 7]
    body["Patient"]["Genders"] = [{"Context": 2, "Value": 1}, {"Context": 1, "Value": 2}, {"Context": {}, "Value": {}}]
    body["Patient"]["MaritalStatus"] = 4
    body["OrderingProvider"] = {"Name": {"First": "", "Middle": "", "Last": ""}}
    body["Camera"] = {"Images": [{"LocalId": "i1", "AzureBlobStorage": {"Container": "c", "FileName": "f.jpg"}, "ImageContext": 0}]}
    request = parse_order_request(body)
    assert request.version == "2.3.1"
    assert request.order.evaluation_types == ["DR", "AMD"]
    assert request.patient.gender_for("BirthGender") == "M"
    assert request.patient.gender_for("IdentityGender") == "F"
    assert request.patient.marital_status == "M"
    assert request.ordering_provider is None  # blank provider = not provided
    assert request.camera.images[0].laterality is None and request.camera.images[0].image_context == "Primary"


def test_go_client_spellings_and_blank_values():
    body = minimal(Version="V2.3.1", Camera={"Images": None}, CameraOperatorUserName="")
    body["Site"]["Address"] = {"Street": "1 Main", "City": "", "Zip": "33602"}
    body["Order"].update({"CPTCode": "", "SingleEyeOnly": False, "EvaluationTypes": ["ME"], "CreatedTime": ""})
    body["Patient"].update({"Gender": "", "Genders": None})
    body["HealthPlan"] = {"LocalId": "", "Name": "", "MemberId": "", "GroupName": ""}
    request = parse_order_request(body)
    assert request.site.address.street1 == "1 Main" and request.site.address.postal_code == "33602"
    assert request.order.evaluation_types == ["DRME"]
    assert request.order.cpt_code is None and request.order.single_eye_only is False
    assert request.camera is None and request.health_plan is None


def test_cpt_code_as_object_and_state_as_full_name():
    body = minimal()
    body["Order"].update({"CPTCode": {"Code": "92229", "Description": "Imaging of retina"}, "State": "florida"})
    request = parse_order_request(body)
    assert (request.order.cpt_code.code, request.order.cpt_code.description) == ("92229", "Imaging of retina")
    assert request.order.state == "FL"


@pytest.mark.parametrize("patch, expected", [
    ({"Patient": {"LocalId": "P1", "Name": {"First": "A", "Last": "B"}}}, "Patient.Dob: required"),
    ({"Patient": {"LocalId": "P1", "Name": {"First": "A", "Last": "B"}, "Dob": "31/31/2000"}}, "Patient.Dob: '31/31/2000' is not a valid date"),
    ({"Order": {"LocalId": "O1", "EvaluationTypes": ["XYZ"]}}, "Order.EvaluationTypes: item 0: 'XYZ' is not an evaluation type"),
    ({"Order": {"LocalId": "O1", "EvaluationTypes": ["DR"], "State": "Atlantis"}}, "Order.State: 'Atlantis' is not a US state code or name"),
    ({"OrderControlCode": "ZZ"}, "OrderControlCode: 'ZZ' is not a valid order control code"),
    ({"Site": None}, "Site.LocalId: required"),
    ({"ClientGuid": None}, "ClientGuid: required"),
])
def test_rejections_name_the_field_and_the_reason(patch, expected):
    assert expected in rejection(minimal(**patch))


def test_every_missing_field_is_named_at_once():
    message = rejection({"OrderControlCode": "NW", "ClientGuid": GUID})
    for field in ("Site.LocalId", "Order.LocalId", "Order.EvaluationTypes", "Patient.LocalId", "Patient.Dob"):
        assert f"{field}: required" in message


def test_non_object_and_empty_messages_are_refused():
    assert "must be a JSON object" in rejection("[1, 2]")
    assert "message is empty" in rejection(b"  ")
    assert "not UTF-8" in rejection(b"\xff\xfe{")


def test_trailing_commas_inside_strings_are_left_alone():
    assert loads_lenient('{"a": "x,}", "b": [1, 2,],}') == {"a": "x,}", "b": [1, 2]}


@pytest.mark.parametrize("text, expected", [
    ("1/2/1960", dt.datetime(1960, 1, 2)),
    ("1960-01-02", dt.datetime(1960, 1, 2)),
    ("19600102", dt.datetime(1960, 1, 2)),
    ("2024-01-02T03:04:05.006Z", dt.datetime(2024, 1, 2, 3, 4, 5, 6000, tzinfo=dt.UTC)),
    ("1/1/2025 14:30", dt.datetime(2025, 1, 1, 14, 30)),
])
def test_loose_dates(text, expected):
    assert parse_datetime(text) == expected


def test_values_longer_than_their_column_are_refused_by_field():
    body = minimal()
    body["Patient"]["LocalId"] = "M" * 65
    assert "Patient.LocalId: String should have at most 64 characters" in rejection(body)


def test_adapter_built_requests_get_the_same_required_field_checks(db):
    from orders.canonical.order_request import OrderRequest
    from orders.services.order_request import order_request_process

    outcome = order_request_process(body=OrderRequest.model_validate({"OrderControlCode": "NW", "ClientGuid": GUID}),
                                    channel="hl7")
    assert not outcome.success and "Patient.Dob: required" in outcome.error
