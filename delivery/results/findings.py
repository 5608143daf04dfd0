"""Findings as the OrderResult carries them, and the complete per-eye answers renderers need.

ResultObject.md: an eye's ``Findings`` lists what the grader noted; "if the array is not present,
there was no pathology found for the eye". So the OrderResult lists only pathology (results other
than None / No Observable, suspected conditions, "Other"), and ``eye_answers`` restores the full
answer sheet (every diagnosed condition of the evaluation types, normal ones included) from the
findings catalogue, for the report table and the HL7 discrete results (DiscreteResults.md)."""
from dataclasses import dataclass, field

from grading import catalogue as cat

OTHER_PREFIX = f"{cat.OTHER} - "


def eye_pathology_findings(findings: list[dict], other_text: str = "", other_subset: str = "") -> list[dict] | None:
    """The ``Findings`` array of one graded eye: pathology only; None when there is none.
    "Other" goes out as ``{"Finding": "Other - <subset>", "Result": <free text>}``, the form
    GradingSubmission accepts (grading/submission.py)."""
    noted = [{"Finding": item["Finding"], "Result": item.get("Result") or None}
             for item in findings if (item.get("Result") or "") not in cat.NORMAL_RESULTS]
    if other_text:
        noted.append({"Finding": f"{OTHER_PREFIX}{other_subset or cat.OtherSubset.REFERABLE.value}",
                      "Result": other_text})
    return noted or None


@dataclass(frozen=True)
class Answer:
    finding: str
    result: str
    abnormal: bool
    kind: str  # "diagnosed", "suspected" or "other"


@dataclass(frozen=True)
class EyeAnswers:
    """One eye for display. ``status``: gradable, ungradable, missing (a missing-eye reason) or
    not_imaged (no OD/OS node: the order has no image of that eye)."""

    side: str
    status: str
    reason: str = ""
    answers: list[Answer] = field(default_factory=list)

    @property
    def abnormal(self) -> bool:
        return any(answer.abnormal for answer in self.answers)


def eye_answers(eye: dict | None, evaluation_types, side: str) -> EyeAnswers:
    """Every answer of one OD/OS node of an OrderResult, diagnosed conditions first (normal
    results restored from the catalogue), then suspected conditions and "Other"."""
    if eye is None:
        return EyeAnswers(side, "not_imaged")
    if eye.get("Gradable") is None:
        return EyeAnswers(side, "missing", eye.get("MissingEyeReason") or "")
    if eye.get("Gradable") is False:
        return EyeAnswers(side, "ungradable", "; ".join(eye.get("UngradableReasons") or []))
    noted = {item["Finding"]: item.get("Result") for item in eye.get("Findings") or []}
    catalogue = cat.catalogue_for_types(evaluation_types)
    answers = []
    for condition in catalogue.diagnosed:
        result = noted.pop(condition.name, None) or _normal_result(condition)
        answers.append(Answer(condition.name, result, result not in cat.NORMAL_RESULTS, "diagnosed"))
    for finding, result in noted.items():
        if finding.startswith(OTHER_PREFIX):
            answers.append(Answer(finding, result or "", True, "other"))
        elif result:  # a diagnosed condition outside this catalogue (should not happen): keep it
            answers.append(Answer(finding, result, result not in cat.NORMAL_RESULTS, "diagnosed"))
        else:
            answers.append(Answer(finding, "Suspected", True, "suspected"))
    return EyeAnswers(side, "gradable", answers=answers)


def _normal_result(condition: cat.Condition) -> str:
    return next((result for result in condition.results if result in cat.NORMAL_RESULTS), condition.results[0])
