"""Reading order files as tables, one row at a time (constant memory).

CSV: UTF-8 with or without BOM, UTF-16 with BOM (Excel "Unicode text"), otherwise Windows-1252;
CRLF or LF; comma, semicolon, tab or ``|`` separated (chosen from the header line); quoted cells
may hold separators, quotes and line breaks. XLSX: the first worksheet, through openpyxl in
read-only mode (date cells arrive as datetimes). Row numbers are what a spreadsheet shows: the
header is row 1 when it is the first line, blank rows count but are skipped. Anything that is not
a table is refused with ``FileRefused`` saying what it looks like instead."""
import codecs
import csv
import io
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

import openpyxl
from openpyxl.utils.exceptions import InvalidFileException

Opener = Callable[[], BinaryIO]
SEPARATORS = (",", ";", "\t", "|")
_SNIFF_BYTES = 64 * 1024
_CHUNK_BYTES = 1024 * 1024

_MAGIC = (
    (b"\xd0\xcf\x11\xe0", "a legacy Excel 97-2003 workbook (.xls); save it as .xlsx or CSV"),
    (b"%PDF", "a PDF document"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"Rar!", "a RAR archive"),
    (b"7z\xbc\xaf", "a 7-Zip archive"),
)


class FileRefused(Exception):
    """The file as a whole cannot be read as a table; the message says why, for people."""


@dataclass
class Table:
    """An opened table: its header, and ``rows()`` to stream the data rows."""

    kind: str  # "csv" | "xlsx"
    header: list[str]
    header_row: int
    records: Callable[[], Iterator["Row"]]  # every row of the file, blank ones and the header too
    encoding: str = ""
    separator: str = ""
    warnings: list[str] = field(default_factory=list)

    def rows(self) -> Iterator["Row"]:
        """The data rows: after the header, with at least one non-blank cell."""
        return _data_rows(self.records(), self.header_row)

    def count_rows(self) -> int:
        return sum(1 for _ in self.rows())

    def head(self, count: int) -> list["Row"]:
        """The first ``count`` data rows (for previews), closing the file afterwards."""
        rows = self.rows()
        try:
            return [row for row, _ in zip(rows, range(count))]
        finally:
            rows.close()


@dataclass(slots=True)
class Row:
    number: int
    cells: list  # str for CSV; str/int/float/bool/datetime/date/time/None for XLSX
    error: str = ""  # a row the CSV parser could not read (the cells are then empty)


def table_open(open_file: Opener, name: str = "") -> Table:
    """Inspect the file and return its Table, or raise FileRefused. ``open_file`` returns a
    fresh binary file object each call (the file is read once to check it, then per pass)."""
    with open_file() as fh:
        head = fh.read(_SNIFF_BYTES)
    if not head.strip(b" \t\r\n\x00"):
        raise FileRefused("the file is empty")
    if head.startswith(b"PK\x03\x04"):
        return _xlsx_open(open_file)
    for magic, what in _MAGIC:
        if head.startswith(magic):
            raise FileRefused(f"this is {what}, not a CSV or XLSX table")
    encoding = _text_encoding(open_file, head)
    return _csv_open(open_file, encoding)


# ---------------------------------------------------------------------------------------------
# CSV


def _text_encoding(open_file: Opener, head: bytes) -> str:
    """UTF-16 by its BOM; UTF-8 (BOM optional) if the whole file decodes; else Windows-1252."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if b"\x00" in head:
        raise FileRefused("this is a binary file, not a CSV or XLSX table")
    decoder = codecs.getincrementaldecoder("utf-8")()
    with open_file() as fh:
        try:
            while chunk := fh.read(_CHUNK_BYTES):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "cp1252"
    return "utf-8-sig"


def _text(open_file: Opener, encoding: str) -> io.TextIOWrapper:
    # cp1252 leaves five byte values undefined; they become U+FFFD rather than stopping the import.
    return io.TextIOWrapper(open_file(), encoding=encoding, errors="replace", newline="")


def _first_line(open_file: Opener, encoding: str) -> str:
    with _text(open_file, encoding) as text:
        for line in text:
            if line.strip():
                return line.strip()
    return ""


def _csv_open(open_file: Opener, encoding: str) -> Table:
    line = _first_line(open_file, encoding)
    if not line:
        raise FileRefused("the file is empty")
    if line[0] in "{[":
        raise FileRefused("this looks like a JSON document, not a table (send JSON OrderRequests "
                          "through Cloud Direct or submit_order_request)")
    if line[0] == "<":
        raise FileRefused("this looks like an HTML or XML document, not a CSV or XLSX table")
    counts = {sep: line.count(sep) for sep in SEPARATORS}
    separator = max(counts, key=counts.get)
    if counts[separator] == 0:
        raise FileRefused("this is not a table: its first line has no column separator "
                          "(comma, semicolon, tab or |)")

    def records() -> Iterator[Row]:
        with _text(open_file, encoding) as text:
            reader = csv.reader(text, delimiter=separator)
            number = 0
            while True:
                number += 1
                try:
                    cells = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:
                    yield Row(number, [], error=f"unreadable row: {exc}")
                    continue
                yield Row(number, cells)

    header_row, header = _header(records)
    table = Table(kind="csv", header=header, header_row=header_row, encoding=encoding, separator=separator,
                  records=records)
    return table


# ---------------------------------------------------------------------------------------------
# XLSX


def _xlsx_open(open_file: Opener) -> Table:
    def workbook(fh):
        try:
            return openpyxl.load_workbook(fh, read_only=True, data_only=True)
        except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
            raise FileRefused(f"this is a ZIP file but not a readable XLSX workbook ({type(exc).__name__})") from None

    with open_file() as fh:
        book = workbook(fh)
        try:
            if not book.worksheets:
                raise FileRefused("the workbook has no worksheet")
            sheet_names = [sheet.title for sheet in book.worksheets]
        finally:
            book.close()

    def records() -> Iterator[Row]:
        with open_file() as fh:
            book = workbook(fh)
            try:
                sheet = book.worksheets[0]
                sheet.reset_dimensions()  # some writers store a wrong dimension; read every row
                for number, values in enumerate(sheet.iter_rows(min_row=1, min_col=1, values_only=True), start=1):
                    yield Row(number, list(values))
            finally:
                book.close()

    header_row, header = _header(records)
    table = Table(kind="xlsx", header=header, header_row=header_row, records=records)
    if len(sheet_names) > 1:
        table.warnings.append(f"only the first worksheet ('{sheet_names[0]}') is imported; "
                              f"other sheets are ignored: {', '.join(sheet_names[1:])}")
    return table


# ---------------------------------------------------------------------------------------------
# shared


def is_blank_cell(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _header(records: Callable[[], Iterator[Row]]) -> tuple[int, list[str]]:
    """The first non-blank row, with trailing empty columns dropped."""
    rows = records()
    try:
        for row in rows:
            if row.error:
                raise FileRefused(f"the header row cannot be read ({row.error})")
            if any(not is_blank_cell(cell) for cell in row.cells):
                header = ["" if cell is None else str(cell).strip() for cell in row.cells]
                while header and not header[-1]:
                    header.pop()
                return row.number, header
    finally:
        rows.close()
    raise FileRefused("the file has no header row (every row is blank)")


def _data_rows(records: Iterator[Row], header_row: int) -> Iterator[Row]:
    """Rows after the header that have at least one non-blank cell."""
    for row in records:
        if row.number <= header_row:
            continue
        if row.error or any(not is_blank_cell(cell) for cell in row.cells):
            yield row
