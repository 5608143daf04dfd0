"""Generating and storing results: once per grading (F), a correction (C), resends (R); the
grading and ResendResult hooks; the documents (PDF text and metadata, HTML, JSON, CSV, CDA)."""
import base64
import hashlib
import io
import json
import xml.etree.ElementTree as ET

import pytest
from pypdf import PdfReader

from delivery.models import ResultSet
from delivery.results.csv_export import csv_columns
from delivery.results.renderers import generated_kinds
from delivery.results.services import result_generate, result_resend
from grading.services import grading_reopen, grading_submit
from orders.services.order_request import order_request_process
from tests.factories import UserFactory

from .factories import dr_eye, eager_celery, grader_for, graded_order, normal_eye  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db
CDA = "{urn:hl7-org:v3}"


def read(result_set, kind) -> bytes:
    with result_set.document(kind).file.open("rb") as handle:
        return handle.read()


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


@pytest.fixture
def pathology():
    return graded_order(od=dr_eye("Moderate", "Positive"), os=dr_eye("Mild"), notes="Drusen noted near the arcade.",
                        local_id="ORD-4711", encounter_number="ENC-99")


def test_first_grading_stores_every_document_once(pathology):
    result_set = result_generate(grading_id=pathology.pk)
    assert result_set.result_code == "F" and result_set.grading_version == 1
    kinds = sorted(doc.kind for doc in result_set.documents.all())
    assert kinds == sorted(generated_kinds()) == ["cda", "csv", "dft", "html", "json", "mdm", "oru", "pdf"]
    for document in result_set.documents.all():
        data = read(result_set, document.kind)
        assert document.size == len(data) > 0 and document.sha256 == hashlib.sha256(data).hexdigest()
    assert result_generate(grading_id=pathology.pk) == result_set  # generated once
    assert ResultSet.objects.count() == 1
    with pytest.raises(ValueError, match="immutable"):
        result_set.save()


def test_pdf_shows_patient_findings_and_care_plan_and_carries_ids(pathology):
    result_set = result_generate(grading_id=pathology.pk)
    order, patient = pathology.order, pathology.order.patient
    data = read(result_set, "pdf")
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) == 1
    text = pdf_text(data)
    for expected in ("Maria Lopez", "03/14/1958", patient.local_id, "Tampa Eye Clinic", "Diabetic Retinopathy",
                     "Moderate", "Macular Edema", "Positive", "Mild", pathology.care_plan_title,
                     pathology.care_plan_instructions, "E11.3311", "Drusen noted near the arcade.",
                     "NPI 1234567893", "Grace Reader, OD", "Pat Primary, MD",
                     f"Order {order.local_id}", "Page 1 of 1"):
        assert expected in text, expected
    meta = reader.metadata
    assert order.local_id in meta.title
    for identifier in (order.local_id, str(order.pk), patient.local_id, str(patient.pk), order.site.local_id):
        assert identifier in meta.subject and identifier in meta["/Keywords"]
    assert meta["/irisorderlocalid"] == order.local_id and meta["/irispatientlocalid"] == patient.local_id
    assert meta["/iristransactionid"] == str(result_set.transaction_id)
    width, height = reader.pages[0].mediabox.width, reader.pages[0].mediabox.height
    assert (round(width), round(height)) == (612, 792)  # US Letter by default


def test_html_is_self_contained_and_json_embeds_the_pdf(pathology):
    result_set = result_generate(grading_id=pathology.pk)
    html = read(result_set, "html").decode()
    assert "Maria Lopez" in html and pathology.care_plan_title in html
    assert html.count('src="data:image/jpeg;base64,') == 2 and "file://" not in html and "http://" not in html
    assert "[[" not in html
    payload = json.loads(read(result_set, "json"))
    assert payload["ResultsDocument"]["Type"] == "PDF" and payload["ResultsDocument"]["Encoding"] == "Base64"
    assert base64.b64decode(payload["ResultsDocument"]["Content"]) == read(result_set, "pdf")
    assert payload["TransactionId"] == str(result_set.transaction_id)
    assert {k: v for k, v in payload.items() if k != "ResultsDocument"} == \
        {k: v for k, v in result_set.order_result.items() if k != "ResultsDocument"}


