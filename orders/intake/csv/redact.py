"""R13 for kept files: a Social Security number column is never stored. A file that has one is
rewritten, as CSV, without it (every other cell and every row number unchanged), before anything
else reads it. The import job keeps the SHA-256 of the file as it was sent."""
import csv
import io
import tempfile

from django.core.files import File

from .mapping import cell_value, is_ssn_header
from .reader import FileRefused, table_open


def ssn_columns_drop(storage, name: str) -> tuple[str, list[str]] | None:
    """Rewrite the stored file ``name`` without its SSN-like columns; returns the new name and
    the dropped headers, or None when there are none (or the file is not a table: it will be
    refused, unread)."""
    try:
        table = table_open(lambda: storage.open(name, "rb"), name)
    except (FileRefused, OSError):
        return None
    dropped = {index for index, header in enumerate(table.header) if is_ssn_header(header)}
    if not dropped:
        return None
    with tempfile.SpooledTemporaryFile(max_size=8 * 2**20) as spool:
        text = io.TextIOWrapper(spool, encoding="utf-8-sig", newline="")
        writer = csv.writer(text, lineterminator="\r\n")
        for row in table.records():
            writer.writerow(["" if (value := cell_value(cell)) is None else value
                             for index, cell in enumerate(row.cells) if index not in dropped])
        text.flush()
        text.detach()
        spool.seek(0)
        stem = name.rsplit("/", 1)[-1].rsplit(".", 1)[0]
        new_name = storage.save(f"{name.rsplit('/', 1)[0]}/{stem}.redacted.csv", File(spool))
    storage.delete(name)
    return new_name, [table.header[index] for index in sorted(dropped)]
