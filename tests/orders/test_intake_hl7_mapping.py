"""ORM^O01 reading, SSN redaction, mapping to OrderRequest and ACK building (no network, no DB)."""
import datetime as dt
import uuid

import pytest
from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.parser import parse_message

from orders.canonical import FieldError, OrderRequest
from orders.intake.hl7.ack import AckError, ack_build, error_code_for
from orders.intake.hl7.intake import field_errors_parse
from orders.intake.hl7.mapping import hl7_timestamp, orm_map
from orders.intake.hl7.message import HL7ParseError, Location, header_read, message_parse, ssn_redact
from organizations.models import HL7Interface, Organization

from .hl7_support import fixture_message, orm

GUID = uuid.UUID("63E3C9EF-66AC-4154-B0C2-494515EB99A7")


def interface(**options) -> HL7Interface:
    organization = Organization(name="Demo", client_guid=GUID, evaluation_types=options.pop("types", ["DR", "AMD"]))
    return HL7Interface(organization=organization, sending_facilities=["DEMOHEALTH"], **options)


def mapped(text: str, *, sites: dict | None = None, **options):
    return orm_map(message_parse(ssn_redact(text)), interface=interface(**options),
                   site_for_code=lambda code: (sites or {}).get(code))


# --- reading ---------------------------------------------------------------------------------------


def test_published_examples_are_read_despite_markdown_escaped_encoding_characters():
    message = message_parse(fixture_message("orm-1.hl7"))
    assert message.header.separators.encoding_characters == "^~\\&"
    assert (message.header.sender, message.header.control_id, message.header.version) == (
        "ACME|Overlook Hotel", "20200228150014", "2.4")
    assert message.get("PID", 5, 2) == "TAMMY" and message.get("OBR", 4, 2) == "FUNDUS PHOTOGRAPHY"


@pytest.mark.parametrize("text, reason", [
    ("", "does not start with an MSH"),
    ("PID|1", "does not start with an MSH"),
    ("MSH|^~", "truncated"),
    ("MSH|^^^^|A|B", "invalid separators"),
    ("MSH|^~\\|A|B", "invalid separators"),
    ("MSHA^~\\&A", "invalid separators"),
])
def test_unusable_headers_are_refused_with_a_reason(text, reason):
    with pytest.raises(HL7ParseError, match=reason) as caught:
        message_parse(text)
    assert caught.value.location.segment == "MSH"


def test_other_separators_are_read():
    text = orm().replace("|", "#").replace("MSH#^~\\&#", "MSH#^~\\&#")
    message = message_parse(text)
    assert message.get("PID", 5, 1) == "Lovelace" and message.header.control_id == "MSG-1"


def test_escape_sequences_are_unescaped():
    assert message_parse(orm(name="O\\T\\Brien^Ann")).get("PID", 5, 1) == "O&Brien"


@pytest.mark.parametrize("value, date_only, expected", [
    ("19541026", True, dt.date(1954, 10, 26)),
    ("195410261230", True, dt.date(1954, 10, 26)),
    ("20200228150014", False, dt.datetime(2020, 2, 28, 15, 0, 14)),
    ("202002281500", False, dt.datetime(2020, 2, 28, 15, 0)),
    ("20200228150014.1234-0500", False,
     dt.datetime(2020, 2, 28, 15, 0, 14, tzinfo=dt.timezone(dt.timedelta(hours=-5)))),
    ("1954", True, None), ("19541326", True, None), ("1/2/1960", True, None), ("2020022815001", False, None),
])
def test_hl7_timestamps(value, date_only, expected):
    assert hl7_timestamp(value, date_only=date_only) == expected


# --- R13 -------------------------------------------------------------------------------------------


