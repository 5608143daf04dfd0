"""GradingSubmission 2.3.1 (objectmodel/GradingSubmissionObject.md): how AI services and test
environments submit a grading."""
from typing import Any

from pydantic import Field, field_validator

from .base import Blankable, LenientModel, Text, is_blank, parse_message
from .errors import FieldError
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

    def required_errors(self) -> list[FieldError]:
        missing = [name for name, value in (("ClientGuid", self.client_guid), ("LocalId", self.local_id)) if not value]
        if not (self.od or self.os):
            missing.append("OD")
        return [FieldError(name, "required") for name in missing]


def parse_grading_submission(data: str | bytes | dict) -> GradingSubmission:
    return parse_message(GradingSubmission, data, "a GradingSubmission")
