"""A grading's eyes as entered (web form or GradingSubmission), their validation against the
findings catalogue, and what follows from them (flags, severity, care-plan keys).

Pure functions, no database: the service and the form share them."""
from dataclasses import dataclass, field

from orders.canonical import FieldError

from . import catalogue as cat
from .models import Severity

EYES = ("OD", "OS")


@dataclass
class EyeInput:
    """One eye. ``gradable`` None with a missing-eye reason = the eye is not part of the study.
    ``findings``: (finding, result) pairs; suspected conditions have result "". "Other" is kept
    apart as free text with its subset."""

    gradable: bool | None = None
    ungradable_reasons: list[str] = field(default_factory=list)
    missing_eye_reason: str = ""
    findings: list[tuple[str, str]] = field(default_factory=list)
    other_text: str = ""
    other_subset: str = ""

    @property
    def is_missing(self) -> bool:
        return self.gradable is None and bool(self.missing_eye_reason)

    @property
    def ungradable_reason(self) -> str:
        return self.ungradable_reasons[0] if self.ungradable_reasons else ""

    def findings_map(self) -> dict[str, str]:
        return dict(self.findings)


def eyes_validate(*, catalogue: cat.OrderCatalogue, eyes: dict[str, EyeInput]) -> list[FieldError]:
    """Every impossible combination, each naming its field (e.g. ``OS.UngradableReasons``)."""
    errors: list[FieldError] = []
    for side in EYES:
        errors += _eye_errors(side, eyes[side], catalogue)
    if all(eyes[side].is_missing for side in EYES):
        errors.append(FieldError("OD", "at least one eye must be graded (both eyes have a missing-eye reason)"))
    return errors


def _eye_errors(side: str, eye: EyeInput, catalogue: cat.OrderCatalogue) -> list[FieldError]:
    errors: list[FieldError] = []
    has_findings = bool(eye.findings or eye.other_text)
    if eye.gradable is None:
        if not eye.missing_eye_reason:
            return [FieldError(f"{side}.Gradable", "required: say whether the eye is gradable, or give a MissingEyeReason")]
        if has_findings or eye.ungradable_reasons:
            errors.append(FieldError(f"{side}.MissingEyeReason", "a missing eye takes no findings and no ungradable reason"))
        return errors
    if eye.missing_eye_reason:
        errors.append(FieldError(f"{side}.MissingEyeReason", "only for an eye that is not graded (leave Gradable empty)"))
    if eye.gradable is False:
        if len(eye.ungradable_reasons) != 1:
            errors.append(FieldError(f"{side}.UngradableReasons",
                                     f"an ungradable eye takes exactly one reason (got {len(eye.ungradable_reasons)})"))
        elif cat.canonical_ungradable_reason(eye.ungradable_reasons[0]) is None:
            errors.append(FieldError(f"{side}.UngradableReasons[0]",
                                     f"'{eye.ungradable_reasons[0]}' is not an ungradable reason "
                                     f"(one of: {'; '.join(cat.UNGRADABLE_REASONS)})"))
        if has_findings:
            errors.append(FieldError(f"{side}.Findings", "an ungradable eye takes no findings"))
        return errors
    if eye.ungradable_reasons:
        errors.append(FieldError(f"{side}.UngradableReasons", "only for an ungradable eye"))
    seen: set[str] = set()
    diagnosed = catalogue.diagnosed_by_name
    for index, (finding, result) in enumerate(eye.findings):
        where = f"{side}.Findings[{index}]"
        if finding in seen:
            errors.append(FieldError(f"{where}.Finding", f"'{finding}' is given twice"))
            continue
        seen.add(finding)
        if not catalogue.allows(finding) or finding == cat.OTHER:
            errors.append(FieldError(f"{where}.Finding", f"'{finding}' is not a finding of evaluation type "
                                                         f"{', '.join(catalogue.evaluation_types)}"))
        elif finding in diagnosed:
            if result not in diagnosed[finding].results:
                errors.append(FieldError(f"{where}.Result", f"'{result}' is not a result of {finding} "
                                                            f"(one of: {', '.join(diagnosed[finding].results)})"
                                         if result else f"required for {finding}"))
        elif result:
            errors.append(FieldError(f"{where}.Result", f"{finding} is a suspected condition and takes no result"))
    for name in diagnosed:
        if name not in seen:
            errors.append(FieldError(f"{side}.Findings", f"{name}: an answer is required for a gradable eye"))
    if eye.other_text or eye.other_subset:
        if not catalogue.other_allowed:
            errors.append(FieldError(f"{side}.Other", "free-text findings are not taken for this evaluation type"))
        elif not eye.other_text.strip():
            errors.append(FieldError(f"{side}.Other", "describe the other finding (free text)"))
        elif cat.canonical_subset(eye.other_subset) is None:
            errors.append(FieldError(f"{side}.OtherSubset", "choose one of: " + ", ".join(s.value for s in cat.OtherSubset)))
    indeterminable = [name for name, result in eye.findings if result == cat.INDETERMINABLE]
    if indeterminable and not (_suspicions(eye, catalogue)):
        errors.append(FieldError(f"{side}.Findings", f"{', '.join(indeterminable)} Indeterminable needs a suspected "
                                                     "condition on the same eye (otherwise mark the eye ungradable)"))
    return errors


def _suspicions(eye: EyeInput, catalogue: cat.OrderCatalogue) -> list[str]:
    names = [finding for finding, _ in eye.findings if finding in catalogue.suspected]
    return names + ([cat.OTHER] if eye.other_text else [])


@dataclass(frozen=True)
class Assessment:
    """What follows from the eyes, before care plans: pathology, severity, care-plan keys."""

    pathology: bool
    severity: str
    keys: list[tuple[str, str]]


def eyes_assess(*, catalogue: cat.OrderCatalogue, eyes: dict[str, EyeInput]) -> Assessment:
    """Severity (DiscreteResults.md): CRITICAL when a critical result is found (proliferative DR,
    positive ME, wet or advanced AMD), ABNORMAL for any other pathology or suspicion, NORMAL
    otherwise; blank when no eye was gradable. Emergent care plans raise it to CRITICAL later."""
    pathology = critical = False
    gradable_any = False
    keys: list[tuple[str, str]] = []
    diagnosed = catalogue.diagnosed_by_name
    for side in EYES:
        eye = eyes[side]
        if eye.is_missing:
            continue
        if not eye.gradable:
            keys.append((cat.NOT_GRADABLE, ""))
            continue
        gradable_any = True
        eye_keys = list(eye.findings)
        if eye.other_text:
            eye_keys.append((cat.OTHER, cat.canonical_subset(eye.other_subset).value))
        for finding, result in eye_keys:
            condition = diagnosed.get(finding)
            if condition is None or result not in cat.NORMAL_RESULTS:
                pathology = True
            if condition is not None and result in condition.critical:
                critical = True
        keys += eye_keys or [(cat.NO_FINDING, "")]
    if not gradable_any:
        severity = ""
    else:
        severity = Severity.CRITICAL if critical else Severity.ABNORMAL if pathology else Severity.NORMAL
    return Assessment(pathology=pathology, severity=severity, keys=keys or [(cat.NO_FINDING, "")])