def test_ssn_fields_are_blanked_and_everything_else_kept_byte_for_byte():
    text = ("MSH|^~\\&|A|B||IRIS|1||ORM^O01|1|P|2.4\r\n"
            "PID|1|M1^^^^MR~111-22-3333^^^SSA^SS|M1||DOE^JO||19500101|F|||||||||||222-33-4444|\n"
            "NK1|1|DOE^MA" + "|" * 35 + "333-44-5555\r"
            "GT1|1||DOE^JO|||||||||444-55-6666\r"
            "IN2|1|555-66-7777\r")
    redacted = ssn_redact(text)
    for ssn in ("111-22-3333", "222-33-4444", "333-44-5555", "444-55-6666", "555-66-7777"):
        assert ssn not in redacted
    assert redacted.replace("\r\n", "").count("\n") == text.replace("\r\n", "").count("\n")
    assert "\r\nPID|1|M1^^^^MR|M1||DOE^JO||19500101|F|||||||||||" in redacted


def test_redaction_leaves_messages_without_ssn_untouched():
    text = orm(ssn="")
    assert ssn_redact(text) is text
    assert ssn_redact("garbage\x00bytes") == "garbage\x00bytes"


# --- mapping ---------------------------------------------------------------------------------------


def test_published_example_maps_to_an_order_request():
    out = mapped(fixture_message("orm-1.hl7"), sites={"IrisTest": "IRIS-TEST"})
    request = OrderRequest.model_validate(out.data)
    assert out.errors == [] and request.required_errors() == []
    assert (request.order_control_code, request.client_guid, request.site.local_id) == ("NW", str(GUID), "IRIS-TEST")
    assert (request.order.local_id, request.order.evaluation_types, request.order.encounter_number) == (
        "Order578914", ["DR"], "1234")
    assert request.order.scheduled_time == dt.datetime(2020, 2, 28, 15, 0, 14)
    assert (request.order.cpt_code.code, request.order.cpt_code.description) == ("92250", "FUNDUS PHOTOGRAPHY")
    patient = request.patient
    assert (patient.local_id, patient.name.first, patient.name.last, patient.dob) == (
        "TestMrn1096", "TAMMY", "TestVendor", dt.date(1954, 10, 26))
    assert (patient.gender, patient.marital_status, patient.dx_code, patient.phone) == ("M", "M", "E119", "(425)444-5555")
    assert (patient.address.street1, patient.address.city, patient.address.state, patient.address.postal_code) == (
        "123 Fake WAY", "Richmond", "VA", "23223")
    assert patient.race is None  # "W" is not a CDC race code
    provider = request.ordering_provider  # local id typed SERDOTON: passed by name, no NPI
    assert (provider.npi, provider.name.first, provider.name.last) == (None, "Adam", "Diaz")
    assert request.order.additional_info == (
        "Ordering provider (no NPI): Adam Diaz; SERDOTON id a diaz@retinalscreenings.com (ORC-12)")
    assert request.user_name_submitting == "HJ123"


def test_a_site_code_without_mapping_is_taken_as_the_site_local_id():
    assert mapped(fixture_message("orm-2.hl7")).data["Site"] == {"LocalId": "109"}


def test_provider_local_id_of_npi_shape_under_a_configured_type_is_the_npi():
    out = mapped(orm(provider="1234567893^Doe^Jack^^^^^^^^^^SERDOTON"), ordering_provider_id_type="SERDOTON")
    assert out.data["OrderingProvider"]["NPI"] == "1234567893"
    out = mapped(orm(provider="1234567893^Doe^Jack"))  # untyped, NPI-shaped, interface expects NPI
    assert out.data["OrderingProvider"]["NPI"] == "1234567893"
    out = mapped(orm(provider="OP1^Doe^Jack"))
    assert "NPI" not in out.data["OrderingProvider"]


