"""The grading form, generated from the findings catalogue of the order's evaluation types.

Field names per eye ``<side>-...``: ``status`` (gradable / ungradable / missing),
``ungradable_reason``, ``missing_eye_reason``, ``dx-<n>`` (the result of the n-th diagnosed
condition), ``suspected`` (checkboxes), ``other_text`` and ``other_subset``. Validation is the
service's (grading/eyes.py), so the form and GradingSubmission messages obey the same rules."""
from dataclasses import dataclass

from . import catalogue as cat
from .eyes import EYES, EyeInput

EYE_LABELS = {"OD": "Right eye (OD)", "OS": "Left eye (OS)"}


def eyes_from_post(data, catalogue: cat.OrderCatalogue) -> dict[str, EyeInput]:
    eyes = {}
    for side in EYES:
        status = data.get(f"{side}-status", "")
        eye = EyeInput()
        if status == "gradable":
            eye.gradable = True
            for index, condition in enumerate(catalogue.diagnosed):
                result = data.get(f"{side}-dx-{index}", "")
                if result:
                    eye.findings.append((condition.name, result))
            chosen = set(data.getlist(f"{side}-suspected"))
            eye.findings += [(name, "") for name in catalogue.suspected if name in chosen]
            eye.findings += [(name, "") for name in sorted(chosen - set(catalogue.suspected))]  # refused by validation
            eye.other_text = data.get(f"{side}-other_text", "").strip()
            eye.other_subset = data.get(f"{side}-other_subset", "") if eye.other_text else ""
        elif status == "ungradable":
            eye.gradable = False
            reason = data.get(f"{side}-ungradable_reason", "")
            eye.ungradable_reasons = [reason] if reason else []
        elif status == "missing":
            eye.missing_eye_reason = data.get(f"{side}-missing_eye_reason", "").strip() or "Not imaged"
        eyes[side] = eye
    return eyes


@dataclass
class ConditionField:
    index: int
    name: str
    results: list[tuple[str, bool]]  # (result, checked)


@dataclass
class EyeForm:
    side: str
    label: str
    status: str
    ungradable_reason: str
    missing_eye_reason: str
    conditions: list[ConditionField]
    suspected: list[tuple[str, bool]]
    other_text: str
    other_subset: str


def grading_form(catalogue: cat.OrderCatalogue, eyes: dict[str, EyeInput] | None = None,
                 default_status: dict[str, str] | None = None) -> list[EyeForm]:
    """What the template needs to draw (or redraw, after a refusal) the form."""
    forms = []
    for side in EYES:
        eye = (eyes or {}).get(side) or EyeInput()
        answers = eye.findings_map()
        if eye.is_missing:
            status = "missing"
        elif eye.gradable is None:
            status = (default_status or {}).get(side, "")
        else:
            status = "gradable" if eye.gradable else "ungradable"
        forms.append(EyeForm(
            side=side, label=EYE_LABELS[side], status=status, ungradable_reason=eye.ungradable_reason,
            missing_eye_reason=eye.missing_eye_reason,
            conditions=[ConditionField(index, c.name, [(r, answers.get(c.name) == r) for r in c.results])
                        for index, c in enumerate(catalogue.diagnosed)],
            suspected=[(name, name in answers) for name in catalogue.suspected],
            other_text=eye.other_text, other_subset=eye.other_subset,
        ))
    return forms