def test_csv_row_has_the_documented_columns(pathology):
    import csv

    rows = list(csv.reader(io.StringIO(read(result_generate(grading_id=pathology.pk), "csv").decode())))
    assert rows[0] == [
        "Order Id", "Scheduled Date", "Order Status", "Evaluation Type(s)", "Exam Location", "Patient Name",
        "Patient Gender", "Patient DOB", "Patient MRN", "Patient Phone Number", "Camera Operator",
        "Ordering Provider", "Interpreting Provider", "Interpretation Date", "Findings", "Diagnoses", "CPT",
        "Care Plan", "Original images", "Camera Operator Notes", "Interpreting Provider Notes", "Results Sent Date",
        "Order State", "Order Creation Source"] == [column.header for column in csv_columns()]
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["Order Id"] == str(pathology.order_id) and row["Patient Name"] == "Maria Lopez"
    assert row["Findings"] == ("OD Diabetic Retinopathy: Moderate|OD Macular Edema: Positive|"
                               "OS Diabetic Retinopathy: Mild|OS Macular Edema: None")
    assert row["Diagnoses"] == "E113311|E113292" and row["CPT"] == "92250" and row["Original images"] == "2"
    assert row["Interpreting Provider"] == "Grace Reader, OD (NPI 1234567893)"
    assert row["Patient Phone Number"] == "813-555-0142" and row["Order Creation Source"] == "Manual"
    assert row["Camera Operator"] == "Carla Operator" and row["Order State"] == "FL"


def test_cda_wraps_the_pdf_with_patient_demographics_and_no_ssn(pathology):
    result_set = result_generate(grading_id=pathology.pk)
    data = read(result_set, "cda")
    assert data.startswith(b"<?xml")
    root = ET.fromstring(data)
    assert root.tag == f"{CDA}ClinicalDocument"
    templates = {el.get("root") for el in root.findall(f"{CDA}templateId")}
    assert {"2.16.840.1.113883.10.20.22.1.1", "2.16.840.1.113883.10.20.22.1.10"} <= templates
    role = root.find(f"{CDA}recordTarget/{CDA}patientRole")
    patient = role.find(f"{CDA}patient")
    assert patient.find(f"{CDA}name/{CDA}given").text == "Maria"
    assert patient.find(f"{CDA}name/{CDA}family").text == "Lopez"
    assert patient.find(f"{CDA}birthTime").get("value") == "19580314"
    assert patient.find(f"{CDA}administrativeGenderCode").get("code") == "F"
    assert patient.find(f"{CDA}raceCode").get("code") == "2106-3"
    assert patient.find(f"{CDA}ethnicGroupCode").get("code") == "2135-2"
    assert patient.find(f"{CDA}maritalStatusCode").get("code") == "M"
    assert patient.find(f"{CDA}languageCommunication/{CDA}languageCode").get("code") == "es"
    assert role.find(f"{CDA}addr/{CDA}city").text == "Tampa"
    assert role.find(f"{CDA}telecom").get("value") == "tel:8135550142"
    assert role.find(f"{CDA}id").get("extension") == pathology.order.patient.local_id
    # No SSN: nothing under the SSA's OID anywhere.
    assert not [el for el in root.iter() if el.get("root") == "2.16.840.1.113883.4.1"]
    author = root.find(f"{CDA}author/{CDA}assignedAuthor/{CDA}id")
    assert (author.get("root"), author.get("extension")) == ("2.16.840.1.113883.4.6", "1234567893")
    body = root.find(f"{CDA}component/{CDA}nonXMLBody/{CDA}text")
    assert body.get("mediaType") == "application/pdf" and body.get("representation") == "B64"
    assert base64.b64decode(body.text) == read(result_set, "pdf")


