"""The [[TOKEN]] placeholders of report templates and their values.

Every token of IRIS integration/Results/ReportTemplate.md is here (``documented=True``), plus a
few portal extensions the default templates use. A value is safe HTML: plain values are escaped;
the "complex sections" (findings tables, images, signature, care plan, diagnoses, banner) are
markup built here from escaped parts. Values come only from ReportData (the OrderResult and the
report settings), so every output format agrees."""
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, replace

from django.template.defaultfilters import linebreaksbr
from django.utils import timezone
from django.utils.html import escape, format_html, format_html_join

from orders.reference import EVALUATION_TYPE_BY_CODE, Gender

from .findings import EyeAnswers, eye_answers
from .icd10_text import icd10_display
from .report_data import ReportData
from .report_types import report_type


@dataclass(frozen=True)
class Token:
    name: str
    description: str
    value: Callable[[ReportData, bool], str]
    documented: bool = True


# ---------------------------------------------------------------------------------------------
# Formatting helpers


def _parse(value) -> dt.datetime | dt.date | None:
    if not value:
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.datetime.fromisoformat(value) if "T" in value else dt.date.fromisoformat(value)
    except ValueError:
        return None


def format_date(value) -> str:
    parsed = _parse(value)
    if parsed is None:
        return ""
    if isinstance(parsed, dt.datetime):
        parsed = timezone.localtime(parsed).date() if timezone.is_aware(parsed) else parsed.date()
    return f"{parsed:%m/%d/%Y}"


def format_datetime(value) -> str:
    parsed = _parse(value)
    if parsed is None:
        return ""
    if not isinstance(parsed, dt.datetime):
        return f"{parsed:%m/%d/%Y}"
    if timezone.is_aware(parsed):
        local = timezone.localtime(parsed)
        return f"{local:%m/%d/%Y %H:%M} {local.tzname()}"
    return f"{parsed:%m/%d/%Y %H:%M}"


def age_on(dob, when) -> str:
    born, on = _parse(dob), _parse(when) or timezone.now()
    if born is None:
        return ""
    if isinstance(on, dt.datetime):
        on = timezone.localtime(on).date() if timezone.is_aware(on) else on.date()
    years = on.year - born.year - ((on.month, on.day) < (born.month, born.day))
    return str(max(years, 0))


def person_name(name: dict | None) -> str:
    if not name:
        return ""
    return " ".join(part for part in (name.get("Title"), name.get("First"), name.get("Last")) if part)


def provider_name(provider: dict | None) -> str:
    if not provider:
        return ""
    name = person_name({**(provider.get("Name") or {}), "Title": None})
    return f"{name}, {provider['Degrees']}" if name and provider.get("Degrees") else name


def _text(value) -> str:
    return escape(value if value is not None else "")


def _get(data: dict | None, *path):
    for key in path:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


# ---------------------------------------------------------------------------------------------
# Complex sections

_EYE_LABELS = {"OD": "Right eye (OD)", "OS": "Left eye (OS)"}
_STATUS_TEXT = {"ungradable": "Ungradable", "missing": "Not imaged", "not_imaged": "Not imaged"}


def eye_findings_html(eye: EyeAnswers) -> str:
    """The findings table of one eye (ReportTemplate.md: "a complex section")."""
    if eye.status != "gradable":
        reason = eye.reason or ("No images of this eye were submitted." if eye.status == "not_imaged" else "")
        return format_html(
            '<table class="findings findings-{}"><tbody>'
            '<tr class="status-row"><th>{}</th><td class="abnormal">{}</td></tr>'
            '{}</tbody></table>',
            eye.side.lower(), "Image quality", _STATUS_TEXT[eye.status],
            format_html('<tr><th>Reason</th><td>{}</td></tr>', reason) if reason else "")
    rows = format_html_join(
        "", '<tr class="{}"><th>{}</th><td>{}</td></tr>',
        (("abnormal" if answer.abnormal else "normal", answer.finding, answer.result or "Noted")
         for answer in eye.answers)) or format_html('<tr class="normal"><th>{}</th><td>{}</td></tr>',
                                                    "Findings", "None noted")
    return format_html('<table class="findings findings-{}"><tbody><tr class="status-row"><th>Image quality</th>'
                       '<td>Gradable</td></tr>{}</tbody></table>', eye.side.lower(), rows)


