"""The PDF report inside an HL7 CDA R2 unstructured document (C-CDA R2.1 "Unstructured
Document", US Realm Header) for Direct messaging (IRIS integration/DirectMessaging.md).

Patient name, birth date and gender always; address, phone, marital status, race, ethnicity and
language when the order supplied them. No SSN, so no patientRole id from the SSN assigning
authority: the patient is identified by MRN under the organization's own OID (2.25.<ClientGuid
as an integer>, the standard UUID-derived OID). Built with xml.etree (standard library)."""
import base64
import datetime as dt
import re
import uuid
import xml.etree.ElementTree as ET

from organizations.models import Organization
from patients.models import Patient

from .report_types import report_type

NS = "urn:hl7-org:v3"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
LOINC = "2.16.840.1.113883.6.1"
NPI_OID = "2.16.840.1.113883.4.6"
CDC_RACE_ETHNICITY = "2.16.840.1.113883.6.238"
ADMINISTRATIVE_GENDER = "2.16.840.1.113883.5.1"
MARITAL_STATUS = "2.16.840.1.113883.5.2"
CONFIDENTIALITY = "2.16.840.1.113883.5.25"
US_REALM_HEADER = "2.16.840.1.113883.10.20.22.1.1"
UNSTRUCTURED_DOCUMENT = "2.16.840.1.113883.10.20.22.1.10"
TEMPLATE_VERSION = "2015-08-01"
DOCUMENT_CODE = ("18748-4", "Diagnostic imaging study")
_ETHNICITY_NAMES = {"2135-2": "Hispanic or Latino", "2186-5": "Not Hispanic or Latino"}
_RACE_NAMES = {"1002-5": "American Indian or Alaska Native", "2028-9": "Asian", "2054-5": "Black or African American",
               "2076-8": "Native Hawaiian or Other Pacific Islander", "2106-3": "White", "2131-1": "Other Race"}
_CDC_CODE = re.compile(r"^\d{4}-\d$")
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z]{2})?$")

ET.register_namespace("", NS)
ET.register_namespace("xsi", XSI)


def organization_oid(organization: Organization) -> str:
    return f"2.25.{uuid.UUID(str(organization.client_guid)).int}"


def _ts(value: str | dt.datetime | dt.date | None) -> str | None:
    if not value:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value) if "T" in value else dt.date.fromisoformat(value)
    if isinstance(value, dt.datetime):
        text = value.strftime("%Y%m%d%H%M%S")
        return text + value.strftime("%z") if value.tzinfo else text
    return value.strftime("%Y%m%d")


def _el(parent: ET.Element, tag: str, text: str | None = None, **attrs) -> ET.Element:
    element = ET.SubElement(parent, f"{{{NS}}}{tag}", {k.rstrip("_"): v for k, v in attrs.items() if v is not None})
    if text is not None:
        element.text = text
    return element


def _phone(value: str) -> str:
    digits = re.sub(r"[^\d+]", "", value or "")
    return f"tel:{digits}" if digits else ""


def _gender(patient: Patient) -> dict:
    code = patient.identity_gender or patient.birth_gender
    if code in ("M", "F"):
        return {"code": code, "codeSystem": ADMINISTRATIVE_GENDER, "displayName": "Male" if code == "M" else "Female"}
    if code in ("", "U", "ND", None):
        return {"nullFlavor": "UNK"}
    return {"code": "UN", "codeSystem": ADMINISTRATIVE_GENDER, "displayName": "Undifferentiated"}


def _patient_role(root: ET.Element, patient: Patient, organization: Organization) -> None:
    role = _el(_el(root, "recordTarget"), "patientRole")
    _el(role, "id", root=organization_oid(organization), extension=patient.local_id,
        assigningAuthorityName=organization.name)
    if any((patient.street1, patient.city, patient.state, patient.postal_code)):
        addr = _el(role, "addr", use="HP")
        for line in (patient.street1, patient.street2):
            if line:
                _el(addr, "streetAddressLine", line)
        for tag, value in (("city", patient.city), ("state", patient.state), ("postalCode", patient.postal_code)):
            if value:
                _el(addr, tag, value)
        _el(addr, "country", "US")
    else:
        _el(role, "addr", nullFlavor="UNK")
    phone = _phone(patient.phone)
    if phone:
        _el(role, "telecom", use="HP", value=phone)
    else:
        _el(role, "telecom", nullFlavor="UNK")
    person = _el(role, "patient")
    name = _el(person, "name", use="L")
    _el(name, "given", patient.first_name)
    _el(name, "family", patient.last_name)
    _el(person, "administrativeGenderCode", **_gender(patient))
    _el(person, "birthTime", value=_ts(patient.dob))
    if patient.marital_status:
        _el(person, "maritalStatusCode", code=patient.marital_status, codeSystem=MARITAL_STATUS,
            displayName=patient.get_marital_status_display())
    if _CDC_CODE.match(patient.race or ""):
        _el(person, "raceCode", code=patient.race, codeSystem=CDC_RACE_ETHNICITY,
            displayName=_RACE_NAMES.get(patient.race))
    if _CDC_CODE.match(patient.ethnicity or ""):
        _el(person, "ethnicGroupCode", code=patient.ethnicity, codeSystem=CDC_RACE_ETHNICITY,
            displayName=_ETHNICITY_NAMES.get(patient.ethnicity))
    if _LANGUAGE.match(patient.language or ""):
        _el(_el(person, "languageCommunication"), "languageCode", code=patient.language.lower())


