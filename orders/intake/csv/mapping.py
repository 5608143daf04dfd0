"""From a file's header and the organization's mapping to a plan that turns each row into one
OrderRequest dict, and maps a rejected field (``Patient.Dob``) back to the file's column.

Rows without an order id get a deterministic one (``CSV-`` + 20 base32 characters of the SHA-256
of site, patient id, evaluation types and scheduled date), so importing the same file again, or a
re-export of the same orders in another layout, addresses the same orders (the order service is
idempotent on the order id)."""
import base64
import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field

from ...canonical.base import parse_datetime
from ...reference import normalize_evaluation_type
from .fields import (
    DATE_TARGETS, GENDER_TARGETS, LIST_TARGETS, column_label, default_lookup, normalize_header, target_paths,
)
from .reader import FileRefused

# Columns the error report adds; a corrected report can be uploaded again as it is.
REPORT_COLUMNS = ("ImportRow", "ImportErrorColumn", "ImportError")
_REPORT_HEADERS = {normalize_header(name) for name in REPORT_COLUMNS}
# R13: a Social Security number column is never read, stored or echoed back.
_SSN_HEADER = re.compile(r"^(patient|member|subscriber)?ssn(number|no)?$|socialsecurity")
_LIST_SPLIT = re.compile(r"[,;|]")
_GENDER_WORDS = {"female": "F", "male": "M", "unknown": "U", "unspecified": "U", "other": "O",
                 "nonbinary": "N", "transgendermale": "TM", "transgenderfemale": "TF"}
_US_DATETIME = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})\s+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AaPp][Mm])?$")


def is_ssn_header(header: str) -> bool:
    return bool(_SSN_HEADER.search(normalize_header(header)))


@dataclass(frozen=True, slots=True)
class MappedColumn:
    index: int
    header: str
    target: str


@dataclass
class FilePlan:
    """How the columns of one file become OrderRequest fields."""

    header: list[str]
    columns: list[MappedColumn]
    defaults: dict[str, object]
    warnings: list[str] = field(default_factory=list)

    def __post_init__(self):
        self._setters = []  # (index, parent keys, leaf key, kind)
        self._gender_columns = []  # (index, context, header)
        for column in self.columns:
            if column.target in GENDER_TARGETS:
                self._gender_columns.append((column.index, GENDER_TARGETS[column.target], column.header))
            else:
                *parents, leaf = column.target.split(".")
                self._setters.append((column.index, tuple(parents), leaf, _kind(column.target)))
        self._sources = {column.target: column.header for column in self.columns}
        # No target inside another (Order.CPTCode and Order.CPTCode.Code): a row's nested dicts
        # can then be remembered by path, none is replaced by a value.
        self._disjoint = not any(other.startswith(target + ".") for target in self._sources for other in self._sources)
        mapped = set(self._sources)
        self._default_setters = [(tuple(path.split(".")), _kind(path), value)
                                 for path, value in self.defaults.items() if path not in mapped]
        self._fallbacks = [(tuple(path.split(".")), _kind(path), value)
                           for path, value in self.defaults.items() if path in mapped]

    def request(self, cells: list) -> dict:
        """The OrderRequest dict of one row (no validation: the order service does that)."""
        body: dict = {}
        nodes: dict = {(): body}  # this row's nested dicts by path (created on first use, as _put does)
        width = len(cells)
        for index, parents, leaf, kind in self._setters:
            if index < width:
                value = cells[index]
                if kind == "text" and type(value) is str:  # the common case (CSV), inline
                    value = value.strip() or None
                else:
                    value = cell_value(value, kind)
                if value is not None:
                    node = nodes.get(parents) if self._disjoint else None
                    if node is None:
                        node = nodes[parents] = _node(body, parents)
                    node[leaf] = value
        for keys, kind, value in self._default_setters:
            _put(body, keys, cell_value(value, kind))
        for keys, kind, value in self._fallbacks:  # the column exists but this cell is blank
            if _get(body, keys) is None:
                _put(body, keys, cell_value(value, kind))
        if self._gender_columns:
            genders = [{"Context": context, "Gender": value} for index, context, _ in self._gender_columns
                       if index < width and (value := cell_value(cells[index], "gender")) is not None]
            if genders:
                body.setdefault("Patient", {})["Genders"] = genders
        order = body.get("Order")
        if not (order and order.get("LocalId")):
            derived = derived_order_id(body)
            if derived:
                body.setdefault("Order", {})["LocalId"] = derived
        return body

    def column_for(self, path: str, cells: list) -> str:
        """The file's header of the column a rejected field came from (or the field's IRIS name
        when no column carries it; "" for the request as a whole)."""
        if not path:
            return ""
        if path.startswith("Patient.Genders["):
            index = int(re.match(r"Patient\.Genders\[(\d+)\]", path).group(1))
            filled = [header for i, _, header in self._gender_columns
                      if i < len(cells) and cell_value(cells[i], "gender") is not None]
            if index < len(filled):
                return filled[index]
        if path in self._sources:
            return self._sources[path]
        for column in self.columns:
            if column.target.startswith((path + ".", path + "[")):
                return column.header
        parent = path
        while "." in parent:
            parent = parent.rsplit(".", 1)[0]
            if parent in self._sources:
                return self._sources[parent]
        return column_label(path)