def _eye(report: ReportData, side: str) -> EyeAnswers:
    eye = eye_answers(_get(report.order_result, "Gradings", side), report.evaluation_types, side)
    missing_reason = report.order_result["Order"].get("MissingEyeReason")
    if eye.status == "not_imaged" and missing_reason:
        return replace(eye, reason=missing_reason)  # the order said why (single-eye orders)
    return eye


def _eye_image(report: ReportData, side: str, embed: bool) -> str:
    picture = report.pictures.get(side)
    if picture is None:
        return format_html('<span class="eye-image eye-image-missing">No image of the {}</span>',
                           _EYE_LABELS[side].split(" (")[0].lower())
    return format_html('<img class="eye-image" src="{}" alt="{}">', picture.src(embed=embed), _EYE_LABELS[side])


def _care_plan(report: ReportData, embed: bool) -> str:
    gradings = report.order_result.get("Gradings") or {}
    title, text = gradings.get("CarePlanName") or "", gradings.get("CarePlanDescription") or ""
    if not (title or text):
        return ""
    return format_html('<span class="care-plan"><strong class="care-plan-title">{}</strong> '
                       '<span class="care-plan-instructions">{}</span></span>', title, text)


def _urgency_banner(report: ReportData, embed: bool) -> str:
    gradings = report.order_result.get("Gradings") or {}
    if gradings.get("Emergent"):
        return format_html('<div class="banner banner-emergent"><strong>{}</strong> {}</div>', "EMERGENT FINDING",
                           "Same-day emergency care is required. Contact the patient today.")
    if gradings.get("Urgent"):
        return format_html('<div class="banner banner-urgent"><strong>{}</strong> {}</div>', "URGENT FINDING",
                           "Prompt referral is required; see the care plan.")
    return ""


def _diagnoses(report: ReportData, embed: bool) -> str:
    codes = _get(report.order_result, "Gradings", "DiagnosisCodes") or []
    if not codes:
        return format_html('<span class="diagnoses diagnoses-none">{}</span>', "No diagnosis codes.")
    items = format_html_join("", '<li><span class="dx-code">{}</span> {}</li>',
                             ((icd10_display(item["Code"]), item["Description"]) for item in codes))
    return format_html('<ul class="diagnoses">{}</ul>', items)


def _grader_signature(report: ReportData, embed: bool) -> str:
    gradings = report.order_result.get("Gradings") or {}
    provider = gradings.get("Provider") or {}
    graded = format_datetime(gradings.get("GradedTime"))
    if provider.get("NPI"):
        name = report.signature_line or provider_name(provider)
        return format_html('<span class="signature"><span class="signature-name">Electronically signed by {}</span>'
                           '<span class="signature-details">NPI {} · {}</span></span>', name, provider["NPI"], graded)
    name = person_name(provider.get("Name")) or "an AI grading service"
    return format_html('<span class="signature"><span class="signature-name">Graded by autonomous AI ({})</span>'
                       '<span class="signature-details">{}</span></span>', name, graded)


def _grader_notes(report: ReportData, embed: bool) -> str:
    notes = [note.get("Text") for note in _get(report.order_result, "Gradings", "Notes") or [] if note.get("Text")]
    if not notes:
        return format_html('<span class="note note-none">{}</span>', "None.")
    # Line breaks as <br> (white-space: pre-wrap costs WeasyPrint a third of its layout time).
    return format_html_join("", '<span class="note">{}</span>',
                            ((linebreaksbr(note, autoescape=True),) for note in notes))