def test_a_provider_without_npi_is_kept_on_the_order_as_a_note():
    """The order service links providers by NPI only; a local id (the published examples' type
    SERDOTON) and the name are kept in Order.AdditionalInfo instead of being dropped."""
    out = mapped(orm(provider="EPI-77^Doe^Jack^^^^MD^^^^^^EPI"), ordering_provider_id_type="EPI")
    assert out.data["OrderingProvider"] == {"Name": {"Last": "Doe", "First": "Jack"}, "Degrees": "MD"}
    assert out.data["Order"]["AdditionalInfo"] == "Ordering provider (no NPI): Jack Doe, MD; EPI id EPI-77 (ORC-12)"
    assert str(out.location_of("Order.AdditionalInfo")) == "ORC-12"
    referring = orm().replace("PV1||O|PC1234", "PV1||O|PC1234|||||R9^Ref^Ray")  # PV1-8, ordering has an NPI
    assert mapped(referring).data["Order"]["AdditionalInfo"] == "Referring provider (no NPI): Ray Ref; id R9 (PV1-8)"
    for linked in (orm(), orm(provider="")):  # an NPI, or nobody: no note
        assert "AdditionalInfo" not in mapped(linked).data["Order"]


def test_ordering_provider_falls_back_to_obr16():
    text = orm(provider="").replace("OBR|1|ORD-1^EPIC||92250^FUNDUS PHOTOGRAPHY||20250102",
                                    "OBR|1|ORD-1^EPIC||92250||20250102" + "|" * 10 + "1234567893^Obr^Sixteen^^^^^^^^^^NPI")
    assert mapped(text).data["OrderingProvider"]["Name"] == {"Last": "Obr", "First": "Sixteen"}


@pytest.mark.parametrize("pid, options, expected, problem", [
    ("PID|1|A1^^^^MR~B2^^^^AN||", {}, "A1", None),
    ("PID|1|A1^^^^XX~B2^^^^AN||", {}, None,
     "PID-2: 2 identifiers and none has identifier type 'MR' (component 5)"),
    ("PID|1|A1^^^^MRN~B2^^^^AN||", {}, "A1", None),  # the IRIS example types it MRN
    ("PID|1||C3|", {}, "C3", None),  # empty PID-2: PID-3 (the published examples)
    ("PID|1|A1|C3^^^^AN~D4^^^^PI|", {"mrn_source": "pid3", "mrn_identifier_type": "PI"}, "D4", None),
    ("PID|1|A1|C3^^^^AN|", {"mrn_source": "pid3", "mrn_identifier_type": "PI"}, "C3", None),  # does not repeat
])
def test_mrn_source(pid, options, expected, problem):
    text = orm().replace("PID|1|MRN-1^^^^MR||", pid, 1)
    out = mapped(text, **options)
    assert out.data.get("Patient", {}).get("LocalId") == expected
    assert [str(error) for error in out.errors] == ([f"Patient.LocalId: {problem}"] if problem else [])


def test_site_from_orc13_when_configured():
    text = orm(site="IGNORED", provider="1234567893^R^G^^^^^^^^^^NPI|CLINIC7^^^20403")
    out = mapped(text, site_source="orc_13", sites={"CLINIC7": "PC1234"})
    assert out.data["Site"]["LocalId"] == "PC1234"
    assert str(out.location_of("Site.LocalId")) == "ORC-13.1"


def test_evaluation_type_from_obr4_or_default():
    assert mapped(orm()).data["Order"]["EvaluationTypes"] == ["DR"]
    named = orm().replace("92250^FUNDUS PHOTOGRAPHY", "AMD^Age-related macular degeneration")
    out = mapped(named)
    assert out.data["Order"]["EvaluationTypes"] == ["AMD"] and "CPTCode" not in out.data["Order"]
    assert mapped(orm(), types=["DR_REFNOREF"]).data["Order"]["EvaluationTypes"] == ["DR_REFNOREF"]
    assert "EvaluationTypes" not in mapped(orm(control="XO")).data["Order"]  # XO keeps the order's types


def test_dx_code_prefers_a_diabetes_category_and_skips_icd9():
    text = orm().replace("DG1|1|I10|E11.9^Type 2 diabetes mellitus without complications^I10|Type 2 diabetes",
                         "DG1|1|I9|250.00^Diabetes^I9\rDG1|2|I10|I10^Hypertension^I10\rDG1|3|ICD-10-CM|E10.9^T1DM^I10")
    out = mapped(text)
    assert out.data["Patient"]["DxCode"] == "E10.9"
    assert out.location_of("Patient.DxCode") == Location("DG1", 3, 1, sequence=3)
    only_other = text.replace("E10.9^T1DM", "Z00.0^Exam")
    assert mapped(only_other).data["Patient"]["DxCode"] == "I10"


