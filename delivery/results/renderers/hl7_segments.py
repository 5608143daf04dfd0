"""HL7 v2.4 building blocks shared by the ORU^R01, MDM^T02 and DFT^P03 renderers (IRIS
integration/ORU, MDM, DFT_Results): escaping, the segments the three messages have in common
(MSH, EVN, PID, PV1, OBX) and the observation series (discrete results, narrative, the PDF).

The registry lists every module of this package, so this helper has the registry's attributes
with ``GENERATE = False`` and a ``render`` that refuses: it is never stored with a result set and
asking for the kind "hl7_segments" fails with a clear error.

Messages are built as strings with one escaping function (python-hl7 and hl7apy are used by the
tests to parse and validate what comes out): python-hl7's ``escape`` turns every non-ASCII
character into ``\\Xhh\\`` with a one-byte format, which mangles names such as "José"; here text
keeps its characters, the message is UTF-8 and then says so in MSH-18.

Render options (``context.options``, a dict the delivery endpoint passes; defaults from
``settings.IRIS_HL7_RESULT_OPTIONS``): see ``Hl7Options``."""
import base64
import datetime as dt
import hashlib
import textwrap
from dataclasses import dataclass, fields

from django.conf import settings

from grading import catalogue as cat
from grading.careplans import care_plan_choose
from grading.models import CareLevel
from orders.reference import EVALUATION_TYPE_BY_CODE
from organizations.models import HL7Interface, HL7SiteMapping

from ..builder import CPT_DESCRIPTIONS
from ..findings import OTHER_PREFIX, EyeAnswers, eye_answers
from ..icd10_text import icd10_display
from ..tokens import age_on, person_name

MEDIA_TYPE = "application/hl7-v2"
EXTENSION = "hl7"
GENERATE = False  # a helper module, not an output kind

VERSION = "2.4"
ENCODING_CHARACTERS = "^~\\&"
SEGMENT_END = "\r"
_ESCAPES = {"\\": "\\E\\", "|": "\\F\\", "^": "\\S\\", "&": "\\T\\", "~": "\\R\\"}
PDF_MODES = ("ed", "rp", "both", "none")
# Narrative lines are wrapped at word boundaries: HL7 2.4 caps a string value at 199 characters
# (hl7apy's STRICT level checks it) and EMRs often cut OBX-5 shorter; escapes need some room.
NARRATIVE_WIDTH = 180


def render(context) -> bytes:
    raise LookupError("hl7_segments is a helper of the oru/mdm/dft renderers, not an output kind")


# ---------------------------------------------------------------------------------------------
# Encoding


def escape(value) -> str:
    """Text for one HL7 field/component: delimiters as \\F\\ \\S\\ \\T\\ \\R\\ \\E\\; line breaks
    and other control characters as a space (a raw CR would end the segment, a VT or FS would
    break MLLP framing; the narrative splits lines itself)."""
    text = "" if value is None else str(value)
    text = text.replace("\r\n", "\n")
    return "".join(_ESCAPES.get(char, " " if char < " " or char == "\x7f" else char) for char in text)


def _join(separator: str, parts) -> str:
    parts = list(parts)
    while parts and parts[-1] == "":
        parts.pop()
    return separator.join(parts)


def components(*values) -> str:
    """One field of components (``a^b^c``), each value escaped; trailing empties dropped."""
    return _join("^", (escape(value) for value in values))


def subcomponents(*values) -> str:
    return _join("&", (escape(value) for value in values))


def repetitions(values) -> str:
    """Already encoded values joined with ``~``."""
    return "~".join(values)


def segment(name: str, *encoded_fields: str) -> str:
    """A segment from already encoded fields (field 1 first); trailing empty fields dropped."""
    return _join("|", [name, *(field or "" for field in encoded_fields)])


