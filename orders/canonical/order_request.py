"""OrderRequest 2.3.1 (objectmodel/RequestObject.md, CommonObjects.md, OptionEnums.md).

Accepts what IRIS's public client libraries emit (see docs/integrations/order-request.md):
TS sends enums as integers and PersonGender.Value, Go sends Address.Street/Zip and
Image.DateTimeOffset, both send "V2.3.1" and blank objects for everything unset."""
from typing import Annotated, Any, ClassVar

from pydantic import BeforeValidator, Field, field_validator

from organizations.us_states import normalize_state

from ..reference import (
    GENDER_BY_ID, IMAGE_CONTEXT_BY_ID, Gender, GenderContext, ImageContext, Laterality,
    MaritalStatus, OrderControlCode, normalize_evaluation_type,
)
from .base import Blankable, LenientModel, LooseDate, LooseDateTime, OptionalInt, Text, is_blank, parse_message
from .errors import FieldError

SCHEMA_VERSION = "2.3.1"

# TypeScript client (ts-service-bus) integer enums.
_CONTROL_CODE_BY_ID = {1: "NW", 2: "XO", 4: "CA", 11: "ResendResult"}
_CONTROL_CODE_BY_TEXT = {code.value.lower(): code.value for code in OrderControlCode}
_GENDER_CONTEXT_BY_ID = {0: "Unknown", 1: "IdentityGender", 2: "BirthGender"}
_LATERALITY_BY_ID = {0: "OS", 1: "OD"}
_MARITAL_BY_ID = {index: choice.value for index, choice in enumerate(MaritalStatus)}


def _enum(table_by_id: dict[int, str], allowed: set[str], label: str, aliases: dict[str, str] | None = None):
    by_text = {value.lower(): value for value in allowed}
    by_text.update(aliases or {})

    def convert(value: Any) -> str | None:
        if is_blank(value):
            return None
        if isinstance(value, bool):
            raise ValueError(f"{value!r} is not a valid {label}")
        if isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit()):
            code = table_by_id.get(int(value))
            if code is None:
                raise ValueError(f"{value!r} is not a valid {label}")
            return code
        if isinstance(value, str):
            code = by_text.get(value.strip().lower())
            if code is None:
                raise ValueError(f"'{value}' is not a valid {label} (allowed: {', '.join(sorted(allowed))})")
            return code
        raise ValueError(f"{value!r} is not a valid {label}")

    return BeforeValidator(convert)


ControlCodeValue = Annotated[
    str | None, _enum(_CONTROL_CODE_BY_ID, set(_CONTROL_CODE_BY_TEXT.values()), "order control code")
]
GenderValue = Annotated[str | None, _enum(GENDER_BY_ID, set(Gender.values), "gender")]
GenderContextValue = Annotated[
    str | None, _enum(_GENDER_CONTEXT_BY_ID, set(GenderContext.values), "gender context")
]
LateralityValue = Annotated[str | None, _enum(_LATERALITY_BY_ID, set(Laterality.values), "laterality")]
ImageContextValue = Annotated[
    str | None,
    _enum(IMAGE_CONTEXT_BY_ID, set(ImageContext.values), "image context", {"secondary": "SecondaryViewField"}),
]
MaritalStatusValue = Annotated[str | None, _enum(_MARITAL_BY_ID, set(MaritalStatus.values), "marital status")]


class Address(LenientModel):
    _synonyms: ClassVar[dict[str, str]] = {"street": "Street1", "zip": "PostalCode", "zipcode": "PostalCode"}

    street1: Text = Field(None, alias="Street1", max_length=200)
    street2: Text = Field(None, alias="Street2", max_length=200)
    city: Text = Field(None, alias="City", max_length=100)
    state: Text = Field(None, alias="State", max_length=40)
    postal_code: Text = Field(None, alias="PostalCode", max_length=20)


class Name(LenientModel):
    first: Text = Field(None, alias="First", max_length=100)
    middle: Text = Field(None, alias="Middle", max_length=100)
    last: Text = Field(None, alias="Last", max_length=100)


def _name_from_text(value: Any) -> Any:
    """Provider.Name is documented as "string | First, Last"; accept "Last, First" or "First Last"."""
    if isinstance(value, str) and value.strip():
        text = value.strip()
        if "," in text:
            last, _, first = text.partition(",")
            return {"First": first.strip(), "Last": last.strip()}
        first, _, last = text.rpartition(" ")
        return {"First": first, "Last": last} if first else {"Last": last}
    return None if is_blank(value) else value


LooseName = Annotated[Name | None, BeforeValidator(_name_from_text)]


class Site(LenientModel):
    local_id: Text = Field(None, alias="LocalId", max_length=64)
    name: Text = Field(None, alias="Name", max_length=200)
    address: Blankable(Address) = Field(None, alias="Address")


