"""Descriptions of the ICD-10-CM codes a grading produces (grading/icd10.py), built from the
code's structure so every combination reads the same way (the published code list spells
them inconsistently)."""
import re

_CATEGORIES = {
    "E08": "Diabetes mellitus due to underlying condition",
    "E09": "Drug or chemical induced diabetes mellitus",
    "E10": "Type 1 diabetes mellitus",
    "E11": "Type 2 diabetes mellitus",
    "E13": "Other specified diabetes mellitus",
}
_DR_SEVERITY = {
    "2": "mild nonproliferative diabetic retinopathy",
    "3": "moderate nonproliferative diabetic retinopathy",
    "4": "severe nonproliferative diabetic retinopathy",
    "5": "proliferative diabetic retinopathy",
}
_EYES = {"1": "right eye", "2": "left eye", "3": "bilateral", "9": "unspecified eye"}
_DRY_STAGES = {
    "1": "early dry stage",
    "2": "intermediate dry stage",
    "3": "advanced atrophic without subfoveal involvement",
    "4": "advanced atrophic with subfoveal involvement",
}
_DR = re.compile(r"^(E0[89]|E1[013])3([2-5])([19])([1239])$")
_DRY = re.compile(r"^H3531([1239])([1-4])$")
_WET = re.compile(r"^H3532([1239])$")


def icd10_description(code: str) -> str:
    """Human description of one code (no dot, as in DxCodes); the code itself when unknown."""
    code = (code or "").replace(".", "").upper()
    if match := _DR.match(code):
        category, severity, edema, eye = match.groups()
        with_edema = "with macular edema" if edema == "1" else "without macular edema"
        return f"{_CATEGORIES[category]} with {_DR_SEVERITY[severity]} {with_edema}, {_EYES[eye]}"
    if code == "H3581":
        return "Retinal edema"
    if match := _DRY.match(code):
        eye, stage = match.groups()
        return f"Nonexudative age-related macular degeneration, {_EYES[eye]}, {_DRY_STAGES[stage]}"
    if match := _WET.match(code):
        return f"Exudative age-related macular degeneration, {_EYES[match.group(1)]}"
    if code in _CATEGORIES:
        return _CATEGORIES[code]
    return code


def icd10_display(code: str) -> str:
    """The code with its dot (E11.3291), as clinicians read it."""
    code = (code or "").replace(".", "").upper()
    return f"{code[:3]}.{code[3:]}" if len(code) > 3 else code