def message_bytes(segments: list[str]) -> bytes:
    """The message: segments ended by CR, UTF-8; MSH-18 names the charset when it is not ASCII."""
    text = SEGMENT_END.join(segments) + SEGMENT_END
    if not text.isascii():
        msh, rest = segments[0], segments[1:]
        msh_fields = msh.split("|")
        msh_fields += [""] * (18 - len(msh_fields))
        msh_fields[17] = "UNICODE UTF-8"
        text = SEGMENT_END.join(["|".join(msh_fields), *rest]) + SEGMENT_END
    return text.encode("utf-8")


def ts(value) -> str:
    """yyyyMMddHHmmss in UTC (as IRIS sends it), from an ISO string or a datetime; '' if none."""
    if not value:
        return ""
    moment = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC)
    return f"{moment:%Y%m%d%H%M%S}"


def date(value) -> str:
    """YYYYMMDD from an ISO date string or a date."""
    if not value:
        return ""
    day = dt.date.fromisoformat(value[:10]) if isinstance(value, str) else value
    return f"{day:%Y%m%d}"


def _moment(value) -> dt.datetime | dt.date:
    if isinstance(value, str):
        return dt.datetime.fromisoformat(value) if "T" in value else dt.date.fromisoformat(value[:10])
    return value


def _mdY(value, *, with_time: bool = False) -> str:
    """MM-DD-YYYY (and HH:MM:SS UTC time) as IRIS's narrative writes dates."""
    if not value:
        return ""
    moment = _moment(value)
    if isinstance(moment, dt.datetime) and moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC)
    if with_time and isinstance(moment, dt.datetime):
        return f"{moment:%m-%d-%Y %H:%M:%S} UTC time"
    return f"{moment:%m-%d-%Y}"


# ---------------------------------------------------------------------------------------------
# Options and the facts every message uses


@dataclass(frozen=True)
class Hl7Options:
    """How one endpoint wants its HL7 results. ``pdf_mode``: ``ed`` (PDF as Base64 in an OBX ED),
    ``rp`` (a signed link in an OBX RP), ``both`` or ``none``; ``narrative``: the report text as
    FT lines; ``cpt2``: the DFT's extra CPT II FT1 (3072F) for an adult with no retinopathy; ``receiving_application`` / ``receiving_facility`` (MSH-5/6) and ``sending_*``
    (MSH-3/4) override the organization's HL7 interface; ``processing_id`` MSH-11 (P or T)."""

    pdf_mode: str = "ed"
    narrative: bool = True
    cpt2: bool = False
    sending_application: str = ""
    sending_facility: str = ""
    receiving_application: str = ""
    receiving_facility: str = ""
    processing_id: str = ""


class Hl7OptionError(ValueError):
    """An HL7 render option is not valid; the message names the option and the reason."""


