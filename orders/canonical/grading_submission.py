"""GradingSubmission 2.3.1 (objectmodel/GradingSubmissionObject.md): how AI services and test
environments submit a grading."""
from typing import Any

from pydantic import Field, ValidationError, field_validator

from .base import Blankable, LenientModel, Text, is_blank
from .errors import FieldError, RequestRejected, errors_from_validation
from .jsonio import loads_lenient
from .order_request import Site


class FindingAnswer(LenientModel):
    finding: Text = Field(None, alias="Finding")
    result: Text = Field(None, alias="Result")


class EyeGrading(LenientModel):
    gradable: bool | None = Field(None, alias="Gradable")
    ungradable_reasons: list[str] = Field(default_factory=list, alias="UngradableReasons")
    missing_eye_reason: Text = Field(None, alias="MissingEyeReason")
    findings: list[FindingAnswer] = Field(default_factory=list, alias="Findings")

    @field_validator("ungradable_reasons", "findings", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        if value is None:
            return []
        return [item for item in value if not is_blank(item)] if isinstance(value, list) else value


class GradingSubmission(LenientModel):
    version: Text = Field("2.3.1", alias="Version")
    client_guid: Text = Field(None, alias="ClientGuid")
    site: Blankable(Site) = Field(None, alias="Site")
    local_id: Text = Field(None, alias="LocalId")
    od: Blankable(EyeGrading) = Field(None, alias="OD")
    os: Blankable(EyeGrading) = Field(None, alias="OS")
    notes: Text = Field(None, alias="Notes")


def parse_grading_submission(data: str | bytes | dict) -> GradingSubmission:
    if not isinstance(data, dict):
        data = loads_lenient(data)
    if not isinstance(data, dict):
        raise RequestRejected(FieldError("", "a GradingSubmission must be a JSON object"))
    try:
        submission = GradingSubmission.model_validate(data)
    except ValidationError as exc:
        raise RequestRejected(errors_from_validation(exc)) from None
    missing = [name for name, value in (("ClientGuid", submission.client_guid), ("LocalId", submission.local_id)) if not value]
    if not (submission.od or submission.os):
        missing.append("OD")
    if missing:
        raise RequestRejected([FieldError(name, "required") for name in missing])
    return submission
