"""The CSV export of results (IRIS integration/Results/Resultsgeneration.md, "CSV Field
Descriptions"): one row per order, computed from its OrderResult.

``csv_columns()`` is the one list of columns: the result's CSV document uses it and so can the
order list's CSV export (build each order's OrderResult with ``grading=None`` when it is not
graded yet). Dates are ISO 8601 as in the OrderResult; lists are pipe-delimited; cells that a
spreadsheet would run as a formula are prefixed with an apostrophe."""
import csv
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from orders.models import OrderSource

from .findings import eye_answers
from .tokens import person_name, provider_name


@dataclass(frozen=True)
class RowInput:
    order_result: dict
    source: str = ""  # orders.OrderSource value of the order
    results_sent_at: str = ""  # ISO time when every delivery of the result completed


@dataclass(frozen=True)
class Column:
    header: str
    value: Callable[[RowInput], object]


_SOURCE_LABELS = {
    OrderSource.WEB: "Manual", OrderSource.CSV: "CSV Import", OrderSource.HL7: "HL7",
    OrderSource.CLOUDDIRECT: "Cloud Direct", OrderSource.FHIR: "FHIR", OrderSource.CLI: "Command Line",
}


def order_creation_source(source: str) -> str:
    """"Manual" when a user created the order in the portal (as IRIS says), else the channel."""
    return _SOURCE_LABELS.get(source, source)


def _g(row: RowInput, *path):
    data = row.order_result
    for key in path:
        data = data.get(key) if isinstance(data, dict) else None
    return data


def findings_cell(order_result: dict) -> str:
    """Every answer of every imaged eye: ``OD Diabetic Retinopathy: Mild|OS ...``."""
    gradings = order_result.get("Gradings")
    if not gradings:
        return ""
    parts = []
    for side in ("OD", "OS"):
        eye = eye_answers(gradings.get(side), order_result["Order"]["EvaluationTypes"], side)
        if eye.status == "not_imaged":
            continue
        if eye.status != "gradable":
            label = "Ungradable" if eye.status == "ungradable" else "Not imaged"
            parts.append(f"{side} {label}" + (f": {eye.reason}" if eye.reason else ""))
            continue
        parts += [f"{side} {answer.finding}: {answer.result}" for answer in eye.answers]
    return "|".join(parts)


def _notes(notes) -> str:
    return "|".join(note.get("Text") or "" for note in notes or [] if note.get("Text"))


def _camera_operator(row: RowInput) -> str:
    operator = _g(row, "CameraOperator")
    if not operator:
        return ""
    return person_name(operator.get("Name")) or operator.get("UserName") or ""


def _provider(provider: dict | None) -> str:
    if not provider:
        return ""
    name = provider_name(provider)
    return f"{name} (NPI {provider['NPI']})" if provider.get("NPI") else name


_COLUMNS = (
    Column("Order Id", lambda r: _g(r, "Order", "PatientOrderId")),
    Column("Scheduled Date", lambda r: _g(r, "Order", "ScheduledTime")),
    Column("Order Status", lambda r: _g(r, "Order", "Status")),
    Column("Evaluation Type(s)", lambda r: "|".join(_g(r, "Order", "EvaluationTypes") or [])),
    Column("Exam Location", lambda r: _g(r, "Site", "Name") or _g(r, "Site", "LocalId")),
    Column("Patient Name", lambda r: person_name(_g(r, "Patient", "Name"))),
    Column("Patient Gender", lambda r: _g(r, "Patient", "Gender")),
    Column("Patient DOB", lambda r: _g(r, "Patient", "Dob")),
    Column("Patient MRN", lambda r: _g(r, "Patient", "LocalId")),
    Column("Patient Phone Number", lambda r: _g(r, "Patient", "Phone")),
    Column("Camera Operator", _camera_operator),
    Column("Ordering Provider", lambda r: _provider(_g(r, "OrderingProvider"))),
    Column("Interpreting Provider", lambda r: _provider(_g(r, "Gradings", "Provider"))),
    Column("Interpretation Date", lambda r: _g(r, "Gradings", "GradedTime")),
    Column("Findings", lambda r: findings_cell(r.order_result)),
    Column("Diagnoses", lambda r: "|".join(_g(r, "Gradings", "DxCodes") or [])),
    Column("CPT", lambda r: _g(r, "Cpt", "Code")),
    Column("Care Plan", lambda r: _g(r, "Gradings", "CarePlanName")),
    Column("Original images", lambda r: (_g(r, "ImageDetails", "RightEyeOriginalCount") or 0)
           + (_g(r, "ImageDetails", "LeftEyeOriginalCount") or 0)),
    Column("Camera Operator Notes", lambda r: _notes(_g(r, "CameraOperator", "Notes"))),
    Column("Interpreting Provider Notes", lambda r: _notes(_g(r, "Gradings", "Notes"))),
    Column("Results Sent Date", lambda r: r.results_sent_at),
    Column("Order State", lambda r: _g(r, "Order", "State")),
    Column("Order Creation Source", lambda r: order_creation_source(r.source)),
)


def csv_columns() -> tuple[Column, ...]:
    """The columns, in the documented order."""
    return _COLUMNS


def _cell(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_row(order_result: dict, *, source: str = "", results_sent_at: str = "") -> list[str]:
    row = RowInput(order_result, source, results_sent_at or "")
    return [_cell(column.value(row)) for column in _COLUMNS]


def csv_document(rows: Iterable[tuple], *, header: bool = True) -> str:
    """A CSV file (CRLF line ends, as RFC 4180) of ``(order_result, source[, results_sent_at])`` rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    if header:
        writer.writerow([column.header for column in _COLUMNS])
    for row in rows:
        writer.writerow(csv_row(row[0], source=row[1] if len(row) > 1 else "",
                                results_sent_at=row[2] if len(row) > 2 else ""))
    return buffer.getvalue()