def test_adapter_errors_name_the_field():
    text = orm(control="SC", dob="1955", name="X" * 101 + "^Ann").replace("|F|||", "|Q|||") + "\rORC|NW|ORD-2"
    fields = {error.field: error.reason for error in mapped(text).errors}
    assert fields == {
        "Order": "one order per message: found 2 ORC segments",
        "OrderControlCode": "'SC' is not supported (NW new, XO change, CA cancel)",
        "Patient.Dob": "'1955' is not an HL7 date (YYYYMMDD)",
        "Patient.Gender": "'Q' is not an administrative sex (M, F, O, U, A, N)",
        "Patient.Name.Last": "longer than 100 characters",
    }


def test_location_of_uses_the_closest_known_field():
    out = mapped(orm())
    assert str(out.location_of("Patient.Name.First")) == "PID-5.2"
    assert str(out.location_of("Patient.Address.State")) == "PID-11.4"
    assert str(out.location_of("Patient.Address")) == "PID-11"
    assert str(out.location_of("Order.State")) == "PV1-3.1"
    assert str(out.location_of("Site")) == "PV1-3.1"
    assert str(out.location_of("OrderingProvider.Name")) == "ORC-12"
    assert str(out.location_of("Camera.Images[0].Laterality")) == "None"


def test_service_error_text_is_split_back_into_fields():
    text = "Patient.Name.First: required; Order.State: required: site 'X' has no state; Site.LocalId: unknown site 'a; b'"
    assert field_errors_parse(text) == [
        FieldError("Patient.Name.First", "required"),
        FieldError("Order.State", "required: site 'X' has no state"),
        FieldError("Site.LocalId", "unknown site 'a; b'"),
    ]
    assert field_errors_parse("internal error") == [FieldError("", "internal error")]


# --- ACKs ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["2.3.1", "2.4", "2.5", "2.5.1", "2.6"])
def test_acks_validate_with_hl7apy(version):
    header = header_read(orm().replace("|P|2.4", f"|P|{version}"))
    errors = [AckError("PID-5.1 (Patient.Name.Last): required", Location("PID", 5, 1), 101),
              AckError("a reason with | ^ ~ & \\ and\r\na newline", None, 207)]
    for code, errs in (("AA", []), ("AE", errors), ("AR", errors[1:])):
        text = ack_build(code=code, header=header, errors=errs)
        parsed = parse_message(text, validation_level=VALIDATION_LEVEL.STRICT, find_groups=True)
        assert parsed.validate() and parsed.msh.msh_12.value == version
        assert (parsed.msa.msa_1.value, parsed.msa.msa_2.value) == (code, "MSG-1")
        assert text.count("\r") == 1 + (len(errs) if errs and version >= "2.5" else bool(errs))


def test_ack_header_mirrors_the_message():
    header = header_read("MSH|^~\\&|EPIC^1.2^ISO|ANCL|RECV|IRISFAC|20250101||ORM^O01|42|T|2.4")
    msh = ack_build(code="AA", header=header).split("\r")[0].split("|")
    assert msh[2:6] == ["RECV", "IRISFAC", "EPIC^1.2^ISO", "ANCL"]
    assert (msh[8], msh[10], msh[11]) == ("ACK^O01^ACK", "T", "2.4")
    assert len(msh[9]) == 20  # a fresh control id, fits ST(20)


@pytest.mark.parametrize("reason, code", [
    ("required", 101), ("'x' is not an HL7 date (YYYYMMDD)", 102), ("longer than 64 characters", 102),
    ("not subscribed by this organization: AMD", 103), ("unknown site 'X'", 204),
    ("no order 'A' in this organization", 204), ("'A' is already used for another patient", 205),
    ("order 'A' is complete; it cannot be cancelled", 207),
])
def test_error_codes(reason, code):
    assert error_code_for(reason) == code
