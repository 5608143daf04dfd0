"""The fields a file column can map to: OrderRequest paths, and the IRIS intake field names
(integration/BasicIntegrations.md, "Order Intake Fields") that make the default mapping.

A target is a dotted OrderRequest path (``Patient.Name.First``, ``Order.EvaluationTypes``), or
one of two gender targets ``Patient.Genders[BirthGender]`` / ``Patient.Genders[IdentityGender]``
that become an entry of the ``Patient.Genders`` list."""
import re
import typing
from dataclasses import dataclass
from functools import cache

from pydantic import BaseModel

from ...canonical import OrderRequest

GENDER_TARGETS = {"Patient.Genders[BirthGender]": "BirthGender", "Patient.Genders[IdentityGender]": "IdentityGender"}
LIST_TARGETS = {"Order.EvaluationTypes"}

# IRIS intake field name -> OrderRequest path. The HealthPlan group/payer/policy/date fields
# have no place in OrderRequest 2.3.1: they are kept in the stored raw requests only.
IRIS_INTAKE_FIELDS: dict[str, str] = {
    "CameraOperatorEmail": "CameraOperator.Email",
    "CameraOperatorFirstName": "CameraOperator.Name.First",
    "CameraOperatorLastName": "CameraOperator.Name.Last",
    "CameraOperatorNPI": "CameraOperator.NPI",
    "CameraOperatorUserName": "CameraOperatorUserName",
    "ClientGuid": "ClientGuid",
    "CPTCode": "Order.CPTCode",
    "DepartmentId": "Order.DepartmentId",
    "DxCode": "Patient.DxCode",
    "EncounterNumber": "Order.EncounterNumber",
    "EvaluationType": "Order.EvaluationTypes",
    "HealthPlanEffectiveDate": "HealthPlan.EffectiveDate",
    "HealthPlanExpirationDate": "HealthPlan.ExpirationDate",
    "HealthPlanGroupName": "HealthPlan.GroupName",
    "HealthPlanGroupNumber": "HealthPlan.GroupNumber",
    "HealthPlanMemberId": "HealthPlan.MemberId",
    "HealthPlanName": "HealthPlan.Name",
    "HealthPlanPayerName": "HealthPlan.PayerName",
    "HealthPlanPolicyNumber": "HealthPlan.PolicyNumber",
    "HealthPlanPrimaryCareProviderEmailAddress": "HealthPlan.PrimaryCareProvider.EmailAddress",
    "HealthPlanPrimaryCareProviderFaxNumber": "HealthPlan.PrimaryCareProvider.FaxNumber",
    "HealthPlanPrimaryCareProviderFirst": "HealthPlan.PrimaryCareProvider.Name.First",
    "HealthPlanPrimaryCareProviderLast": "HealthPlan.PrimaryCareProvider.Name.Last",
    "HealthPlanPrimaryCareProviderNPI": "HealthPlan.PrimaryCareProvider.NPI",
    "MissingEyeReason": "Order.MissingEyeReason",
    "OrderAdditionalInfo": "Order.AdditionalInfo",
    "OrderControlCode": "OrderControlCode",
    "OrderingProviderEmail": "OrderingProvider.Email",
    "OrderingProviderFirstName": "OrderingProvider.Name.First",
    "OrderingProviderLastName": "OrderingProvider.Name.Last",
    "OrderingProviderNPI": "OrderingProvider.NPI",
    "OrderLocalId": "Order.LocalId",
    "OrderScheduledTime": "Order.ScheduledTime",
    "OrderState": "Order.State",
    "PatientAdditionalInfo": "Patient.AdditionalInfo",
    "PatientBirthGender": "Patient.Genders[BirthGender]",
    "PatientDob": "Patient.Dob",
    "PatientFirstName": "Patient.Name.First",
    "PatientIdentityGender": "Patient.Genders[IdentityGender]",
    "PatientLastName": "Patient.Name.Last",
    "PatientLocalId": "Patient.LocalId",
    "PatientPhone": "Patient.Phone",
    "ReferringProviderEmail": "ReferringProvider.Email",
    "ReferringProviderFirstName": "ReferringProvider.Name.First",
    "ReferringProviderLastName": "ReferringProvider.Name.Last",
    "ReferringProviderNPI": "ReferringProvider.NPI",
    "SingleEyeOnly": "Order.SingleEyeOnly",
    "SiteLocalId": "Site.LocalId",
    "UserNameSubmitting": "UserNameSubmitting",
    "Version": "Version",
}
IRIS_NAME_BY_PATH = {path: name for name, path in IRIS_INTAKE_FIELDS.items()}

# Where a file cannot carry a value sensibly (images need storage references, not cells).
_EXCLUDED_PREFIXES = ("Camera.Images",)

DATE_TARGETS = {"Patient.Dob", "Order.ScheduledTime", "HealthPlan.EffectiveDate", "HealthPlan.ExpirationDate"}


@dataclass(frozen=True)
class TargetField:
    path: str
    label: str  # what the mapping editor shows: the IRIS name when there is one

    @property
    def iris_name(self) -> str | None:
        return IRIS_NAME_BY_PATH.get(self.path)


def normalize_header(text: object) -> str:
    """Headers match case-insensitively, ignoring surrounding and inner spaces, ``_`` and ``-``."""
    return re.sub(r"[\s_\-]+", "", str(text or "")).lower()


def _nested_model(annotation) -> type[BaseModel] | None:
    """The pydantic model inside an annotation such as ``Annotated[Site | None, ...]``."""
    if typing.get_origin(annotation) is list:
        return None  # lists of objects (Genders, Images) are not column targets
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _nested_model(arg)
        if found is not None:
            return found
    return None


def _leaf_paths(model: type[BaseModel], prefix: str = "") -> list[str]:
    paths = []
    for name, info in model.model_fields.items():
        path = f"{prefix}{info.alias or name}"
        nested = _nested_model(info.annotation)
        if nested is not None:
            paths.extend(_leaf_paths(nested, path + "."))
        elif not path.startswith(_EXCLUDED_PREFIXES) and path != "Patient.Genders":
            paths.append(path)
    return paths


@cache
def target_fields() -> tuple[TargetField, ...]:
    """Every mappable target: the IRIS intake fields first (documented order), then the other
    OrderRequest fields, generated from the model so the two never drift apart."""
    fields = [TargetField(path, name) for name, path in IRIS_INTAKE_FIELDS.items()]
    known = set(IRIS_INTAKE_FIELDS.values())
    for path in _leaf_paths(OrderRequest):
        if path not in known:
            known.add(path)
            fields.append(TargetField(path, path))
    return tuple(fields)


@cache
def target_paths() -> frozenset[str]:
    return frozenset(field.path for field in target_fields())


@cache
def default_lookup() -> dict[str, str]:
    """Normalised header -> target path: the IRIS names, and the paths themselves."""
    lookup = {normalize_header(field.path): field.path for field in target_fields()}
    lookup.update({normalize_header(name): path for name, path in IRIS_INTAKE_FIELDS.items()})
    return lookup


def column_label(path: str) -> str:
    """How an error names a field that no column of the file carries."""
    return IRIS_NAME_BY_PATH.get(path, path)
