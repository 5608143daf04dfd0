"""ICD-10 codes against every row of the published table (icd10-codes.csv) that our findings
can produce; the rows we cannot produce are listed with the reason."""
import itertools
import re

import pytest

from grading import catalogue as cat
from grading.icd10 import diabetes_category, icd10_codes

from .helpers import fixture_rows

ROWS = fixture_rows("icd10-codes.csv")
NORMAL = {cat.DIABETIC_RETINOPATHY: "None", cat.MACULAR_EDEMA: "None", cat.DRY_AMD: "No Observable",
          cat.WET_AMD: "No Observable"}
CATEGORY_BY_TEXT = {"Diabetes mellitus due to underlying condition": "E08", "Drug or chemical induced": "E09",
                    "Type 1": "E10", "Type 2": "E11", "Other specified": "E13"}
DR_SEVERITY = {"mild nonproliferative": "Mild", "moderate nonproliferative": "Moderate",
               "severe nonproliferative": "Severe", "proliferative": "Proliferative"}
DRY_STAGE = {"early dry stage": "Early Stage", "intermediate dry stage": "Intermediate Stage",
             "advanced atrophic without subfoveal involvement": "Adv. Atrophic w/o Subfoveal Involvement",
             "advanced atrophic with subfoveal involvement": "Adv. Atrophic w/ Subfoveal Involvement"}


def eyes_of(description: str) -> tuple[bool, bool]:
    text = description.lower()
    if "bilateral" in text:
        return True, True
    return "right eye" in text, "left eye" in text


def grading_for(row) -> tuple[str, dict, dict] | None:
    """(dx code, OD findings, OS findings) that the row's description describes, or None."""
    code, text = row["code"], row["description"]
    right, left = eyes_of(text)
    finding: dict = {}
    dx = "E11"
    match = re.search(r"with (mild nonproliferative|moderate nonproliferative|severe nonproliferative|proliferative) "
                      r"diabetic retinopathy (with|without) macular edema", text)
    if match:
        dx = next(c for prefix, c in CATEGORY_BY_TEXT.items() if text.startswith(prefix))
        finding = {cat.DIABETIC_RETINOPATHY: DR_SEVERITY[match.group(1)],
                   cat.MACULAR_EDEMA: "Positive" if match.group(2) == "with" else "None"}
    elif text.startswith("Nonexudative age-related macular degeneration"):
        stage = next((s for phrase, s in DRY_STAGE.items() if phrase in text), None)
        if stage is None:
            return None
        finding = {cat.DRY_AMD: stage}
    elif text.startswith("Exudative age-related macular degeneration"):
        finding = {cat.WET_AMD: "Positive"}
    elif code == "H3581":
        return dx, {**NORMAL, cat.MACULAR_EDEMA: "Positive"}, dict(NORMAL)
    if not finding or not (right or left):
        return None
    return dx, ({**NORMAL, **finding} if right else dict(NORMAL)), ({**NORMAL, **finding} if left else dict(NORMAL))


# Rows no grading can produce, and why.
UNPRODUCIBLE = {
    "E10": "a patient's starting diagnosis (input), not a result",
    "E1010": "input diagnosis", "E1011": "input diagnosis", "E1021": "input diagnosis", "E1022": "input diagnosis",
    "H30139": "chorioretinal inflammation is not a finding of any evaluation type",
}
UNSPECIFIED_EYE = re.compile(r"^E(08|09|10|11|13)3[2-5][19]$")  # we always know the eye
DRY_STAGE_UNSPECIFIED = re.compile(r"^H3531[123]0$")  # every dry AMD result names a stage


@pytest.mark.parametrize("row", ROWS, ids=[row["code"] for row in ROWS])
def test_icd10_table_row(row):
    code = row["code"]
    case = grading_for(row)
    if case is None:
        assert code in UNPRODUCIBLE or UNSPECIFIED_EYE.match(code) or DRY_STAGE_UNSPECIFIED.match(code), (
            f"{code} is neither produced nor listed as unproducible")
        return
    dx, od, os = case
    assert icd10_codes(dx_code=dx, od=od, os=os) == [code]


def test_every_code_we_produce_is_in_the_published_table_or_a_regular_sibling():
    """Exhaustive over DR x ME x AMD results of both eyes: every code has the documented shape."""
    published = {row["code"] for row in ROWS}
    shapes = re.compile(r"^(E(08|09|10|11|13)3[2-5][19][123]|H3581|H3531[123][1-4]|H3532[123])$")
    dr = cat.catalogue_for("DR_AMD").diagnosed_by_name
    choices = [dr[cat.DIABETIC_RETINOPATHY].results, dr[cat.MACULAR_EDEMA].results]
    seen = set()
    for dx in ("E10", "E11"):
        for od_dr, od_me, os_dr, os_me in itertools.product(*choices, *choices):
            codes = icd10_codes(dx_code=dx, od={cat.DIABETIC_RETINOPATHY: od_dr, cat.MACULAR_EDEMA: od_me},
                                os={cat.DIABETIC_RETINOPATHY: os_dr, cat.MACULAR_EDEMA: os_me})
            assert len(codes) == len(set(codes))
            seen.update(codes)
    assert all(shapes.match(code) for code in seen)
    assert {c for c in seen if c.startswith("E11")} <= published


def test_category_comes_from_dx_code_with_e11_default():
    assert diabetes_category("E10.65") == "E10"
    assert diabetes_category("e0800") == "E08"
    assert diabetes_category("") == "E11"
    assert diabetes_category(None) == "E11"
    assert diabetes_category("I10") == "E11"  # not a diabetes category


def test_bilateral_only_when_both_eyes_agree():
    mild = {cat.DIABETIC_RETINOPATHY: "Mild", cat.MACULAR_EDEMA: "None"}
    assert icd10_codes(dx_code="E11", od=mild, os=mild) == ["E113293"]
    moderate = {cat.DIABETIC_RETINOPATHY: "Moderate", cat.MACULAR_EDEMA: "Positive"}
    assert icd10_codes(dx_code="E11", od=mild, os=moderate) == ["E113291", "E113312"]


def test_ungraded_eye_and_normal_results_give_no_codes():
    assert icd10_codes(dx_code="E11", od={cat.DIABETIC_RETINOPATHY: "Severe", cat.MACULAR_EDEMA: "None"}, os=None) == ["E113491"]
    assert icd10_codes(dx_code="E11", od=NORMAL, os=NORMAL) == []
    assert icd10_codes(dx_code="E11", od={cat.DIABETIC_RETINOPATHY: "Indeterminable"}, os=None) == []


def test_suspected_conditions_give_no_codes():
    assert icd10_codes(dx_code="E11", od={"Suspected Macular Edema": "", "Suspected Wet AMD": ""}, os=None) == []


def test_amd_codes_and_bilateral():
    early = {cat.DRY_AMD: "Early Stage", cat.WET_AMD: "Positive"}
    assert icd10_codes(dx_code=None, od=early, os=early) == ["H353131", "H35323"]
    assert icd10_codes(dx_code=None, od=early, os={cat.DRY_AMD: "Intermediate Stage"}) == ["H353111", "H353122", "H35321"]
