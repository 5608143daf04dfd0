"""The column-mapping editor's services: keep a sample file, preview how its first rows map,
save the choices. Integration administrators start from a sample of what their system exports."""
from dataclasses import dataclass, field

from django.core.files.base import File

from ...canonical import RequestRejected, parse_order_request
from ...models import ImportMapping
from .fields import normalize_header, target_paths
from .mapping import FilePlan, plan_build
from .reader import FileRefused, Table, table_open
from .redact import ssn_columns_drop

PREVIEW_ROWS = 5


@dataclass
class PreviewRow:
    number: int
    values: list  # one per mapped column, as the OrderRequest receives it
    errors: list = field(default_factory=list)  # (column, reason)


@dataclass
class Preview:
    plan: FilePlan | None
    rows: list[PreviewRow]
    refused: str = ""


def mapping_sample_store(*, mapping: ImportMapping, upload: File, user) -> ImportMapping:
    """Keep the sample file (replacing the previous one) for the editor."""
    if mapping.sample_file:
        mapping.sample_file.delete(save=False)
    mapping.sample_file.save(upload.name, upload, save=False)
    redacted = ssn_columns_drop(mapping.sample_file.storage, mapping.sample_file.name)
    if redacted:
        mapping.sample_file.name = redacted[0]
    mapping.sample_name = upload.name[:255]
    mapping.updated_by = user
    mapping.save()
    return mapping


def mapping_sample_table(mapping: ImportMapping) -> Table | None:
    if not mapping.sample_file:
        return None
    return table_open(lambda: mapping.sample_file.storage.open(mapping.sample_file.name, "rb"), mapping.sample_name)


def mapping_preview(*, mapping: ImportMapping, table: Table, columns: dict, defaults: dict) -> Preview:
    """The first rows of the sample as they would be imported with these choices (validated
    by the canonical parser; the order rules run only at import)."""
    try:
        plan = plan_build(table.header, client_guid=str(mapping.organization.client_guid), columns=columns,
                          defaults=defaults)
    except FileRefused as exc:
        return Preview(plan=None, rows=[], refused=str(exc))
    rows = []
    for row in table.head(PREVIEW_ROWS):
        body = plan.request(row.cells)
        values = [_value_at(body, column.target) for column in plan.columns]
        errors = []
        try:
            parse_order_request(body)
        except RequestRejected as exc:
            errors = [(plan.column_for(error.field, row.cells), error.reason) for error in exc.errors]
        rows.append(PreviewRow(row.number, values, errors))
    return Preview(plan=plan, rows=rows)


def mapping_save(*, mapping: ImportMapping, header: list[str], choices: list[str], defaults: dict, user) -> ImportMapping:
    """Store one choice per column of the sample ("" = ignore); columns of earlier samples keep theirs."""
    known = target_paths()
    columns = dict(mapping.columns or {})
    for text, target in zip(header, choices):
        key = normalize_header(text)
        if key:
            columns[key] = target if target in known else ""
    mapping.columns = columns
    mapping.defaults = {path: value for path, value in defaults.items() if path in known and value}
    mapping.updated_by = user
    mapping.save()
    return mapping


def _value_at(body: dict, target: str):
    if target.startswith("Patient.Genders["):
        context = target[len("Patient.Genders["):-1]
        genders = (body.get("Patient") or {}).get("Genders") or []
        return next((g["Gender"] for g in genders if g["Context"] == context), "")
    node = body
    for key in target.split("."):
        if not isinstance(node, dict):
            return ""
        node = node.get(key)
    if isinstance(node, list):
        return ", ".join(str(item) for item in node)
    return "" if node is None else node
