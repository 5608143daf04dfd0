"""From file columns to OrderRequest fields and back (orders/intake/csv/mapping.py, fields.py)."""
import datetime as dt

import pytest

from orders.canonical import RequestRejected, parse_order_request
from orders.canonical.base import parse_date
from orders.intake.csv.fields import IRIS_INTAKE_FIELDS, target_paths
from orders.intake.csv.mapping import cell_value, derived_order_id, plan_build
from orders.intake.csv.reader import FileRefused

GUID = "63e3c9ef-66ac-4154-b0c2-494515eb99a7"


def plan(header, **kwargs):
    return plan_build(header, client_guid=GUID, **kwargs)


def test_every_iris_intake_field_has_a_target():
    assert set(IRIS_INTAKE_FIELDS.values()) <= target_paths()
    assert len(IRIS_INTAKE_FIELDS) == 50  # the table of integration/BasicIntegrations.md


def test_default_mapping_ignores_case_and_spaces():
    p = plan(["  patientlocalid ", "PATIENT FIRST NAME", "Patient_Last_Name", "patient.dob", "Order Local Id"])
    assert [c.target for c in p.columns] == ["Patient.LocalId", "Patient.Name.First", "Patient.Name.Last",
                                             "Patient.Dob", "Order.LocalId"]


def test_a_row_becomes_an_order_request_with_defaults():
    p = plan(["SiteLocalId", "OrderLocalId", "EvaluationType", "PatientLocalId", "PatientFirstName",
              "PatientLastName", "PatientDob", "PatientBirthGender", "PatientIdentityGender", "SingleEyeOnly"])
    body = p.request(["PC1234", "A1", "DR; AMD", "M1", "Ada", "Lovelace", "1/2/1960", "Female", "", "yes"])
    assert body == {
        "ClientGuid": GUID, "OrderControlCode": "NW",
        "Site": {"LocalId": "PC1234"},
        "Order": {"LocalId": "A1", "EvaluationTypes": ["DR", "AMD"], "SingleEyeOnly": "yes"},
        "Patient": {"LocalId": "M1", "Name": {"First": "Ada", "Last": "Lovelace"}, "Dob": "1/2/1960",
                    "Genders": [{"Context": "BirthGender", "Gender": "F"}]},
    }
    request = parse_order_request(body)
    assert request.patient.dob == dt.date(1960, 1, 2) and request.order.single_eye_only is True


@pytest.mark.parametrize(("cell", "expected"), [
    ("1/2/1960", dt.date(1960, 1, 2)),
    ("1960-01-02", dt.date(1960, 1, 2)),
    ("01/02/1960 0:00", dt.date(1960, 1, 2)),
    ("1/2/1960 12:00:00 AM", dt.date(1960, 1, 2)),
    (dt.datetime(1960, 1, 2), dt.date(1960, 1, 2)),  # an XLSX date cell
    (dt.date(1960, 1, 2), dt.date(1960, 1, 2)),
])
def test_excel_date_spellings(cell, expected):
    body = plan(["PatientDob"]).request([cell])
    assert parse_date(body["Patient"]["Dob"]) == expected  # the canonical parser's reading


def test_scheduled_time_with_am_pm_and_xlsx_datetime():
    p = plan(["OrderScheduledTime"])
    assert p.request(["3/4/2026 1:30 PM"])["Order"]["ScheduledTime"] == "2026-03-04T13:30:00"
    assert p.request([dt.datetime(2026, 3, 4, 10, 30)])["Order"]["ScheduledTime"] == "2026-03-04T10:30:00"


def test_excel_numbers_lose_their_decimal_point():
    assert cell_value(8135550100.0) == "8135550100" and cell_value(1234567893) == "1234567893"
    assert cell_value(2.5) == "2.5" and cell_value(True) is True and cell_value("  ") is None