class AzureBlobStorage(LenientModel):
    container: Text = Field(None, alias="Container", max_length=100)
    file_name: Text = Field(None, alias="FileName", max_length=180)


class Image(LenientModel):
    _synonyms: ClassVar[dict[str, str]] = {"datetimeoffset": "Taken"}

    local_id: Text = Field(None, alias="LocalId", max_length=128)
    taken: LooseDateTime = Field(None, alias="Taken")
    azure_blob_storage: Blankable(AzureBlobStorage) = Field(None, alias="AzureBlobStorage")
    laterality: LateralityValue = Field(None, alias="Laterality")
    image_context: ImageContextValue = Field(None, alias="ImageContext")
    parent_local_id: Text = Field(None, alias="ParentLocalId", max_length=128)
    group_id: OptionalInt = Field(None, alias="GroupId")
    group_ordinal: OptionalInt = Field(None, alias="GroupOrdinal")


class Camera(LenientModel):
    local_id: Text = Field(None, alias="LocalId", max_length=64)
    location: Text = Field(None, alias="Location", max_length=200)
    ip_address: Text = Field(None, alias="IPAddress", max_length=64)
    mac_address: Text = Field(None, alias="MACAddress", max_length=64)
    serial_number: Text = Field(None, alias="SerialNumber", max_length=100)
    manufacturer: Text = Field(None, alias="Manufacturer", max_length=100)
    model: Text = Field(None, alias="Model", max_length=100)
    software_version: Text = Field(None, alias="SoftwareVersion", max_length=100)
    images: list[Image] = Field(default_factory=list, alias="Images")

    @field_validator("images", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        return [] if value is None else value


class Cpt(LenientModel):
    code: Text = Field(None, alias="Code", max_length=20)
    description: Text = Field(None, alias="Description", max_length=200)


def _cpt(value: Any) -> Any:
    if is_blank(value):
        return None
    if isinstance(value, str | int):
        return {"Code": str(value).strip()}
    return value


class Order(LenientModel):
    evaluation_types: list[str] = Field(default_factory=list, alias="EvaluationTypes")
    scheduled_time: LooseDateTime = Field(None, alias="ScheduledTime")
    local_id: Text = Field(None, alias="LocalId", max_length=64)
    department_id: Text = Field(None, alias="DepartmentId", max_length=64)
    encounter_number: Text = Field(None, alias="EncounterNumber", max_length=64)
    study_instance_unique_id: Text = Field(None, alias="StudyInstanceUniqueId", max_length=128)
    orderable_identifier: Text = Field(None, alias="OrderableIdentifier", max_length=64)
    cpt_code: Annotated[Cpt | None, BeforeValidator(_cpt)] = Field(None, alias="CPTCode")
    additional_info: Text = Field(None, alias="AdditionalInfo")
    state: Text = Field(None, alias="State", max_length=40)
    single_eye_only: bool | None = Field(None, alias="SingleEyeOnly")
    missing_eye_reason: Text = Field(None, alias="MissingEyeReason", max_length=200)
    urgent: bool | None = Field(None, alias="Urgent")

    @field_validator("evaluation_types", mode="before")
    @classmethod
    def _evaluation_types(cls, value: Any) -> Any:
        if is_blank(value):
            return []
        if isinstance(value, str | int):
            value = [value]
        if not isinstance(value, list):
            raise ValueError("must be a list of evaluation type codes")
        codes = []
        for index, item in enumerate(value):
            code = normalize_evaluation_type(item)
            if code is None and isinstance(item, str) and item.strip().upper() == "ME":
                code = "DRME"  # the Go client library's name for DR & ME
            if code is None:
                raise ValueError(f"item {index}: '{item}' is not an evaluation type")
            if code not in codes:
                codes.append(code)
        return codes

    @field_validator("state")
    @classmethod
    def _state(cls, value: str | None) -> str | None:
        if value is None:
            return None
        code = normalize_state(value)
        if code is None:
            raise ValueError(f"'{value}' is not a US state code or name")
        return code


class PersonGender(LenientModel):
    _synonyms: ClassVar[dict[str, str]] = {"value": "Gender"}

    context: GenderContextValue = Field(None, alias="Context")
    gender: GenderValue = Field(None, alias="Gender")


class Patient(LenientModel):
    local_id: Text = Field(None, alias="LocalId", max_length=64)
    name: Blankable(Name) = Field(None, alias="Name")
    dob: LooseDate = Field(None, alias="Dob")
    gender: GenderValue = Field(None, alias="Gender")
    genders: list[PersonGender] = Field(default_factory=list, alias="Genders")
    race: Text = Field(None, alias="Race", max_length=20)
    ethnicity: Text = Field(None, alias="Ethnicity", max_length=20)
    primary_language: Text = Field(None, alias="PrimaryLanguage", max_length=20)
    marital_status: MaritalStatusValue = Field(None, alias="MaritalStatus")
    email: Text = Field(None, alias="Email", max_length=254)
    phone: Text = Field(None, alias="Phone", max_length=40)
    additional_info: Text = Field(None, alias="AdditionalInfo")
    address: Blankable(Address) = Field(None, alias="Address")
    dx_code: Text = Field(None, alias="DxCode", max_length=10)

    @field_validator("genders", mode="before")
    @classmethod
    def _genders(cls, value: Any) -> Any:
        if value is None:
            return []
        return [item for item in value if not is_blank(item)] if isinstance(value, list) else value

    @field_validator("dx_code")
    @classmethod
    def _dx_code(cls, value: str | None) -> str | None:
        return value.replace(".", "").upper() if value else value

    def gender_for(self, context: str) -> str | None:
        for item in self.genders:
            if item.context == context and item.gender:
                return item.gender
        return None


class Provider(LenientModel):
    _synonyms: ClassVar[dict[str, str]] = {"emailaddress": "Email"}

    npi: Text = Field(None, alias="NPI", max_length=20)
    taxonomy: Text = Field(None, alias="Taxonomy", max_length=50)
    name: LooseName = Field(None, alias="Name")
    email: Text = Field(None, alias="Email", max_length=254)
    degrees: Text = Field(None, alias="Degrees", max_length=100)
    associations: Text = Field(None, alias="Associations", max_length=200)


class PrimaryCareProvider(LenientModel):
    _synonyms: ClassVar[dict[str, str]] = {"email": "EmailAddress", "fax": "FaxNumber"}

    npi: Text = Field(None, alias="NPI", max_length=20)
    email_address: Text = Field(None, alias="EmailAddress", max_length=254)
    name: LooseName = Field(None, alias="Name")
    fax_number: Text = Field(None, alias="FaxNumber", max_length=40)


class HealthPlan(LenientModel):
    local_id: Text = Field(None, alias="LocalId", max_length=64)
    name: Text = Field(None, alias="Name", max_length=200)
    member_id: Text = Field(None, alias="MemberId", max_length=64)
    individual_id: Text = Field(None, alias="IndividualId", max_length=64)
    primary_care_provider: Blankable(PrimaryCareProvider) = Field(None, alias="PrimaryCareProvider")


def _version(value: Any) -> Any:
    if is_blank(value):
        return SCHEMA_VERSION
    return str(value).strip().lstrip("vV")


class OrderRequest(LenientModel):
    """The one structure every intake channel produces."""

    version: Annotated[str, BeforeValidator(_version)] = Field(SCHEMA_VERSION, alias="Version")
    user_name_submitting: Text = Field(None, alias="UserNameSubmitting", max_length=150)
    order_control_code: ControlCodeValue = Field(None, alias="OrderControlCode")
    client_guid: Text = Field(None, alias="ClientGuid", max_length=64)
    site: Blankable(Site) = Field(None, alias="Site")
    camera: Blankable(Camera) = Field(None, alias="Camera")
    order: Blankable(Order) = Field(None, alias="Order")
    patient: Blankable(Patient) = Field(None, alias="Patient")
    ordering_provider: Blankable(Provider) = Field(None, alias="OrderingProvider")
    referring_provider: Blankable(Provider) = Field(None, alias="ReferringProvider")
    camera_operator: Blankable(Provider) = Field(None, alias="CameraOperator")
    camera_operator_user_name: Text = Field(None, alias="CameraOperatorUserName", max_length=150)
    health_plan: Blankable(HealthPlan) = Field(None, alias="HealthPlan")

    def required_errors(self) -> list[FieldError]:
        """Fields required by the control code (CA/ResendResult need only ClientGuid and
        Order.LocalId; Site.LocalId is optional there, as in the published cancel example)."""
        missing: list[str] = []
        if not self.client_guid:
            missing.append("ClientGuid")
        if not self.order_control_code:
            missing.append("OrderControlCode")
        if not (self.order and self.order.local_id):
            missing.append("Order.LocalId")
        if self.order_control_code == OrderControlCode.NEW:
            if not (self.site and self.site.local_id):
                missing.append("Site.LocalId")
            if not (self.order and self.order.evaluation_types):
                missing.append("Order.EvaluationTypes")
            patient = self.patient
            if not (patient and patient.local_id):
                missing.append("Patient.LocalId")
            if not (patient and patient.name and patient.name.first):
                missing.append("Patient.Name.First")
            if not (patient and patient.name and patient.name.last):
                missing.append("Patient.Name.Last")
            if not (patient and patient.dob):
                missing.append("Patient.Dob")
        return [FieldError(field, "required") for field in missing]


def parse_order_request(data: str | bytes | dict) -> OrderRequest:
    """Parse and validate; raise RequestRejected naming every offending field."""
    return parse_message(OrderRequest, data, "an OrderRequest")
