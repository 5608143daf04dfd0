"""File-name templates (FileNameTemplates.md): every token, YEST_ across boundaries, safety."""
import datetime as dt
import zoneinfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from delivery.filenames import (
    DATE_TOKENS,
    TOKENS,
    VALUE_TOKENS,
    FileNameTemplate,
    TemplateError,
    filename_safe,
    path_within,
    suffixed_names,
)

VALUES = {
    "patientId": 815, "patientLocalId": "MRN-77", "orderId": 4711, "orderLocalId": "P0112X00123",
    "patientFirstName": "Ana", "patientLastName": "Smith", "clientLocalId": "HarborviewClinic",
    "departmentLocalId": "EYE",
}
DOC_MOMENT = dt.datetime(2024, 9, 1, 9, 4, 21, tzinfo=dt.UTC)  # the doc's "9/1/2024 9:04:21"


def render(template, when=DOC_MOMENT, values=VALUES, tz=dt.UTC, **kwargs):
    return FileNameTemplate(template, **kwargs).render(values, when, tz)


def test_the_token_list_is_the_documented_one():
    assert set(VALUE_TOKENS) == {"patientId", "patientLocalId", "orderId", "orderLocalId", "patientFirstName",
                                 "patientLastName", "clientLocalId", "departmentLocalId"}
    dates = {"yyyy", "MM", "dd", "yyyyMMdd_HHmmss", "yyyyMMdd", "MMddyyyy"}
    assert set(DATE_TOKENS) == dates | {f"YEST_{name}" for name in dates}
    assert len(TOKENS) == 8 + 12


@pytest.mark.parametrize("token, expected", [
    ("patientId", "815"), ("patientLocalId", "MRN-77"), ("orderId", "4711"), ("orderLocalId", "P0112X00123"),
    ("patientFirstName", "Ana"), ("patientLastName", "Smith"), ("clientLocalId", "HarborviewClinic"),
    ("departmentLocalId", "EYE"),
])
def test_value_tokens(token, expected):
    assert render(f"x_{{{token}}}.pdf") == f"x_{expected}.pdf"


@pytest.mark.parametrize("token, expected", [  # the table of FileNameTemplates.md, delivery at 9/1/2024 9:04:21
    ("yyyy", "2024"), ("MM", "09"), ("dd", "01"), ("yyyyMMdd_HHmmss", "20240901_090421"),
    ("yyyyMMdd", "20240901"), ("MMddyyyy", "09012024"),
    ("YEST_yyyy", "2024"), ("YEST_MM", "08"), ("YEST_dd", "31"), ("YEST_yyyyMMdd_HHmmss", "20240831_090421"),
    ("YEST_yyyyMMdd", "20240831"), ("YEST_MMddyyyy", "08312024"),
])
def test_date_tokens_match_the_documented_examples(token, expected):
    assert render(f"{{{token}}}.pdf") == f"{expected}.pdf"


def test_yesterday_across_a_year_boundary():
    new_year = dt.datetime(2025, 1, 1, 0, 30, 5, tzinfo=dt.UTC)
    template = "{YEST_yyyy}-{YEST_MM}-{YEST_dd}_{YEST_yyyyMMdd}_{YEST_MMddyyyy}_{YEST_yyyyMMdd_HHmmss}.pdf"
    assert render(template, new_year) == "2024-12-31_20241231_12312024_20241231_003005.pdf"
    assert render("{yyyy}{MM}{dd}.pdf", new_year) == "20250101.pdf"


def test_yesterday_across_month_ends_and_a_leap_day():
    assert render("{YEST_yyyyMMdd}.pdf", dt.datetime(2024, 3, 1, 12, tzinfo=dt.UTC)) == "20240229.pdf"
    assert render("{YEST_yyyyMMdd}.pdf", dt.datetime(2023, 3, 1, 12, tzinfo=dt.UTC)) == "20230228.pdf"
    assert render("{YEST_MMddyyyy}.pdf", dt.datetime(2024, 5, 1, 12, tzinfo=dt.UTC)) == "04302024.pdf"


def test_dates_are_read_in_the_endpoint_time_zone():
    # 02:00 UTC on Sept 1 is still Aug 31 in New York.
    moment = dt.datetime(2024, 9, 1, 2, 0, 0, tzinfo=dt.UTC)
    new_york = zoneinfo.ZoneInfo("America/New_York")
    assert render("{yyyyMMdd_HHmmss}_{YEST_yyyyMMdd}.pdf", moment, tz=new_york) == "20240831_220000_20240830.pdf"


def test_yesterday_keeps_the_wall_clock_across_daylight_saving():
    moment = dt.datetime(2024, 3, 10, 15, 0, tzinfo=zoneinfo.ZoneInfo("America/New_York"))  # DST began that night
    assert render("{YEST_yyyyMMdd_HHmmss}.pdf", moment, tz=zoneinfo.ZoneInfo("America/New_York")) \
        == "20240309_150000.pdf"


def test_documented_example_with_folders_and_backslashes():
    # The doc's C:\results\{MMddyyyy}\{clientLocalId}\{orderLocalId}.pdf with C:\results as the base folder.
    assert render("{MMddyyyy}\\{clientLocalId}\\{orderLocalId}.pdf") == "09012024/HarborviewClinic/P0112X00123.pdf"
    assert render("{MMddyyyy}/{clientLocalId}/{orderLocalId}.pdf") == "09012024/HarborviewClinic/P0112X00123.pdf"