def test_organization_mapping_wins_and_can_ignore_a_column():
    header = ["MRN", "Last", "PatientLocalId"]
    p = plan(header, columns={"mrn": "Patient.LocalId", "last": "Patient.Name.Last", "patientlocalid": ""})
    assert [(c.header, c.target) for c in p.columns] == [("MRN", "Patient.LocalId"), ("Last", "Patient.Name.Last")]
    assert not any("PatientLocalId" in warning for warning in p.warnings)  # deliberately ignored: no warning


def test_unknown_duplicate_and_ssn_columns_are_ignored_with_a_warning():
    p = plan(["PatientLocalId", "Favourite colour", "patient local id", "SSN", "", "PatientLastName"])
    assert [c.header for c in p.columns] == ["PatientLocalId", "PatientLastName"]
    warnings = " | ".join(p.warnings)
    assert "'Favourite colour' maps to no order field" in warnings
    assert "'patient local id' maps to the same field as column 'PatientLocalId'" in warnings
    assert "'SSN' looks like a Social Security number" in warnings
    assert "column 5 has no header" in warnings
    assert "SSN" not in str(p.request(["M1", "blue", "M2", "123-45-6789", "", "Smith"]))


def test_a_file_without_any_order_column_is_refused():
    with pytest.raises(FileRefused, match="none of the columns \\('Name', 'Colour'\\) is an order field"):
        plan(["Name", "Colour"])


def test_mapping_defaults_fill_blank_cells_and_missing_columns():
    p = plan(["PatientLocalId", "SiteLocalId"], defaults={"Order.EvaluationTypes": "DR,AMD", "Site.LocalId": "PC1234"})
    assert p.request(["M1", ""])["Site"] == {"LocalId": "PC1234"}
    assert p.request(["M1", "TX200"])["Site"] == {"LocalId": "TX200"}
    assert p.request(["M1", ""])["Order"]["EvaluationTypes"] == ["DR", "AMD"]


def test_rejected_fields_map_back_to_the_files_own_headers():
    header = ["MRN", "Birth date", "Sex at birth", "Identity", "Site", "Doctor NPI"]
    p = plan(header, columns={"mrn": "Patient.LocalId", "birthdate": "Patient.Dob",
                              "sexatbirth": "Patient.Genders[BirthGender]", "identity": "Patient.Genders[IdentityGender]",
                              "site": "Site.LocalId", "doctornpi": "OrderingProvider.NPI"})
    cells = ["M1", "31/31/1960", "", "Q", "PC1234", "12"]
    body = p.request(cells)
    with pytest.raises(RequestRejected) as rejected:
        parse_order_request(body)
    columns = {error.field: p.column_for(error.field, cells) for error in rejected.value.errors}
    assert columns["Patient.Dob"] == "Birth date"
    assert columns["Patient.Genders[0].Gender"] == "Identity"  # birth gender blank: the first entry is Identity
    # Fields no column carries are named by their IRIS intake name; container errors by a child column.
    assert p.column_for("Patient.Name.First", cells) == "PatientFirstName"
    assert p.column_for("Site", cells) == "Site"
    assert p.column_for("OrderingProvider.NPI", cells) == "Doctor NPI"
    assert p.column_for("", cells) == ""


def test_rows_without_an_order_id_get_a_stable_derived_one():
    header = ["SiteLocalId", "PatientLocalId", "EvaluationType", "OrderScheduledTime"]
    first = plan(header).request(["PC1234", "M1", "dr", "3/4/2026 10:30"])
    # A re-export in another layout and spelling is the same order.
    again = plan(list(reversed(header))).request(["2026-03-04T08:00:00", "1", "M1", "PC1234"])
    other_day = plan(header).request(["PC1234", "M1", "DR", "3/5/2026"])
    assert first["Order"]["LocalId"].startswith("CSV-") and len(first["Order"]["LocalId"]) == 24
    assert first["Order"]["LocalId"] == again["Order"]["LocalId"] == derived_order_id(first)
    assert other_day["Order"]["LocalId"] != first["Order"]["LocalId"]
    assert "LocalId" not in (plan(["EvaluationType"]).request(["DR"]).get("Order") or {})  # no patient: no id