def _logo(report: ReportData, embed: bool) -> str:
    if report.logo is None:
        name = report.organization_name or report.order_result["Site"].get("Name") or ""
        return format_html('<span class="logo-text">{}</span>', name)
    return format_html('<img class="logo" src="{}" alt="{}">', report.logo.src(embed=embed), report.organization_name)


def _result_status(report: ReportData, embed: bool) -> str:
    labels = {"F": "Final report", "C": "Corrected report", "R": "Final report (resent)", "A": "Addendum",
              "P": "Preliminary report"}
    return _text(labels.get(report.order_result.get("ResultCode"), "Report"))


# ---------------------------------------------------------------------------------------------
# The token table


def _plain(getter: Callable[[dict], object]) -> Callable[[ReportData, bool], str]:
    return lambda report, embed: _text(getter(report.order_result))


def _gender(result: dict) -> str:
    code = _get(result, "Patient", "Gender") or ""
    return dict(Gender.choices).get(code, code)


_TOKENS = [
    Token("PATIENT_NAME", "Patient's first and last name", _plain(lambda r: person_name(r["Patient"]["Name"]))),
    Token("PATIENT_AGE", "Patient's age (at the exam)", _plain(lambda r: age_on(
        r["Patient"].get("Dob"), r["Order"].get("ServicedTime") or _get(r, "Gradings", "GradedTime")))),
    Token("PATIENT_GENDER", "Patient's gender", _plain(_gender)),
    Token("PATIENT_DOB", "Patient's birth date", _plain(lambda r: format_date(r["Patient"].get("Dob")))),
    Token("PATIENT_MRN", "Patient MRN (Patient.LocalId)", _plain(lambda r: r["Patient"]["LocalId"])),
    Token("PATIENT_LOCAL_ID", "Id of the patient as provided by the submitting organization",
          _plain(lambda r: r["Patient"]["LocalId"])),
    Token("PATIENT_PHONE", "Patient's phone", _plain(lambda r: r["Patient"].get("Phone"))),
    Token("HEALTHPLAN_MEMBERID", "Health plan membership identifier",
          _plain(lambda r: _get(r, "HealthPlan", "MemberId"))),
    Token("HEALTHPLAN_POLICYNUMBER", "Health plan policy number (not collected: blank)", _plain(lambda r: "")),
    Token("HEALTHPLAN_GROUPNUMBER", "Health plan group number (not collected: blank)", _plain(lambda r: "")),
    Token("HEALTHPLAN_GROUPNAME", "Health plan group name (not collected: blank)", _plain(lambda r: "")),
    Token("HEALTHPLAN_INSURANCE_COMPANY_LOCALID", "Insurance carrier id as specified by the submitting organization",
          _plain(lambda r: _get(r, "HealthPlan", "LocalId"))),
    Token("HEALTHPLAN_INSURANCE_PLAN_ID", "Health plan id", _plain(lambda r: _get(r, "HealthPlan", "LocalId"))),
    Token("HEALTHPLAN_INSURANCE_PLAN_NAME", "Health plan name", _plain(lambda r: _get(r, "HealthPlan", "Name"))),
    Token("CLINIC_NAME", "Client/site name", _plain(lambda r: r["Site"].get("Name") or r["Site"]["LocalId"])),
    Token("ORDER_DATE", "When the order was received",
          _plain(lambda r: format_datetime(r["Order"].get("CreatedTime")))),
    Token("ORDER_SCHEDULED_DATE", "When the order was scheduled",
          _plain(lambda r: format_datetime(r["Order"].get("ScheduledTime")))),
    Token("GRADER_SIGNATURE", "Name and details of the grading provider", _grader_signature),
    Token("CARE_PLAN", "Care plan derived from the findings", _care_plan),
    Token("RIGHT_EYE_FINDINGS", "Findings for the right eye (a complex section)",
          lambda report, embed: eye_findings_html(_eye(report, "OD"))),
    Token("LEFT_EYE_FINDINGS", "Findings for the left eye (a complex section)",
          lambda report, embed: eye_findings_html(_eye(report, "OS"))),
    Token("LEFT_EYE_ORIGINAL_IMAGE", "Image of the left eye", lambda report, embed: _eye_image(report, "OS", embed)),
    Token("RIGHT_EYE_ORIGINAL_IMAGE", "Image of the right eye", lambda report, embed: _eye_image(report, "OD", embed)),
    Token("ORDERING_PROVIDER_NAME", "First, last name of the ordering provider",
          _plain(lambda r: provider_name(r.get("OrderingProvider")))),
    Token("REFERRING_PROVIDER_NAME", "First, last name of the referring provider",
          _plain(lambda r: provider_name(r.get("ReferringProvider")))),
    Token("ENCOUNTER_NUMBER", "Encounter number of the order", _plain(lambda r: r["Order"].get("EncounterNumber"))),
    Token("ORDER_LOCAL_ID", "Id of the order as specified by the submitting organization",
          _plain(lambda r: r["Order"]["LocalId"])),
    Token("PATIENT_ORDER_INFO", "Additional order information given on submission",
          _plain(lambda r: r["Order"].get("AdditionalInfo"))),
    Token("ORDERABLE_IDENTIFIER", "Orderable identifier given on submission",
          _plain(lambda r: r["Order"].get("OrderableIdentifier"))),
    Token("DEPARTMENT_LOCAL_ID", "Id of the department where the exam was performed",
          _plain(lambda r: r["Order"].get("DepartmentId"))),
    Token("DISCLAIMER", "Disclaimer line (report settings of the site or organization)",
          lambda report, embed: _text(report.disclaimer)),
    # Portal extensions.
    Token("REPORT_TITLE", "Title of the exam (by evaluation type)",
          lambda report, embed: _text(report_type(report.primary_evaluation_type).title), documented=False),
    Token("EVALUATION_TYPES", "Evaluation types of the order",
          lambda report, embed: _text(", ".join(EVALUATION_TYPE_BY_CODE[c].description if c in EVALUATION_TYPE_BY_CODE
                                                else c for c in report.evaluation_types)), documented=False),
    Token("ORGANIZATION_NAME", "Name of the organization", lambda report, embed: _text(report.organization_name),
          documented=False),
    Token("ORGANIZATION_LOGO", "Logo of the site or organization (report settings)", _logo, documented=False),
    Token("SITE_ADDRESS", "Address of the site", lambda report, embed: _text(report.site_address), documented=False),
    Token("ORDER_ID", "The portal's id of the order", _plain(lambda r: r["Order"]["PatientOrderId"]), documented=False),
    Token("EXAM_DATE", "When the images were taken", _plain(lambda r: format_date(r["Order"].get("ServicedTime"))),
          documented=False),
    Token("GRADED_DATE", "When the exam was graded",
          _plain(lambda r: format_datetime(_get(r, "Gradings", "GradedTime"))), documented=False),
    Token("RESULT_STATUS", "Final, corrected or resent", _result_status, documented=False),
    Token("URGENCY_BANNER", "Urgent/emergent banner (empty otherwise)", _urgency_banner, documented=False),
    Token("DIAGNOSES", "ICD-10 codes with descriptions", _diagnoses, documented=False),
    Token("GRADER_NOTES", "Notes of the grader", _grader_notes, documented=False),
    Token("EXAM_DESCRIPTION", "What the exam looked for (by evaluation type)",
          lambda report, embed: _text(report_type(report.primary_evaluation_type).about), documented=False),
]
TOKENS: dict[str, Token] = {token.name: token for token in _TOKENS}
DOCUMENTED_TOKENS = [token.name for token in _TOKENS if token.documented]
