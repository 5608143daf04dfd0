"""The OrderResult 2.3.1 (objectmodel/ResultObject.md) as pydantic output models.

Key order follows the published example (clouddirect/ResultExample.md, fixture
orderresult-1.json); properties the object model lists but the example lacks come where the model
puts them, and the few portal extensions (marked below) come last in their object, so a reader of
the IRIS example finds every key where it expects it. Dumped with ``model_dump(mode="json")``
these models give the published JSON; ``OrderResult.model_json_schema()`` is the JSON Schema.
"""
import datetime as dt
from typing import Annotated, Any

from django.conf import settings
from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, model_serializer

VERSION = "2.3.1"
# The portal publishes this schema under /schemas/ (the file name IRIS uses for its own).
SCHEMA_FILE = f"order-results.schema.{VERSION}.json"


def published_schema_url() -> str:
    return f"{settings.IRIS_PORTAL_URL}/schemas/{SCHEMA_FILE}"


def _iso(value: dt.datetime | dt.date | None) -> str | None:
    return value.isoformat() if value is not None else None


DateTime = Annotated[dt.datetime | None, PlainSerializer(_iso, return_type=str | None)]
Date = Annotated[dt.date | None, PlainSerializer(_iso, return_type=str | None)]


class _Out(BaseModel):
    model_config = ConfigDict(serialize_by_alias=True, validate_by_name=True, validate_by_alias=True,
                              extra="forbid")


class Address(_Out):
    street1: str | None = Field(None, alias="Street1")
    street2: str | None = Field(None, alias="Street2")
    city: str | None = Field(None, alias="City")
    state: str | None = Field(None, alias="State")
    postal_code: str | None = Field(None, alias="PostalCode")


class Site(_Out):
    local_id: str = Field(alias="LocalId")
    name: str | None = Field(None, alias="Name")
    address: Address | None = Field(None, alias="Address")


class ResultsDocument(_Out):
    type: str = Field(alias="Type", description="PDF, HTML or ORU")
    encoding: str = Field(alias="Encoding", description="Base64, ASCII, ...")
    content: str | None = Field(None, alias="Content")


class ImageDetails(_Out):
    total_count: int = Field(alias="TotalCount")
    right_eye_count: int = Field(alias="RightEyeCount")
    right_eye_original_count: int = Field(alias="RightEyeOriginalCount")
    right_eye_enhanced_count: int = Field(alias="RightEyeEnhancedCount")
    left_eye_count: int = Field(alias="LeftEyeCount")
    left_eye_original_count: int = Field(alias="LeftEyeOriginalCount")
    left_eye_enhanced_count: int = Field(alias="LeftEyeEnhancedCount")
    preferred: bool = Field(alias="Preferred",
                            description="True when a preferred image per eye was chosen for the report.")
    single_eye_only: bool = Field(alias="SingleEyeOnly")


class Camera(_Out):
    local_id: str | None = Field(None, alias="LocalId")
    location: str | None = Field(None, alias="Location")
    ip_address: str | None = Field(None, alias="IPAddress")
    mac_address: str | None = Field(None, alias="MACAddress")
    serial_number: str | None = Field(None, alias="SerialNumber")
    manufacturer: str | None = Field(None, alias="Manufacturer")
    model: str | None = Field(None, alias="Model")
    software_version: str | None = Field(None, alias="SoftwareVersion")


class Image(_Out):
    local_id: str | None = Field(None, alias="LocalId")
    taken: DateTime = Field(None, alias="Taken")
    received: DateTime = Field(None, alias="Received")
    file_name: str = Field(alias="FileName")
    laterality: str = Field(alias="Laterality")
    image_context: str = Field(alias="ImageContext")
    parent_local_id: str | None = Field(None, alias="ParentLocalId")
    group_id: int | None = Field(None, alias="GroupId")
    group_ordinal: int | None = Field(None, alias="GroupOrdinal")
    camera: Camera | None = Field(None, alias="Camera")
    # Portal extensions (the client libraries know OrderImageID).
    order_image_id: int = Field(alias="OrderImageID")
    preferred: bool = Field(False, alias="Preferred", description="This image is the one shown on the report.")


class Order(_Out):
    patient_order_id: int = Field(alias="PatientOrderId", description="The portal's id of the order.")
    status: str = Field(alias="Status")
    local_id: str = Field(alias="LocalId")
    evaluation_types: list[str] = Field(alias="EvaluationTypes")
    scheduled_time: DateTime = Field(None, alias="ScheduledTime")
    created_time: DateTime = Field(None, alias="CreatedTime")
    service_date: DateTime = Field(None, alias="ServiceDate", description="As in the published example.")
    serviced_time: DateTime = Field(None, alias="ServicedTime", description="As in the object model (same value).")
    department_id: str | None = Field(None, alias="DepartmentId")
    encounter_number: str | None = Field(None, alias="EncounterNumber")
    study_instance_unique_id: str | None = Field(None, alias="StudyInstanceUniqueId")
    orderable_identifier: str | None = Field(None, alias="OrderableIdentifier")
    additional_info: str | None = Field(None, alias="AdditionalInfo")
    state: str = Field(alias="State")
    single_eye_only: bool = Field(alias="SingleEyeOnly")
    missing_eye_reason: str | None = Field(None, alias="MissingEyeReason")