def plan_build(header: list[str], *, client_guid: str, columns: dict | None = None,
               defaults: dict | None = None) -> FilePlan:
    """Resolve each header against the organization's mapping (``columns``: normalised header
    -> target, "" = ignore), then the default mapping. Refuses a file none of whose columns is
    an order field: it is not an order file, or needs a mapping first."""
    columns = columns or {}
    lookup = default_lookup()
    known = target_paths()
    mapped: list[MappedColumn] = []
    used: dict[str, str] = {}
    warnings: list[str] = []
    for index, text in enumerate(header):
        key = normalize_header(text)
        if not key:
            warnings.append(f"column {index + 1} has no header; ignored")
            continue
        if key in _REPORT_HEADERS:
            continue
        if is_ssn_header(text):
            warnings.append(f"column '{text}' looks like a Social Security number; it is never imported")
            continue
        target = columns[key] if key in columns else lookup.get(key)
        if not target:
            if target is None:
                warnings.append(f"column '{text}' maps to no order field; ignored")
            continue
        if target not in known:
            warnings.append(f"column '{text}' maps to '{target}', which is not an order field; ignored")
            continue
        if target in used:
            warnings.append(f"column '{text}' maps to the same field as column '{used[target]}' ({target}); ignored")
            continue
        used[target] = text
        mapped.append(MappedColumn(index, text, target))
    if not mapped:
        shown = ", ".join(f"'{text}'" for text in header[:8] if text) + (", ..." if len(header) > 8 else "")
        raise FileRefused(f"none of the columns ({shown}) is an order field: is this an order file? "
                          "Map its columns under Imports → Column mapping")
    all_defaults = {"ClientGuid": client_guid, "OrderControlCode": "NW"}
    all_defaults.update({path: value for path, value in (defaults or {}).items() if path in known and value})
    return FilePlan(header=list(header), columns=mapped, defaults=all_defaults, warnings=warnings)


def derived_order_id(body: dict) -> str:
    """A stable order id for a row without one: same site, patient, evaluation types and
    scheduled date -> same id, however the file spells them."""
    patient = (body.get("Patient") or {}).get("LocalId")
    if not patient:
        return ""
    order = body.get("Order") or {}
    types = order.get("EvaluationTypes") or []
    codes = sorted(normalize_evaluation_type(code) or str(code).strip() for code in types)
    scheduled = order.get("ScheduledTime") or ""
    try:
        parsed = parse_datetime(scheduled)
        scheduled = parsed.date().isoformat() if parsed else ""
    except ValueError:
        pass
    site = (body.get("Site") or {}).get("LocalId") or ""
    key = "\x1f".join([str(site).strip(), str(patient).strip(), ",".join(codes), str(scheduled)])
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return "CSV-" + base64.b32encode(digest).decode("ascii")[:20]


# ---------------------------------------------------------------------------------------------
# cells


def _kind(path: str) -> str:
    if path in LIST_TARGETS:
        return "list"
    if path in DATE_TARGETS:
        return "date"
    return "text"


def cell_value(value, kind: str = "text"):
    """A cell as the OrderRequest wants it: trimmed text (None when blank), Excel numbers
    without a spurious ``.0``, Excel dates as ISO text, lists split on , ; or |."""
    if value is None:
        return None
    if isinstance(value, str):
        value = value.strip()
        if not value:
            return None
    elif isinstance(value, bool):
        return value
    elif isinstance(value, float):
        value = str(int(value)) if value.is_integer() else repr(value)
    elif isinstance(value, dt.datetime):
        value = value.date().isoformat() if value.time() == dt.time(0) else value.isoformat()
    elif isinstance(value, dt.date | dt.time):
        value = value.isoformat()
    elif isinstance(value, list):
        return value or None
    else:
        value = str(value)
    if kind == "text":
        return value
    if kind == "list":
        return [item.strip() for item in _LIST_SPLIT.split(value) if item.strip()] or None
    if kind == "gender":
        return _GENDER_WORDS.get(normalize_header(value), value)
    if kind == "date":
        return _us_datetime(value)
    return value


def _us_datetime(text: str) -> str:
    """Spreadsheet spellings of M/D/YYYY h:mm[:ss] [AM|PM] (``1/2/1960 0:00``,
    ``3/4/2026 10:30:00 AM``) as ISO text; anything else unchanged: the canonical parser reads
    it or says why not."""
    match = _US_DATETIME.match(text) if "/" in text else None
    if match is None:
        return text
    month, day, year, hour, minute, second, half = match.groups()
    hour = int(hour)
    if half:
        if not 1 <= hour <= 12:
            return text
        hour = hour % 12 + (12 if half.lower() == "pm" else 0)
    try:
        return dt.datetime(int(year), int(month), int(day), hour, int(minute), int(second or 0)).isoformat()
    except ValueError:
        return text  # e.g. 2/30/2026: the canonical parser names the problem


def _put(body: dict, keys: tuple, value) -> None:
    _node(body, keys[:-1])[keys[-1]] = value


def _node(body: dict, keys: tuple) -> dict:
    """The nested dict at ``keys``, created where missing."""
    node = body
    for key in keys:
        node = node.setdefault(key, {})
    return node


def _get(body: dict, keys: tuple):
    node = body
    for key in keys:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node