def test_tokens_property_lists_the_placeholders():
    assert FileNameTemplate("{yyyy}/{orderLocalId}_{yyyy}.pdf").tokens == ("yyyy", "orderLocalId")


@pytest.mark.parametrize("value, expected", [
    ("O'Brien/Smith", "O'Brien_Smith"),
    ("..\\..\\etc", "_.._etc"),
    ("a:b*c?d\"e<f>g|h", "a_b_c_d_e_f_g_h"),
    ("tab\there\nnew", "tab_here_new"),
    ("  .hidden  ", "hidden"),
    ("trailing. ", "trailing"),
    ("José Núñez", "José Núñez"),
    (None, ""),
    (12, "12"),
])
def test_values_are_made_filename_safe(value, expected):
    assert filename_safe(value) == expected


def test_a_value_cannot_escape_the_base_folder():
    values = {**VALUES, "patientLastName": "../../../etc/passwd", "orderLocalId": ".."}
    assert render("{patientLastName}_{orderLocalId}.pdf", values=values) == "_.._.._etc_passwd_.pdf"
    with pytest.raises(TemplateError, match="folder name from {orderLocalId} is empty"):
        render("{orderLocalId}/x.pdf", values=values)


def test_long_values_are_cut_and_windows_device_names_avoided():
    values = {**VALUES, "orderLocalId": "x" * 300, "patientLastName": "CON"}
    assert render("{orderLocalId}", values=values) == "x" * 100
    assert render("{patientLastName}.pdf", values=values) == "_CON.pdf"


def test_an_empty_value_in_a_folder_fails_naming_the_token():
    values = {**VALUES, "departmentLocalId": ""}
    with pytest.raises(TemplateError, match=r"folder name from \{departmentLocalId\} is empty"):
        render("{departmentLocalId}/{orderLocalId}.pdf", values=values)
    # Inside a name with other text it is just left out.
    assert render("{orderLocalId}_{departmentLocalId}.pdf", values=values) == "P0112X00123_.pdf"


def test_a_file_name_over_255_bytes_is_refused():
    with pytest.raises(TemplateError, match="longer than 255 bytes"):
        render("{orderLocalId}" + "x" * 250 + ".pdf")


@pytest.mark.parametrize("template, message", [
    ("", "empty"),
    ("/results/{orderLocalId}.pdf", "relative to the base folder"),
    ("\\results\\{orderLocalId}.pdf", "relative to the base folder"),
    ("C:\\results\\{orderLocalId}.pdf", "drive letter"),
    ("../{orderLocalId}.pdf", "escape its base folder"),
    ("a/../../{orderLocalId}.pdf", "escape its base folder"),
    ("a\\..\\{orderLocalId}.pdf", "escape its base folder"),
    ("./{orderLocalId}.pdf", "escape its base folder"),
    ("a//{orderLocalId}.pdf", "two separators"),
    ("{orderLocalId}/", "at the end"),
    ("{mm}.pdf", r"unknown token \{mm\}; did you mean \{MM\}\?"),
    ("{OrderLocalId}.pdf", r"did you mean \{orderLocalId\}"),
    ("{patientDob}.pdf", r"unknown token \{patientDob\}"),
    ("{yyyyMMddHHmmss}.pdf", "unknown token"),
    ("{orderLocalId.pdf", "unmatched '{'"),
    ("orderLocalId}.pdf", "unmatched '}'"),
    ("{orderLocalId}|.pdf", "'|' is not allowed"),
])
def test_bad_templates_are_refused_at_configuration(template, message):
    with pytest.raises(TemplateError, match=message):
        FileNameTemplate(template)


def test_single_directory_destinations_refuse_folders():
    with pytest.raises(TemplateError, match="may not contain folders"):
        FileNameTemplate("{yyyy}/{orderLocalId}.pdf", allow_folders=False)
    assert render("{orderLocalId}.pdf", allow_folders=False) == "P0112X00123.pdf"


def test_render_needs_an_aware_time():
    with pytest.raises(ValueError, match="aware"):
        FileNameTemplate("{yyyy}.pdf").render(VALUES, dt.datetime(2024, 1, 1))


def test_path_within_refuses_escapes(tmp_path):
    base = str(tmp_path)
    assert path_within(base, "a/b.pdf") == str(tmp_path / "a" / "b.pdf")
    for bad in ("../x.pdf", "/etc/passwd", "a/../../x", "", "a//b"):
        with pytest.raises(TemplateError, match="escape"):
            path_within(base, bad)


def test_suffixed_names():
    names = suffixed_names("09012024/P01.pdf")
    assert [next(names) for _ in range(3)] == ["09012024/P01.pdf", "09012024/P01-2.pdf", "09012024/P01-3.pdf"]
    assert list(suffixed_names("README", limit=2)) == ["README", "README-2"]


@given(st.dictionaries(st.sampled_from(sorted(VALUE_TOKENS)), st.text(max_size=120)))
def test_any_value_stays_inside_the_base_folder(values):
    template = FileNameTemplate("{clientLocalId}_x/{patientLastName}_{orderLocalId}_{patientFirstName}.pdf")
    try:
        relative = template.render(values, DOC_MOMENT, dt.UTC)
    except TemplateError:
        return  # an unusable name is refused, which is fine
    parts = relative.split("/")
    assert len(parts) == 2 and all(part not in ("", ".", "..") for part in parts)
    assert "\\" not in relative and "\x00" not in relative
    path_within("/base", relative)
