"""Sample results for the endpoint form's "send test": small, valid documents of each kind about a
patient and order that are obviously not real (TEST / SAMPLE, MSH-11 "T" for HL7)."""
from __future__ import annotations

import datetime as dt
import io
import json
import secrets

from django.conf import settings
from pypdf import PdfWriter

from .base import Contacts, DeliveryPayload, DocumentKind

ORDER_LOCAL_ID = "IRIS-TEST"
PATIENT_LOCAL_ID = "TEST-PATIENT"
FIRST_NAME, LAST_NAME = "Sample", "Test"
TEXT = "IRIS Portal test delivery. This is not a patient result."

CONTENT_TYPES = {
    DocumentKind.PDF: ("application/pdf", "pdf"),
    DocumentKind.HTML: ("text/html; charset=utf-8", "html"),
    DocumentKind.JSON: ("application/json", "json"),
    DocumentKind.ORU: ("application/hl7-v2", "hl7"),
    DocumentKind.MDM: ("application/hl7-v2", "hl7"),
    DocumentKind.DFT: ("application/hl7-v2", "hl7"),
    DocumentKind.CDA: ("application/xml", "xml"),
}


def sample_payload(kind: DocumentKind, *, recipient: Contacts | None = None, client_guid: str = "",
                   organization_id: int | None = None) -> DeliveryPayload:
    now = dt.datetime.now(dt.UTC)
    content_type, extension = CONTENT_TYPES[kind]
    return DeliveryPayload(
        file_name=f"{ORDER_LOCAL_ID}.{extension}", content=_CONTENT[kind](now), content_type=content_type,
        document_kind=kind, order_id=0, order_local_id=ORDER_LOCAL_ID, patient_id=0,
        patient_local_id=PATIENT_LOCAL_ID, patient_first_name=FIRST_NAME, patient_last_name=LAST_NAME,
        organization_id=organization_id, client_guid=client_guid, site_local_id="TEST-SITE",
        department_local_id="TEST-DEPT", recipient=recipient or Contacts(), reference_time=now,
        delivery_key=f"test-{secrets.token_hex(6)}", result_link=f"{settings.IRIS_PORTAL_URL}/",
    )


def _pdf(now: dt.datetime) -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=612, height=792)
    writer.add_metadata({"/Title": TEXT, "/Subject": f"Sample created {now:%Y-%m-%d %H:%M} UTC"})
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def _html(now: dt.datetime) -> bytes:
    return f"<!doctype html><html><head><title>Test</title></head><body><p>{TEXT}</p></body></html>".encode()


def _json(now: dt.datetime) -> bytes:
    return json.dumps({"Version": "2.3.1", "ResultCode": "F", "Sample": True, "Note": TEXT,
                       "Order": {"LocalId": ORDER_LOCAL_ID}, "Patient": {"LocalId": PATIENT_LOCAL_ID}}).encode()


def _hl7(message_type: str, trigger: str):
    def build(now: dt.datetime) -> bytes:
        stamp, control_id = now.strftime("%Y%m%d%H%M%S"), f"TEST{secrets.token_hex(6).upper()}"
        segments = [  # MSH-11 "T": a test message
            f"MSH|^~\\&|IRIS|IRIS|TEST|TEST|{stamp}||{message_type}^{trigger}|{control_id}|T|2.5.1",
            f"PID|1||{PATIENT_LOCAL_ID}||{LAST_NAME}^{FIRST_NAME}",
            f"OBX|1|TX|TEST^Test delivery||{TEXT}||||||F",
        ]
        return "\r".join(segments).encode() + b"\r"
    return build


def _cda(now: dt.datetime) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<ClinicalDocument xmlns="urn:hl7-org:v3">'
        '<typeId root="2.16.840.1.113883.1.3" extension="POCD_HD000040"/>'
        f'<title>{TEXT}</title><effectiveTime value="{now:%Y%m%d%H%M%S}"/>'
        '<component><nonXMLBody><text mediaType="text/plain">'
        f'{TEXT}</text></nonXMLBody></component></ClinicalDocument>'
    ).encode()


_CONTENT = {
    DocumentKind.PDF: _pdf,
    DocumentKind.HTML: _html,
    DocumentKind.JSON: _json,
    DocumentKind.ORU: _hl7("ORU", "R01"),
    DocumentKind.MDM: _hl7("MDM", "T02"),
    DocumentKind.DFT: _hl7("DFT", "P03"),
    DocumentKind.CDA: _cda,
}
