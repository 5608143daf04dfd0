"""Reading order files as tables: encodings, line ends, quoting, blank rows, trailing columns,
XLSX, and refusing what is not a table (orders/intake/csv/reader.py)."""
import codecs
import datetime as dt
import io
import zipfile

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orders.intake.csv.reader import FileRefused, table_open

from .import_support import xlsx_bytes


def open_bytes(data: bytes):
    return table_open(lambda: io.BytesIO(data))


def rows_of(table):
    return [(row.number, row.cells) for row in table.rows()]


def test_utf8_with_and_without_bom_read_the_same():
    text = "PatientLocalId,PatientLastName\r\nM1,Müller\r\n"
    plain, bom = open_bytes(text.encode()), open_bytes(codecs.BOM_UTF8 + text.encode())
    assert plain.header == bom.header == ["PatientLocalId", "PatientLastName"]  # no "\ufeff" in the first header
    assert rows_of(plain) == rows_of(bom) == [(2, ["M1", "Müller"])]


def test_windows_1252_is_the_fallback_when_the_file_is_not_utf8():
    table = open_bytes("PatientLocalId,PatientLastName\nM1,Müller – Café\n".encode("cp1252"))
    assert table.encoding == "cp1252"
    assert rows_of(table) == [(2, ["M1", "Müller – Café"])]


def test_a_late_non_utf8_byte_still_selects_windows_1252():
    # The check reads the whole file, not only its head: a cp1252 byte after 1 MiB counts.
    filler = "".join(f"M{i},Name{i}\n" for i in range(120_000)).encode()
    table = open_bytes(b"PatientLocalId,PatientLastName\n" + filler + "M,Nuñez\n".encode("cp1252"))
    assert table.encoding == "cp1252"


def test_utf16_with_bom_tab_separated_as_excel_unicode_text():
    table = open_bytes("PatientLocalId\tPatientLastName\r\nM1\tÅström\r\n".encode("utf-16"))
    assert table.separator == "\t" and rows_of(table) == [(2, ["M1", "Åström"])]


@pytest.mark.parametrize("newline", ["\r\n", "\n", "\r"])
def test_crlf_lf_and_cr_line_ends(newline):
    table = open_bytes(newline.join(["A,PatientLocalId", "1,M1", "2,M2", ""]).encode())
    assert rows_of(table) == [(2, ["1", "M1"]), (3, ["2", "M2"])]


def test_quoted_cells_hold_separators_quotes_and_line_breaks():
    data = ('PatientLocalId,OrderAdditionalInfo,PatientLastName\r\n'
            'M1,"left eye, then right","O\'Brien ""Bob"""\r\n'
            'M2,"line one\r\nline two",Smith\r\n'
            'M3,plain,Jones\r\n').encode()
    assert rows_of(open_bytes(data)) == [
        (2, ["M1", "left eye, then right", 'O\'Brien "Bob"']),
        (3, ["M2", "line one\r\nline two", "Smith"]),
        (4, ["M3", "plain", "Jones"]),  # a record spanning two lines is still one row
    ]


def test_blank_lines_are_skipped_but_counted_in_row_numbers():
    data = b"\n\nPatientLocalId,PatientLastName\n\nM1,Smith\n , \n\nM2,Jones\n\n"
    table = open_bytes(data)
    assert table.header_row == 3
    assert rows_of(table) == [(5, ["M1", "Smith"]), (8, ["M2", "Jones"])]
    assert table.count_rows() == 2


def test_trailing_empty_columns_are_dropped_from_the_header():
    table = open_bytes(b"PatientLocalId,PatientLastName,,,\r\nM1,Smith,,,\r\n")
    assert table.header == ["PatientLocalId", "PatientLastName"]


@pytest.mark.parametrize("separator", [";", "\t", "|"])
def test_other_separators_are_recognised_from_the_header(separator):
    table = open_bytes(separator.join(["PatientLocalId", "PatientLastName"]).encode() + b"\nM1" + separator.encode() + b"Smith\n")
    assert table.separator == separator and rows_of(table) == [(2, ["M1", "Smith"])]


def test_xlsx_first_sheet_read_only_with_date_cells_and_gaps():
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["PatientLocalId", "PatientDob", "OrderScheduledTime", "PatientPhone"])
    sheet.append(["M1", dt.datetime(1960, 1, 2), dt.datetime(2026, 3, 4, 10, 30), 8135550100])
    sheet.append([])  # a gap row
    sheet.append(["M2", dt.date(1971, 12, 31), None, "813-555-0101"])
    book.create_sheet("Notes").append(["ignored"])
    out = io.BytesIO()
    book.save(out)
    table = open_bytes(out.getvalue())
    assert table.kind == "xlsx"
    assert rows_of(table) == [
        (2, ["M1", dt.datetime(1960, 1, 2), dt.datetime(2026, 3, 4, 10, 30), 8135550100]),
        (4, ["M2", dt.datetime(1971, 12, 31), None, "813-555-0101"]),
    ]
    assert any("only the first worksheet" in warning for warning in table.warnings)


def test_xlsx_is_opened_read_only(monkeypatch):
    import orders.intake.csv.reader as reader

    calls = []
    real = openpyxl.load_workbook
    monkeypatch.setattr(reader.openpyxl, "load_workbook", lambda *a, **kw: calls.append(kw) or real(*a, **kw))
    open_bytes(xlsx_bytes([["M1"]], header=["PatientLocalId"])).count_rows()
    assert calls and all(kw.get("read_only") is True for kw in calls)


@pytest.mark.parametrize(("data", "reason"), [
    (b"", "empty"),
    (b"   \r\n\r\n", "empty"),
    (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "PDF"),
    (b"\x89PNG\r\n\x1a\n\x00\x00", "PNG image"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1legacy", "save it as .xlsx"),
    (b'{"Version": "2.3.1", "OrderControlCode": "NW"}', "JSON"),
    (b"<html><body>Not found</body></html>", "HTML"),
    (b"just one line of prose without separators\nand another\n", "no column separator"),
    (b"\x00\x01\x02binary\x00data", "binary"),
])
def test_not_a_table_is_refused_with_a_reason(data, reason):
    with pytest.raises(FileRefused, match=reason):
        open_bytes(data)


def test_a_zip_that_is_not_a_workbook_is_refused():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("readme.txt", "hello")
    with pytest.raises(FileRefused, match="not a readable XLSX workbook"):
        open_bytes(out.getvalue())


def test_an_unreadable_row_is_reported_and_reading_goes_on(monkeypatch):
    import csv

    monkeypatch.setattr(csv, "field_size_limit", csv.field_size_limit)
    csv.field_size_limit(50)
    try:
        table = open_bytes(b"PatientLocalId,Note\nM1,ok\nM2," + b"x" * 80 + b"\nM3,ok\n")
        rows = list(table.rows())
    finally:
        csv.field_size_limit(131072)
    assert [(row.number, bool(row.error)) for row in rows] == [(2, False), (3, True), (4, False)]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400))
def test_any_bytes_either_read_or_refused_never_crash(data):
    try:
        table = open_bytes(data)
    except FileRefused as exc:
        assert str(exc)
        return
    for row in table.rows():
        assert row.number > table.header_row