def hl7_options(context) -> Hl7Options:
    """Defaults < settings.IRIS_HL7_RESULT_OPTIONS < ``context.options`` (the endpoint's)."""
    merged = {**(getattr(settings, "IRIS_HL7_RESULT_OPTIONS", None) or {}), **(getattr(context, "options", None) or {})}
    known = {field.name for field in fields(Hl7Options)}
    unknown = sorted(set(merged) - known)
    if unknown:
        raise Hl7OptionError(f"unknown HL7 option(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    options = Hl7Options(**merged)
    if options.pdf_mode not in PDF_MODES:
        raise Hl7OptionError(f"pdf_mode: '{options.pdf_mode}' is not one of {', '.join(PDF_MODES)}")
    if options.processing_id not in ("", "P", "T", "D"):
        raise Hl7OptionError(f"processing_id: '{options.processing_id}' is not P, T or D")
    for field in fields(Hl7Options):
        value = getattr(options, field.name)
        if field.type is bool and not isinstance(value, bool):
            raise Hl7OptionError(f"{field.name}: {value!r} is not true or false")
        if field.type is str and not isinstance(value, str):
            raise Hl7OptionError(f"{field.name}: {value!r} is not text")
    return options


@dataclass(frozen=True)
class Parties:
    sending_application: str
    sending_facility: str
    receiving_application: str
    receiving_facility: str
    processing_id: str
    location: str  # PV1-3 / FT1-13/16: the site's code as the EMR knows it


def _interface_and_location(order) -> tuple[HL7Interface | None, str]:
    """The organization's active HL7 interface that maps a code to the order's site (and that
    code), else its first active interface and no code."""
    if order is None:
        return None, ""
    mapping = (HL7SiteMapping.objects.select_related("interface")
               .filter(interface__organization_id=order.organization_id, interface__is_active=True,
                       site_id=order.site_id).order_by("interface_id", "pk").first())
    if mapping is not None:
        return mapping.interface, mapping.code
    return HL7Interface.objects.filter(organization_id=order.organization_id, is_active=True).order_by("pk").first(), ""


def parties(context, options: Hl7Options) -> Parties:
    """MSH-3..6 and the location code. Receiving application/facility: the endpoint's options,
    else what the organization's HL7 interface accepts as MSH-3/MSH-4 from its EMR (results
    go back to the system that sent the orders), else IRIS_HL7_RECEIVING_APPLICATION ("EMR")
    and the site's LocalId. The location is the code the interface maps to the order's site,
    else the site's LocalId."""
    interface, code = _interface_and_location(context.order)
    site_local_id = context.order_result["Site"]["LocalId"]
    location = code or site_local_id
    apps = (interface.sending_applications or []) if interface else []
    facilities = (interface.sending_facilities or []) if interface else []
    return Parties(
        sending_application=options.sending_application or getattr(settings, "IRIS_HL7_APPLICATION", "IRIS"),
        sending_facility=options.sending_facility or getattr(settings, "IRIS_HL7_FACILITY", "IRIS"),
        receiving_application=(options.receiving_application or (apps[0] if apps else "")
                               or getattr(settings, "IRIS_HL7_RECEIVING_APPLICATION", "EMR")),
        receiving_facility=options.receiving_facility or (facilities[0] if facilities else "") or site_local_id,
        processing_id=options.processing_id or getattr(settings, "IRIS_HL7_PROCESSING_ID",
                                                       "T" if settings.DEBUG else "P"),
        location=location,
    )


def result_status(context) -> str:
    """OBR-25/OBX-11/TXA-17: C for a correction (and a resend of a corrected result), else F."""
    code = context.order_result.get("ResultCode")
    version = context.grading.version if context.grading is not None else 1
    return "C" if code == "C" or (code == "R" and version > 1) else "F"


def control_id(order_result: dict, message_type: str) -> str:
    """MSH-10 (ST, at most 20 characters): derived from the result's TransactionId and the message
    type, so a re-render of the same result is recognisably the same message and the ORU, MDM and
    DFT of one result never share an id."""
    digest = hashlib.sha256(f"{order_result['TransactionId']}|{message_type}".encode()).hexdigest()
    return digest[:20].upper()


def cpt(order_result: dict) -> tuple[str, str]:
    """The order's CPT code and description; without one, 92229 for an AI-read order and 92250
    otherwise (the codes teleretinal screening bills)."""
    node = order_result.get("Cpt") or {}
    if node.get("Code"):
        return node["Code"], node.get("Description") or CPT_DESCRIPTIONS.get(node["Code"], "")
    types = order_result["Order"].get("EvaluationTypes") or []
    code = "92229" if any(EVALUATION_TYPE_BY_CODE.get(t) and EVALUATION_TYPE_BY_CODE[t].ai for t in types) else "92250"
    return code, CPT_DESCRIPTIONS[code]


def capture_time(order_result: dict):
    """When the images were taken (first image), else the service date."""
    taken = [_moment(image["Taken"]) for image in order_result.get("Images") or [] if image.get("Taken")]
    return min(taken) if taken else order_result["Order"].get("ServiceDate")


def xcn(provider: dict | None) -> str:
    """A provider as XCN: NPI^Last^First^^^Title^Degrees^^^^^^NPI (IRIS puts the NPI in XCN.1 and
    the type code NPI in XCN.13). A grader without NPI (an AI service) has no id and no type."""
    if not provider:
        return ""
    name = provider.get("Name") or {}
    npi = provider.get("NPI") or ""
    return components(npi, name.get("Last"), name.get("First"), "", "", name.get("Title"),
                      provider.get("Degrees"), "", "", "", "", "", "NPI" if npi else "")


def grader_ndl(gradings: dict) -> str:
    """OBR-32 Principal Result Interpreter (NDL): NPI&Last&First&&&&Degrees ^ signing time."""
    provider = gradings.get("Provider") or {}
    name = provider.get("Name") or {}
    who = subcomponents(provider.get("NPI"), name.get("Last"), name.get("First"), "", "", "", provider.get("Degrees"))
    return _join("^", [who, ts(gradings.get("GradedTime"))])


# ---------------------------------------------------------------------------------------------
# Segments the messages share


def msh(order_result: dict, parties_: Parties, message_type: str) -> str:
    """MSH; ``message_type`` like "ORU^R01". MSH-7 is the result's timestamp (a re-render is the
    same message). The "|" after "MSH" is MSH-1 itself, so MSH-2 is the first field here."""
    return segment("MSH", ENCODING_CHARACTERS, escape(parties_.sending_application),
                   escape(parties_.sending_facility), escape(parties_.receiving_application),
                   escape(parties_.receiving_facility), ts(order_result["Timestamp"]), "", message_type,
                   control_id(order_result, message_type), parties_.processing_id, VERSION)


def evn(order_result: dict, event: str) -> str:
    return segment("EVN", event, ts(order_result["Timestamp"]))


def pid(order_result: dict) -> str:
    """PID-2 MRN^^^^MRN, PID-3 MRN, PID-5 Last^First, PID-7 DOB, PID-8 sex, PID-18 the
    encounter/account number. PID-19 (SSN) is never sent: the portal does not keep one."""
    patient = order_result["Patient"]
    name = patient.get("Name") or {}
    mrn = patient["LocalId"]
    return segment("PID", "", components(mrn, "", "", "", "MRN"), escape(mrn), "",
                   components(name.get("Last"), name.get("First")), "", date(patient.get("Dob")),
                   sex(patient.get("Gender")), *[""] * 9, escape(order_result["Order"].get("EncounterNumber")))


def sex(gender: str | None) -> str:
    """PID-8 (HL7 table 0001: F, M, O, U, A, N) from the IRIS gender code."""
    return {"M": "M", "F": "F", "O": "O", "N": "O", "TM": "O", "TF": "O"}.get(gender or "", "U")


def pv1(order_result: dict, parties_: Parties) -> str:
    """PV1-3 location, PV1-7/17 the ordering provider, PV1-8 the referring provider (else the
    ordering one), PV1-19 encounter number, PV1-44/45 image capture time."""
    ordering = xcn(order_result.get("OrderingProvider"))
    referring = xcn(order_result.get("ReferringProvider")) or ordering
    captured = ts(capture_time(order_result))
    fields_ = [""] * 45
    fields_[0:3] = ["1", "O", escape(parties_.location)]
    fields_[6], fields_[7], fields_[16] = ordering, referring, ordering
    fields_[18] = escape(order_result["Order"].get("EncounterNumber"))
    fields_[43], fields_[44] = captured, captured
    return segment("PV1", *fields_)


def obx(set_id: int, value_type: str, identifier: str, sub_id: str, value: str, *, flag: str = "",
        status: str = "F") -> str:
    """OBX with already encoded OBX-3 and OBX-5; OBX-8 abnormal flag; OBX-11 status."""
    return segment("OBX", str(set_id), value_type, identifier, sub_id, value, "", "", flag, "", "", status)


# ---------------------------------------------------------------------------------------------
# Observations: discrete results (DiscreteResults.md), narrative, the PDF

# Observation identifier of each diagnosed condition, without the RIGHT/LEFT prefix.
DISCRETE_IDS = {
    cat.DIABETIC_RETINOPATHY: "DIABRETIN",
    cat.MACULAR_EDEMA: "MACEDEMA",
    cat.HIV_RETINOPATHY: "HIVRETIN",
    cat.DRY_AMD: "DRYAMD",
    cat.WET_AMD: "WETAMD",
    cat.GLAUCOMA: "GLAUCOMA",
}
SEVERITY_FLAGS = {"NORMAL": "", "ABNORMAL": "A", "CRITICAL": "AA"}
_SIDES = (("OD", "RIGHT"), ("OS", "LEFT"))
_URGENT_LEVELS = {CareLevel.URGENT.value, CareLevel.EMERGENT.value}


@dataclass(frozen=True)
class Observation:
    """One OBX before numbering: identifier (encoded OBX-3), type, value (encoded), flag."""

    value_type: str
    identifier: str
    value: str
    flag: str = ""
    sub_id: str | None = None  # None: the set id (discrete results, RP); "" : empty


def eyes(order_result: dict) -> list[EyeAnswers]:
    gradings = order_result.get("Gradings") or {}
    types = order_result["Order"].get("EvaluationTypes") or []
    return [eye_answers(gradings.get(side), types, side) for side, _ in _SIDES]


def _diagnosed_flag(answer, catalogue) -> str:
    condition = catalogue.diagnosed_by_name.get(answer.finding)
    if answer.result in cat.NORMAL_RESULTS:
        return ""
    return "AA" if condition is not None and answer.result in condition.critical else "A"


def _suspicion_flag(context, keys: list[tuple[str, str]]) -> str:
    """OTHERRETIN flag: AA when the suspicions lead to an urgent or emergent care plan, A for a
    referable one, none for a not-referable one (DiscreteResults.md), using the site's care plans."""
    order = context.order
    if order is None:
        return "A"
    choice = care_plan_choose(site=order.site, evaluation_types=order.evaluation_types, keys=keys)
    levels = {plan.level for plan in choice.matched}
    if levels & _URGENT_LEVELS:
        return "AA"
    return "A" if CareLevel.REFERABLE.value in levels or not levels else ""


def discrete_observations(context) -> list[Observation]:
    """SEVERITY (omitted when no eye was gradable), then per eye (right first) each diagnosed
    condition, OTHERRETIN and QUALAPP. An ungradable eye has only QUALAPP "Not Gradable Image";
    an eye without images (or missing) has no rows."""
    order_result = context.order_result
    gradings = order_result.get("Gradings") or {}
    catalogue = cat.catalogue_for_types(order_result["Order"].get("EvaluationTypes") or [])
    rows: list[Observation] = []
    severity = gradings.get("Severity")
    if severity:
        rows.append(Observation("ST", components("SEVERITY", "", "IRIS"), escape(severity),
                                SEVERITY_FLAGS.get(severity, "")))
    for eye, (_, prefix) in zip(eyes(order_result), _SIDES, strict=True):
        if eye.status in ("missing", "not_imaged"):
            continue
        if eye.status == "gradable":
            for answer in (a for a in eye.answers if a.kind == "diagnosed"):
                code = DISCRETE_IDS.get(answer.finding, answer.finding.upper().replace(" ", ""))
                rows.append(Observation("ST", components(f"{prefix}{code}", "", "IRIS"), escape(answer.result),
                                        _diagnosed_flag(answer, catalogue)))
            rows.append(_other_row(context, eye, prefix))
        quality = "Gradable Image" if eye.status == "gradable" else "Not Gradable Image"
        rows.append(Observation("ST", components(f"{prefix}QUALAPP", "", "IRIS"), escape(quality)))
    return rows


def _other_row(context, eye: EyeAnswers, prefix: str) -> Observation:
    suspicions = [a for a in eye.answers if a.kind in ("suspected", "other")]
    identifier = components(f"{prefix}OTHERRETIN", "", "IRIS")
    if not suspicions:
        return Observation("ST", identifier, "None")
    keys = [(cat.OTHER, a.finding[len(OTHER_PREFIX):]) if a.kind == "other" else (a.finding, "") for a in suspicions]
    value = ",".join(a.result if a.kind == "other" else a.finding for a in suspicions)
    return Observation("ST", identifier, escape(value), _suspicion_flag(context, keys))


def narrative_lines(context) -> list[str]:
    """The report as text lines (ORU Example_Messages.md); empty strings are blank lines."""
    result = context.order_result
    patient, order = result["Patient"], result["Order"]
    gradings = result.get("Gradings") or {}
    name = person_name(patient.get("Name"))
    sex_ = sex(patient.get("Gender"))
    eye_list = eyes(result)
    imaged = [label for eye, label in zip(eye_list, ("right", "left"), strict=True) if eye.status != "not_imaged"]
    site = result["Site"].get("Name") or result["Site"]["LocalId"]
    lines = [f"Retinal Study Result for {name}", "",
             f"{name}, a {age_on(patient.get('Dob'), order.get('ServiceDate'))} y/o, {sex_} "
             f"(DOB: {_mdY(patient.get('Dob'))}, MRN: {patient['LocalId']})",
             f"presented to {site} on {_mdY(order.get('ServiceDate'))} for a retinal imaging study of the "
             f"{' and '.join(imaged) or 'right and left'} eye{'s' if len(imaged) != 1 else ''}.", ""]
    plan = ": ".join(part for part in (gradings.get("CarePlanName"), gradings.get("CarePlanDescription")) if part)
    if plan:
        lines += [f"Based on the findings of the study, the following is recommended for {name}", plan, ""]
    notes = [note["Text"] for note in gradings.get("Notes") or [] if note.get("Text")]
    note_lines = [line for note in notes for line in note.splitlines() if line.strip()]
    lines.append(f"Interpreting Provider's Comments: {note_lines[0] if note_lines else 'No comments provided'}")
    lines += note_lines[1:]
    codes = gradings.get("DiagnosisCodes") or []
    for index, item in enumerate(codes):
        text = f"{icd10_display(item['Code'])} - {item.get('Description') or ''}".rstrip(" -")
        lines.append(f"Diagnoses Present: {text}" if index == 0 else text)
    lines.append("")
    for eye, label in zip(eye_list, ("Right", "Left"), strict=True):
        lines += [*_eye_lines(eye, label), ""]
    lines += [_signature(gradings), "", f"NOTE: {_disclaimer(context)}"]
    return lines


def _eye_lines(eye: EyeAnswers, label: str) -> list[str]:
    head = f"{label} eye findings: "
    if eye.status == "not_imaged":
        return [head + "Not imaged."]
    if eye.status in ("missing", "ungradable"):
        state = "Not gradable" if eye.status == "ungradable" else "Not imaged"
        return [head + state + (f" ({eye.reason})." if eye.reason else ".")]
    if not eye.abnormal:
        return [head + "Normal Result. " + "; ".join(f"{a.finding}: {a.result}" for a in eye.answers) + "."]
    texts = [f"{a.finding}: {a.result}" if a.kind == "diagnosed"
             else f"Other: {a.result}" if a.kind == "other" else f"Other: {a.finding}" for a in eye.answers]
    return [head + texts[0], *texts[1:]]


def _signature(gradings: dict) -> str:
    provider = gradings.get("Provider") or {}
    name = provider.get("Name") or {}
    who = ", ".join(part for part in (name.get("Last"), name.get("First"), provider.get("Degrees")) if part)
    if provider.get("NPI"):
        who += f", NPI: {provider['NPI']}"
    return f"This result was electronically signed by {who or 'the grading service'}, on " \
           f"{_mdY(gradings.get('GradedTime'), with_time=True)}."


def _disclaimer(context) -> str:
    from ..report import DEFAULT_DISCLAIMER

    if context.order is None:
        return DEFAULT_DISCLAIMER
    return context.report_settings.disclaimer or DEFAULT_DISCLAIMER


def narrative_observations(context) -> list[Observation]:
    """One OBX FT per line, OBX-3 Result^^IRIS, OBX-4 001, 002, ... (blank lines included; long
    lines wrapped at NARRATIVE_WIDTH)."""
    lines = [part for line in narrative_lines(context)
             for part in (textwrap.wrap(line, NARRATIVE_WIDTH, break_long_words=True) or [""])]
    return [Observation("FT", components("Result", "", "IRIS"), escape(line), sub_id=f"{number:03d}")
            for number, line in enumerate(lines, start=1)]


def document_observations(context, options: Hl7Options) -> list[Observation]:
    """The PDF: OBX ED ``PDF^TEXT^^Base64^<data>`` and/or OBX RP ``LINK^^PDFLINK`` with the signed
    link (``&`` escaped as \\T\\, the HL7 standard form)."""
    rows: list[Observation] = []
    if options.pdf_mode in ("ed", "both"):
        data = base64.b64encode(context.artifact("pdf")).decode("ascii")
        rows.append(Observation("ED", components("PDF", "", "IRIS"), _join("^", ["PDF", "TEXT", "", "Base64", data]),
                                sub_id=""))
    if options.pdf_mode in ("rp", "both"):
        rows.append(Observation("RP", components("LINK", "", "PDFLINK"), escape(context.report_link_url())))
    return rows


def result_observations(context, options: Hl7Options) -> list[Observation]:
    """Discrete results, the narrative (unless switched off) and the document, in IRIS's order."""
    rows = discrete_observations(context)
    if options.narrative:
        rows += narrative_observations(context)
    return rows + document_observations(context, options)


def obx_segments(observations: list[Observation], status: str) -> list[str]:
    """Numbered OBX segments (OBX-1 from 1; OBX-4 the set id unless the observation has its own)."""
    return [obx(number, row.value_type, row.identifier, str(number) if row.sub_id is None else row.sub_id,
                row.value, flag=row.flag, status=status)
            for number, row in enumerate(observations, start=1)]


# ---------------------------------------------------------------------------------------------
# What every renderer starts from


@dataclass(frozen=True)
class MessageInput:
    """One render: the context, its options, the OrderResult and what all messages derive from it."""

    context: object
    options: Hl7Options
    result: dict
    gradings: dict
    parties: Parties
    status: str

    @property
    def placer(self) -> str:
        """Placer order number (ORC-2, OBR-2, TXA-14): the order's LocalId."""
        return escape(self.result["Order"]["LocalId"])

    @property
    def filler(self) -> str:
        """Filler order number (ORC-3, OBR-3, TXA-15): ``<IRIS order id>^IRIS``."""
        return components(self.result["Order"]["PatientOrderId"], "IRIS")


def message_input(context) -> MessageInput:
    options = hl7_options(context)
    result = context.order_result
    return MessageInput(context=context, options=options, result=result, gradings=result.get("Gradings") or {},
                        parties=parties(context, options), status=result_status(context))


def patient_segments(message: MessageInput, message_type: str, event: str = "") -> list[str]:
    """MSH, EVN (when the message has an event segment), PID, PV1."""
    head = [msh(message.result, message.parties, message_type)]
    if event:
        head.append(evn(message.result, event))
    return [*head, pid(message.result), pv1(message.result, message.parties)]


def observation_segments(message: MessageInput) -> list[str]:
    """The numbered OBX series of the ORU and the MDM."""
    return obx_segments(result_observations(message.context, message.options), message.status)

