"""ORM^O01 -> OrderRequest (SPEC 4.3; IRIS ``integration/ORM/TEC_005_Rev_C_Standard_Orders.md``).

The adapter only translates: every rule (R5-R8, sites, NPIs, subscriptions) stays in the order
service. It records, for each OrderRequest field it fills, the HL7 location it came from, so a
rejection naming ``Patient.Dob`` can be answered with an ERR naming PID-7. The table for
interface analysts is docs/integrations/hl7.md; keep the two in step.
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from orders.canonical import FieldError
from orders.models import Order
from orders.reference import Gender, MaritalStatus, OrderControlCode, RACE_CODES, normalize_evaluation_type
from organizations.models import HL7Interface, Provider, Site
from patients.models import Patient

from .message import Location, ParsedMessage

SUPPORTED_CONTROL_CODES = {OrderControlCode.NEW, OrderControlCode.CHANGE, OrderControlCode.CANCEL}
DEFAULT_EVALUATION_TYPE = "DR"
MRN_TYPE_SYNONYMS = {"MR": {"MR", "MRN"}, "MRN": {"MR", "MRN"}}
# HL7 table 0001 (administrative sex) -> IRIS Gender.
SEX_TO_GENDER = {"M": Gender.M, "F": Gender.F, "O": Gender.O, "U": Gender.U, "A": Gender.X, "N": Gender.U}
DIABETES_CATEGORIES = ("E08", "E09", "E10", "E11", "E13")
ICD10_CODE = re.compile(r"^[A-TV-Z][0-9][0-9A-Z](\.?[0-9A-Z]{1,4})?$")
ICD9_METHOD = re.compile(r"I(?:CD)?-?9(?!\d)")
NPI_SHAPE = re.compile(r"^\d{10}$")
HL7_TS = re.compile(
    r"^(?P<Y>\d{4})(?P<m>\d{2})?(?P<d>\d{2})?(?P<H>\d{2})?(?P<M>\d{2})?(?P<S>\d{2})?(?:\.\d{1,4})?"
    r"(?P<tz>[+-]\d{4})?$")

# Canonical field -> the model field whose length bounds it (the database would refuse more).
MAX_LENGTHS = {
    "UserNameSubmitting": (Order, "user_name_submitting"),
    "Site.LocalId": (Site, "local_id"),
    "Order.LocalId": (Order, "local_id"),
    "Order.EncounterNumber": (Order, "encounter_number"),
    "Order.CPTCode.Code": (Order, "cpt_code"),
    "Order.CPTCode.Description": (Order, "cpt_description"),
    "Patient.LocalId": (Patient, "local_id"),
    "Patient.Name.First": (Patient, "first_name"),
    "Patient.Name.Last": (Patient, "last_name"),
    "Patient.Phone": (Patient, "phone"),
    "Patient.Address.Street1": (Patient, "street1"),
    "Patient.Address.Street2": (Patient, "street2"),
    "Patient.Address.City": (Patient, "city"),
    "Patient.Address.PostalCode": (Patient, "postal_code"),
    "Patient.DxCode": (Patient, "dx_code"),
    **{f"{role}.{path}": (Provider, name) for role in ("OrderingProvider", "ReferringProvider")
       for path, name in (("Name.First", "first_name"), ("Name.Last", "last_name"), ("Degrees", "degrees"))},
}


@dataclass
class MappedOrder:
    """The OrderRequest (canonical form, as a dict) and where each of its fields came from."""

    data: dict = field(default_factory=dict)
    locations: dict[str, Location] = field(default_factory=dict)
    errors: list[FieldError] = field(default_factory=list)

    def put(self, path: str, value, location: Location) -> None:
        """Set ``path`` (e.g. ``Patient.Name.Last``) unless blank; remember its location either way."""
        self.locations[path] = location
        if value is None or value == "" or value == [] or value == {}:
            return
        node = self.data
        keys = path.split(".")
        for key in keys[:-1]:
            node = node.setdefault(key, {})
        node[keys[-1]] = value

    def location_of(self, path: str) -> Location | None:
        """The HL7 location of a canonical field path, or of its closest relative."""
        path = re.sub(r"\[\d+\]", "", path)
        if path in self.locations:
            return self.locations[path]
        parents = [known for known in self.locations if path.startswith(known + ".")]
        if parents:
            return self.locations[max(parents, key=len)]
        children = [known for known in self.locations if known.startswith(path + ".")]
        return self.locations[children[0]] if children else None


def orm_map(message: ParsedMessage, *, interface: HL7Interface,
            site_for_code: Callable[[str], str | None]) -> MappedOrder:
    """Translate an ORM^O01 into an OrderRequest for ``interface``'s organization.

    ``site_for_code``: the site local id an interface code (PV1-3.1 / ORC-13.1) is mapped to."""
    out = MappedOrder()
    organization = interface.organization
    out.put("ClientGuid", str(organization.client_guid), Location("MSH", 4))
    if message.count("ORC") > 1:
        out.locations["Order"] = Location("ORC", sequence=2)
        out.errors.append(FieldError("Order", f"one order per message: found {message.count('ORC')} ORC segments"))

    control = message.get("ORC", 1).upper()
    out.put("OrderControlCode", control, Location("ORC", 1))
    if control and control not in SUPPORTED_CONTROL_CODES:
        out.errors.append(FieldError("OrderControlCode",
                                     f"'{control}' is not supported (NW new, XO change, CA cancel)"))
    out.put("UserNameSubmitting", message.get("ORC", 10), Location("ORC", 10, 1))

    _map_site(message, interface, site_for_code, out)
    _map_order(message, organization, control, out)
    _map_patient(message, interface, out)
    notes = []
    for role, primary, fallback in (("OrderingProvider", ("ORC", 12), ("OBR", 16)),
                                    ("ReferringProvider", ("PV1", 8), None)):
        note = _map_provider(message, interface, role, primary, fallback, out)
        if note:
            notes.append((note, out.locations[role]))
    if notes:
        out.put("Order.AdditionalInfo", "\n".join(note for note, _ in notes), notes[0][1])
    _check_lengths(out)
    return out


def _map_site(message, interface, site_for_code, out: MappedOrder) -> None:
    location = (Location("ORC", 13, 1) if interface.site_source == HL7Interface.SiteSource.ORC_13
                else Location("PV1", 3, 1))
    code = message.get(location.segment, location.field)
    out.put("Site.LocalId", (site_for_code(code) or code) if code else "", location)
    out.locations["Site"] = out.locations["Order.State"] = location  # the site gives the exam state


def _map_order(message, organization, control: str, out: MappedOrder) -> None:
    local_id, where = message.get("ORC", 2), Location("ORC", 2, 1)
    if not local_id and message.get("OBR", 2):
        local_id, where = message.get("OBR", 2), Location("OBR", 2, 1)
    out.put("Order.LocalId", local_id, where)

    service = Location("OBR", 4)
    named_type = next((code for code in (normalize_evaluation_type(message.get("OBR", 4, 1)),
                                         normalize_evaluation_type(message.get("OBR", 4, 4))) if code), None)
    types = [named_type] if named_type else (_default_types(organization) if control == OrderControlCode.NEW else [])
    out.put("Order.EvaluationTypes", types, service)
    if not normalize_evaluation_type(message.get("OBR", 4, 1)):
        out.put("Order.CPTCode.Code", message.get("OBR", 4, 1), Location("OBR", 4, 1))
        out.put("Order.CPTCode.Description", message.get("OBR", 4, 2), Location("OBR", 4, 2))
    out.locations["Order.CPTCode"] = service

    _put_timestamp(out, "Order.ScheduledTime", message.get("ORC", 9), Location("ORC", 9), date_only=False)
    out.put("Order.EncounterNumber", message.get("PID", 18), Location("PID", 18, 1))


def _default_types(organization) -> list[str]:
    """DR (IRIS's standard screening) unless the organization subscribes to exactly one other type."""
    subscribed = organization.evaluation_types or []
    if DEFAULT_EVALUATION_TYPE in subscribed or len(subscribed) != 1:
        return [DEFAULT_EVALUATION_TYPE]
    return list(subscribed)


def _map_patient(message, interface, out: MappedOrder) -> None:
    _map_mrn(message, interface, out)
    name = Location("PID", 5)
    out.locations["Patient.Name"] = name
    out.put("Patient.Name.Last", message.get("PID", 5, 1), Location("PID", 5, 1))
    out.put("Patient.Name.First", message.get("PID", 5, 2), Location("PID", 5, 2))
    out.put("Patient.Name.Middle", message.get("PID", 5, 3), Location("PID", 5, 3))
    _put_timestamp(out, "Patient.Dob", message.get("PID", 7), Location("PID", 7), date_only=True)

    sex = message.get("PID", 8).upper()
    gender = SEX_TO_GENDER.get(sex) or (sex if sex in Gender.values else None)
    out.put("Patient.Gender", gender, Location("PID", 8))
    if sex and gender is None:
        out.errors.append(FieldError("Patient.Gender", f"'{sex}' is not an administrative sex (M, F, O, U, A, N)"))

    race = message.get("PID", 10)
    out.put("Patient.Race", race if race in RACE_CODES else None, Location("PID", 10))
    address = Location("PID", 11)
    out.locations["Patient.Address"] = address
    for component, key in ((1, "Street1"), (2, "Street2"), (3, "City"), (4, "State"), (5, "PostalCode")):
        out.put(f"Patient.Address.{key}", message.get("PID", 11, component), Location("PID", 11, component))
    phone = message.get("PID", 13) or (
        f"({message.get('PID', 13, 6)}){message.get('PID', 13, 7)}" if message.get("PID", 13, 7) else "")
    out.put("Patient.Phone", phone, Location("PID", 13))
    marital = message.get("PID", 16).upper()
    out.put("Patient.MaritalStatus", marital if marital in MaritalStatus.values else None, Location("PID", 16))
    _map_dx_code(message, out)


def _map_mrn(message, interface, out: MappedOrder) -> None:
    """PID-2.1, or PID-3 choosing the repetition by identifier type (PID-x.5) when it repeats.
    With the PID-2 setting an empty PID-2 falls back to PID-3, where the published IRIS
    examples carry the MRN."""
    wanted = (interface.mrn_identifier_type or "").strip().upper()
    fields = [3] if interface.mrn_source == HL7Interface.MrnSource.PID_3 else [2, 3]
    for number in fields:
        mrn, problem = _identifier(message.repetitions("PID", number), wanted)
        if mrn or problem or number == fields[-1]:
            out.put("Patient.LocalId", mrn, Location("PID", number, 1))
            if problem:
                out.errors.append(FieldError("Patient.LocalId", f"PID-{number}: {problem}"))
            return


def _identifier(repetitions: list[list[str]], wanted: str) -> tuple[str, str]:
    """(id, problem): the only identifier sent, or the one whose type code (CX.5) is ``wanted``."""
    present = [rep for rep in repetitions if rep and rep[0].strip()]
    if len(present) == 1:
        return present[0][0].strip(), ""
    if not present:
        return "", ""
    accepted = MRN_TYPE_SYNONYMS.get(wanted, {wanted})
    for rep in present:
        if len(rep) > 4 and rep[4].strip().upper() in accepted:
            return rep[0].strip(), ""
    return "", f"{len(present)} identifiers and none has identifier type '{wanted}' (component 5)"


def _map_dx_code(message, out: MappedOrder) -> None:
    """The first ICD-10 code of a diabetes category (it sets the category of result codes),
    else the first ICD-10 code; ICD-9 coded diagnoses are skipped (IRIS accepts only ICD-10)."""
    codes = []
    for occurrence in range(1, message.count("DG1") + 1):
        method = f"{message.get('DG1', 2, occurrence=occurrence)} {message.get('DG1', 3, 3, occurrence=occurrence)}"
        code = message.get("DG1", 3, occurrence=occurrence).upper()
        if (ICD9_METHOD.search(method.upper()) and "10" not in method) or not ICD10_CODE.match(code):
            continue
        codes.append((code, occurrence))
    chosen = next((item for item in codes if item[0].startswith(DIABETES_CATEGORIES)), codes[0] if codes else None)
    code, occurrence = chosen or ("", 1)
    out.put("Patient.DxCode", code, Location("DG1", 3, 1, sequence=occurrence))


def _map_provider(message, interface, role: str, primary: tuple, fallback: tuple | None,
                  out: MappedOrder) -> str | None:
    """ORC-12 (else OBR-16) / PV1-8 as XCN. The repetition whose identifier type (XCN.13, or the
    assigning authority XCN.9) is the interface's ordering-provider id type is used; its id is
    the NPI when that type is NPI or the id has an NPI's shape.

    Without an NPI the order service cannot link the provider (providers are national, keyed
    by NPI, and the OrderRequest has no local provider id), so the provider's name and local id
    are returned as a note line for Order.AdditionalInfo: kept on the order, shown on its page
    and echoed in the OrderResult, instead of being lost."""
    segment, number = primary
    repetitions = message.repetitions(segment, number)
    if not any(any(rep) for rep in repetitions) and fallback:
        segment, number = fallback
        repetitions = message.repetitions(segment, number)
    wanted = (interface.ordering_provider_id_type or "NPI").strip().upper()
    chosen = next((rep for rep in repetitions if wanted in _xcn_types(rep)), None)
    typed = chosen is not None
    if chosen is None:
        chosen = next((rep for rep in repetitions if any(value.strip() for value in rep)), None)
    out.locations[role] = Location(segment, number)
    if chosen is None:
        return None
    chosen = chosen + [""] * (13 - len(chosen))
    ident = chosen[0].strip()
    is_npi = bool(ident) and (
        (typed and (wanted == "NPI" or NPI_SHAPE.match(ident)))
        or (not _xcn_types(chosen) and wanted == "NPI" and NPI_SHAPE.match(ident)))
    out.put(f"{role}.NPI", ident if is_npi else None, Location(segment, number, 1))
    out.put(f"{role}.Name.Last", chosen[1].strip(), Location(segment, number, 2))
    out.put(f"{role}.Name.First", chosen[2].strip(), Location(segment, number, 3))
    degree_at = 7 if chosen[6].strip() else 6  # XCN.7 degree; some senders use .6 (prefix)
    out.put(f"{role}.Degrees", chosen[degree_at - 1].strip(), Location(segment, number, degree_at))
    return None if is_npi else _provider_note(role, chosen, Location(segment, number))


PROVIDER_LABELS = {"OrderingProvider": "Ordering provider", "ReferringProvider": "Referring provider"}


def _provider_note(role: str, xcn: list[str], location: Location) -> str | None:
    """``Ordering provider (no NPI): Adam Diaz, MD; SERDOTON id adiaz (ORC-12)``, or None
    when the XCN names nobody."""
    ident, last, first, degrees = (xcn[0].strip(), xcn[1].strip(), xcn[2].strip(), xcn[6].strip() or xcn[5].strip())
    name = " ".join(part for part in (first, last) if part)
    if degrees and name:
        name = f"{name}, {degrees}"
    if not (name or ident):
        return None
    id_type = next((xcn[index].strip() for index in (12, 8) if xcn[index].strip()), "")
    described = f"{id_type} id {ident}" if id_type and ident else (f"id {ident}" if ident else "")
    details = "; ".join(part for part in (name, described) if part)
    return f"{PROVIDER_LABELS[role]} (no NPI): {details} ({location})"


def _xcn_types(rep: list[str]) -> set[str]:
    return {rep[index].strip().upper() for index in (12, 8) if len(rep) > index and rep[index].strip()}


def _put_timestamp(out: MappedOrder, path: str, value: str, location: Location, *, date_only: bool) -> None:
    parsed = hl7_timestamp(value, date_only=date_only) if value else None
    out.put(path, parsed, location)
    if value and parsed is None:
        shape = "YYYYMMDD" if date_only else "YYYYMMDD[HHMM[SS]][+/-ZZZZ]"
        out.errors.append(FieldError(path, f"'{value}' is not an HL7 date{'' if date_only else '/time'} ({shape})"))


def hl7_timestamp(value: str, *, date_only: bool = False) -> dt.date | dt.datetime | None:
    """HL7 TS/DTM -> date (``date_only``; day precision required) or datetime (naive unless an
    offset is sent). None when it is not one."""
    match = HL7_TS.match(value.strip())
    if not match or not match["d"]:
        return None
    parts = {key: int(match[key] or 0) for key in "YmdHMS"}
    try:
        moment = dt.datetime(parts["Y"], parts["m"], parts["d"], parts["H"], parts["M"], parts["S"])
    except ValueError:
        return None
    if date_only:
        return moment.date()
    if match["tz"]:
        sign = -1 if match["tz"][0] == "-" else 1
        offset = dt.timedelta(hours=int(match["tz"][1:3]), minutes=int(match["tz"][3:5]))
        if offset >= dt.timedelta(hours=24):
            return None
        moment = moment.replace(tzinfo=dt.timezone(sign * offset))
    return moment


def _check_lengths(out: MappedOrder) -> None:
    for path, (model, name) in MAX_LENGTHS.items():
        value = out.data
        for key in path.split("."):
            value = value.get(key) if isinstance(value, dict) else None
        limit = model._meta.get_field(name).max_length
        if isinstance(value, str) and len(value) > limit:
            out.errors.append(FieldError(path, f"longer than {limit} characters"))


__all__ = ["Location", "MappedOrder", "hl7_timestamp", "orm_map"]