def test_cda_without_optional_demographics():
    from tests.factories import PatientFactory, SiteFactory

    site = SiteFactory(state="FL")
    grading = graded_order(site=site, patient=PatientFactory(site=site))
    root = ET.fromstring(read(result_generate(grading_id=grading.pk), "cda"))
    role = root.find(f"{CDA}recordTarget/{CDA}patientRole")
    assert role.find(f"{CDA}addr").get("nullFlavor") == "UNK" and role.find(f"{CDA}telecom").get("nullFlavor") == "UNK"
    patient = role.find(f"{CDA}patient")
    assert patient.find(f"{CDA}raceCode") is None and patient.find(f"{CDA}ethnicGroupCode") is None
    assert patient.find(f"{CDA}administrativeGenderCode").get("nullFlavor") == "UNK"


def test_correction_makes_a_new_version_with_result_code_c(pathology):
    first = result_generate(grading_id=pathology.pk)
    staff = UserFactory(organization=grader_for(["DR"]).organization, is_staff=True)
    order = grading_reopen(order=pathology.order, by=staff)
    correction = grading_submit(order=order, grader=grader_for(["DR"]), od=normal_eye(), os=normal_eye()).grading
    second = result_generate(grading_id=correction.pk)
    assert second.result_code == "C" and second.grading_version == 2 and second.pk != first.pk
    assert "Corrected report" in pdf_text(read(second, "pdf"))
    # A late task for the superseded grading changes nothing.
    assert result_generate(grading_id=pathology.pk) == first
    assert ResultSet.objects.filter(order=order).count() == 2


def test_resend_regenerates_with_result_code_r(pathology):
    first = result_generate(grading_id=pathology.pk)
    resent = result_resend(order_id=pathology.order_id)
    again = result_resend(order_id=pathology.order_id)
    assert {resent.result_code, again.result_code} == {"R"} and len({first.pk, resent.pk, again.pk}) == 3
    assert json.loads(read(resent, "json"))["ResultCode"] == "R"


def test_grading_hook_generates_results_after_commit(eager_celery, django_capture_on_commit_callbacks, settings):
    assert settings.IRIS_RESULTS_GENERATE_HANDLER == "delivery.results.services.results_generate_handler"
    with django_capture_on_commit_callbacks(execute=True):
        grading = graded_order()
    result_set = ResultSet.objects.get(grading=grading)
    assert result_set.result_code == "F" and result_set.document("pdf") is not None


def test_resend_result_request_generates_r(eager_celery, django_capture_on_commit_callbacks):
    grading = graded_order(local_id="RESEND-1")
    result_generate(grading_id=grading.pk)
    organization = grading.order.organization
    with django_capture_on_commit_callbacks(execute=True):
        outcome = order_request_process(body=json.dumps({
            "OrderControlCode": "ResendResult", "ClientGuid": str(organization.client_guid),
            "Site": {"LocalId": grading.order.site.local_id}, "Order": {"LocalId": "RESEND-1"}}), channel="cli")
    assert outcome.success, outcome.error
    assert list(ResultSet.objects.filter(order=grading.order).values_list("result_code", flat=True)
                .order_by("created_at", "id")) == ["F", "R"]


def test_generated_handlers_are_called_with_the_result_set(settings, django_capture_on_commit_callbacks):
    calls.clear()
    settings.IRIS_RESULTS_GENERATED_HANDLERS = [f"{__name__}.record_call"]
    grading = graded_order()
    with django_capture_on_commit_callbacks(execute=True):
        result_set = result_generate(grading_id=grading.pk)
    assert calls == [result_set.pk]


calls: list[int] = []


def record_call(result_set_id: int) -> None:
    calls.append(result_set_id)


def test_a_long_report_numbers_its_pages_of_the_real_total():
    line = "scattered hard exudates near the arcade, stable since the last exam"
    notes = "\n".join(f"Observation {n}: {line}." for n in range(90))
    grading = graded_order(od=dr_eye("Mild"), notes=notes, local_id="LONG-1")
    reader = PdfReader(io.BytesIO(read(result_generate(grading_id=grading.pk), "pdf")))
    total = len(reader.pages)
    assert total >= 2
    for number, page in enumerate(reader.pages, start=1):
        text = page.extract_text()
        assert f"Page {number} of {total}" in text and "Order LONG-1" in text