def _author(root: ET.Element, gradings: dict, when: str | None) -> None:
    author = _el(root, "author")
    _el(author, "time", value=when)
    assigned = _el(author, "assignedAuthor")
    provider = gradings.get("Provider") or {}
    name = provider.get("Name") or {}
    if provider.get("NPI"):
        _el(assigned, "id", root=NPI_OID, extension=provider["NPI"])
        person = _el(_el(assigned, "assignedPerson"), "name")
        _el(person, "given", name.get("First") or "")
        _el(person, "family", name.get("Last") or "")
        if provider.get("Degrees"):
            _el(person, "suffix", provider["Degrees"])
    else:  # an AI grading service
        _el(assigned, "id", nullFlavor="NA")
        device = _el(assigned, "assignedAuthoringDevice")
        software = " ".join(part for part in (name.get("First"), name.get("Last")) if part)
        _el(device, "softwareName", software or "AI grading service")


def cda_document(*, order_result: dict, patient: Patient, organization: Organization, pdf: bytes,
                 version: int = 1) -> bytes:
    """The CDA XML (UTF-8, with declaration) of one result. ``version``: the grading version
    (a correction is version 2 of the order's document set)."""
    order = order_result["Order"]
    gradings = order_result.get("Gradings") or {}
    org_oid = organization_oid(organization)
    root = ET.Element(f"{{{NS}}}ClinicalDocument")
    _el(root, "realmCode", code="US")
    _el(root, "typeId", root="2.16.840.1.113883.1.3", extension="POCD_HD000040")
    _el(root, "templateId", root=US_REALM_HEADER, extension=TEMPLATE_VERSION)
    _el(root, "templateId", root=UNSTRUCTURED_DOCUMENT, extension=TEMPLATE_VERSION)
    _el(root, "id", root=str(uuid.UUID(order_result["TransactionId"])))
    _el(root, "code", code=DOCUMENT_CODE[0], codeSystem=LOINC, codeSystemName="LOINC", displayName=DOCUMENT_CODE[1])
    types = order["EvaluationTypes"]
    _el(root, "title", f"{report_type(types[0] if types else 'DR').title} report")
    created = _ts(order_result.get("Timestamp")) or _ts(dt.datetime.now(dt.UTC))
    _el(root, "effectiveTime", value=created)
    _el(root, "confidentialityCode", code="N", codeSystem=CONFIDENTIALITY)
    _el(root, "languageCode", code="en-US")
    # One document set per order; a correction or resend is a new version of it.
    _el(root, "setId", root=str(uuid.uuid5(uuid.NAMESPACE_URL, f"iris-portal:order:{order['PatientOrderId']}")))
    _el(root, "versionNumber", value=str(version))
    _patient_role(root, patient, organization)
    _author(root, gradings, _ts(gradings.get("GradedTime")) or created)
    custodian = _el(_el(_el(root, "custodian"), "assignedCustodian"), "representedCustodianOrganization")
    _el(custodian, "id", root=org_oid)
    _el(custodian, "name", organization.name)
    fulfils = _el(_el(root, "inFulfillmentOf"), "order")
    _el(fulfils, "id", root=org_oid, extension=order["LocalId"])
    service = _el(_el(root, "documentationOf"), "serviceEvent", classCode="PCPR")
    _el(_el(service, "effectiveTime"), "low", value=_ts(order.get("ServicedTime")) or created)
    body = _el(_el(root, "component"), "nonXMLBody")
    _el(body, "text", base64.b64encode(pdf).decode("ascii"), mediaType="application/pdf", representation="B64")
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)