class Name(_Out):
    first: str | None = Field(None, alias="First")
    last: str | None = Field(None, alias="Last")


class ProviderName(_Out):
    title: str | None = Field(None, alias="Title")
    first: str | None = Field(None, alias="First")
    last: str | None = Field(None, alias="Last")


class PersonGender(_Out):
    context: str = Field(alias="Context")
    gender: str = Field(alias="Gender")


class Patient(_Out):
    patient_id: int = Field(alias="PatientId")
    local_id: str = Field(alias="LocalId")
    name: Name = Field(alias="Name")
    dob: Date = Field(None, alias="Dob")
    gender: str = Field(alias="Gender", description="Obsolete: use Genders.")
    genders: list[PersonGender] = Field(default_factory=list, alias="Genders")
    phone: str | None = Field(None, alias="Phone")


class Provider(_Out):
    npi: str | None = Field(None, alias="NPI")
    taxonomy: str | None = Field(None, alias="Taxonomy")
    name: ProviderName = Field(alias="Name")
    email: str | None = Field(None, alias="Email")
    degrees: str | None = Field(None, alias="Degrees")
    associations: str | None = Field(None, alias="Associations")


class Note(_Out):
    date: DateTime = Field(None, alias="Date")
    text: str | None = Field(None, alias="Text")


class Finding(_Out):
    finding: str = Field(alias="Finding")
    result: str | None = Field(None, alias="Result")


class EyeSideGrading(_Out):
    gradable: bool | None = Field(alias="Gradable")
    missing_eye_reason: str | None = Field(None, alias="MissingEyeReason")
    ungradable_reasons: list[str] = Field(default_factory=list, alias="UngradableReasons")
    findings: list[Finding] | None = Field(None, alias="Findings",
                                           description="Findings with pathology; absent (null) when none.")


class DiagnosisCode(_Out):
    code: str = Field(alias="Code")
    description: str = Field(alias="Description")


class Gradings(_Out):
    notes: list[Note] = Field(default_factory=list, alias="Notes")
    graded_time: DateTime = Field(None, alias="GradedTime")
    queued_time: DateTime = Field(None, alias="QueuedTime")
    care_plan_name: str | None = Field(None, alias="CarePlanName")
    care_plan_description: str | None = Field(None, alias="CarePlanDescription")
    pathology: bool = Field(alias="Pathology")
    urgent: bool = Field(alias="Urgent")
    emergent: bool = Field(alias="Emergent")
    od: EyeSideGrading | None = Field(None, alias="OD", description="Omitted when the order has no right-eye image.")
    os: EyeSideGrading | None = Field(None, alias="OS", description="Omitted when the order has no left-eye image.")
    dx_codes: list[str] = Field(default_factory=list, alias="DxCodes")
    provider: Provider | None = Field(None, alias="Provider")
    # Portal extensions: the client libraries' DiagnosisCodes, and the discrete-results severity.
    diagnosis_codes: list[DiagnosisCode] = Field(default_factory=list, alias="DiagnosisCodes")
    severity: str | None = Field(None, alias="Severity",
                                 description="NORMAL, ABNORMAL or CRITICAL; null when ungradable.")

    @model_serializer(mode="wrap")
    def _omit_absent_eyes(self, handler) -> dict[str, Any]:
        data = handler(self)
        for side in ("OD", "OS"):
            if data.get(side) is None:
                data.pop(side, None)
        return data


class CameraOperator(_Out):
    user_name: str | None = Field(None, alias="UserName")
    name: Name = Field(alias="Name")
    notes: list[Note] = Field(default_factory=list, alias="Notes")


class HealthPlan(_Out):
    local_id: str | None = Field(None, alias="LocalId")
    name: str | None = Field(None, alias="Name")
    member_id: str | None = Field(None, alias="MemberId")


class Cpt(_Out):
    code: str = Field(alias="Code")
    description: str | None = Field(None, alias="Description")


class OrderResult(_Out):
    """The root. ``ReferringProvider`` is a portal extension (the client libraries have it)."""

    schema_url: str = Field(default_factory=published_schema_url, alias="$schema")
    version: str = Field(VERSION, alias="Version")
    timestamp: DateTime = Field(alias="Timestamp")
    transaction_id: str = Field(alias="TransactionId")
    result_code: str = Field(alias="ResultCode", description="F final, C correction, R resend (A, P unused)")
    site: Site = Field(alias="Site")
    results_document: ResultsDocument | None = Field(None, alias="ResultsDocument")
    image_details: ImageDetails = Field(alias="ImageDetails")
    images: list[Image] = Field(default_factory=list, alias="Images")
    order: Order = Field(alias="Order")
    patient: Patient = Field(alias="Patient")
    ordering_provider: Provider | None = Field(None, alias="OrderingProvider")
    gradings: Gradings | None = Field(None, alias="Gradings")
    camera_operator: CameraOperator | None = Field(None, alias="CameraOperator")
    health_plan: HealthPlan | None = Field(None, alias="HealthPlan")
    cpt: Cpt | None = Field(None, alias="Cpt")
    referring_provider: Provider | None = Field(None, alias="ReferringProvider")


def order_result_json_schema() -> dict:
    """The JSON Schema of what the portal emits (for the published /schemas/ list)."""
    return OrderResult.model_json_schema(by_alias=True, mode="serialization")
