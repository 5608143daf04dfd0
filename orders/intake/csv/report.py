"""The error report of an import: every rejected row as it was in the file, plus the row
number, the offending column(s) and the reason(s). Its extra columns are ignored when the
corrected report is uploaded again. Streams: the file is re-read alongside the errors (both in
row order), so memory stays flat however large the file."""
import csv
from collections.abc import Iterator
from itertools import groupby

from ...models import ImportJob
from .mapping import REPORT_COLUMNS, cell_value, is_ssn_header
from .reader import FileRefused, table_open


class _Echo:
    """csv.writer target that hands back each line instead of storing it."""

    def write(self, value: str) -> str:
        return value


def error_report_lines(job: ImportJob) -> Iterator[str]:
    """CSV lines (UTF-8 text; the caller encodes, with a BOM for Excel)."""
    writer = csv.writer(_Echo(), lineterminator="\r\n")
    errors = job.row_errors.order_by("row", "id").values_list("row", "column", "message").iterator(chunk_size=2000)
    by_row = ((row, list(group)) for row, group in groupby(errors, key=lambda error: error[0]))
    try:
        table = table_open(lambda: job.file.storage.open(job.file.name, "rb"), job.original_name)
    except (FileRefused, OSError):
        table = None
    header = table.header if table else []
    keep = [index for index, text in enumerate(header) if not is_ssn_header(text)]
    yield writer.writerow([header[i] for i in keep] + list(REPORT_COLUMNS))
    rows = table.rows() if table else iter(())
    current = None
    try:
        for number, group in by_row:
            cells: list = []
            if number > 0:
                while current is None or current.number < number:
                    current = next(rows, None)
                    if current is None:
                        break
                if current is not None and current.number == number:
                    cells = current.cells
            values = [_text(cells[i]) if i < len(cells) else "" for i in keep]
            columns = "; ".join(dict.fromkeys(column for _, column, _ in group if column))
            messages = "; ".join(f"{column}: {message}" if column else message for _, column, message in group)
            yield writer.writerow(values + [number or "", columns, messages])
    finally:
        if hasattr(rows, "close"):
            rows.close()


def error_report_name(job: ImportJob) -> str:
    stem = job.original_name.rsplit(".", 1)[0] or "import"
    return f"{stem}.errors.csv"


def _text(value) -> str:
    text = cell_value(value)
    return "" if text is None else str(text)
