"""ICD-10-CM codes of a grading (IRIS integration/Results/ICD10CMResults.md).

Only diagnosed DR, macular edema and AMD findings produce codes; suspected conditions never do.

* DR: ``<category>3<severity><edema><eye>`` where the category (E08/E09/E10/E11/E13) is the
  first three characters of the patient's dx code (E11 when absent or not a diabetes category),
  severity 2 mild / 3 moderate / 4 severe / 5 proliferative, edema 1 with / 9 without,
  eye 1 right / 2 left / 3 bilateral.
* Macular edema without diabetic retinopathy: H35.81 retinal edema (no eye digit).
* Dry AMD: ``H3531<eye><stage>`` (stage 1 early, 2 intermediate, 3 advanced atrophic without
  subfoveal involvement, 4 with); wet AMD: ``H3532<eye>``.
* Both eyes with the same code stem give one bilateral code instead of a right and a left one.
"""
from collections.abc import Mapping

from .catalogue import DIABETIC_RETINOPATHY, DRY_AMD, MACULAR_EDEMA, WET_AMD

DIABETES_CATEGORIES = ("E08", "E09", "E10", "E11", "E13")
DEFAULT_CATEGORY = "E11"
RIGHT, LEFT, BILATERAL = "1", "2", "3"

_DR_SEVERITY = {"Mild": "2", "Moderate": "3", "Severe": "4", "Proliferative": "5"}
_DRY_STAGE = {"Early Stage": "1", "Intermediate Stage": "2",
              "Adv. Atrophic w/o Subfoveal Involvement": "3", "Adv. Atrophic w/ Subfoveal Involvement": "4"}
RETINAL_EDEMA = "H3581"


def diabetes_category(dx_code: str | None) -> str:
    code = (dx_code or "").replace(".", "").strip().upper()[:3]
    return code if code in DIABETES_CATEGORIES else DEFAULT_CATEGORY


def icd10_codes(*, dx_code: str | None, od: Mapping[str, str] | None, os: Mapping[str, str] | None) -> list[str]:
    """Codes for the diagnosed findings of each gradable eye (``{finding: result}``; pass None
    for an eye that was not graded). Codes without an eye digit appear once."""
    category = diabetes_category(dx_code)
    per_eye = {RIGHT: _eye_codes(category, od or {}), LEFT: _eye_codes(category, os or {})}
    codes: list[str] = []
    for kind in ("dr", "edema", "dry", "wet"):
        right, left = per_eye[RIGHT].get(kind), per_eye[LEFT].get(kind)
        if kind == "edema":
            if right or left:
                codes.append(RETINAL_EDEMA)
            continue
        codes += _lateral(kind, right, left)
    return codes


def _eye_codes(category: str, findings: Mapping[str, str]) -> dict[str, str]:
    """Per eye: the code stem of each kind (the eye digit is added by ``_lateral``)."""
    stems: dict[str, str] = {}
    edema = findings.get(MACULAR_EDEMA) == "Positive"
    severity = _DR_SEVERITY.get(findings.get(DIABETIC_RETINOPATHY, ""))
    if severity:
        stems["dr"] = f"{category}3{severity}{'1' if edema else '9'}"
    elif edema:
        stems["edema"] = RETINAL_EDEMA
    stage = _DRY_STAGE.get(findings.get(DRY_AMD, ""))
    if stage:
        stems["dry"] = stage
    if findings.get(WET_AMD) == "Positive":
        stems["wet"] = "H3532"
    return stems


def _lateral(kind: str, right: str | None, left: str | None) -> list[str]:
    if right and right == left:
        return [_with_eye(kind, right, BILATERAL)]
    return [_with_eye(kind, stem, eye) for stem, eye in ((right, RIGHT), (left, LEFT)) if stem]


def _with_eye(kind: str, stem: str, eye: str) -> str:
    if kind == "dry":  # the stage digit follows the eye digit
        return f"H3531{eye}{stem}"
    return f"{stem}{eye}"
