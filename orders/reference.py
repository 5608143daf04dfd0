"""Code tables of the IRIS object model 2.3.1 (objectmodel/OptionEnums.md)."""
from dataclasses import dataclass

from django.db import models


@dataclass(frozen=True)
class EvaluationTypeInfo:
    id: int
    code: str
    description: str
    ai: bool


EVALUATION_TYPES: tuple[EvaluationTypeInfo, ...] = (
    EvaluationTypeInfo(1, "DR", "Diabetic Retinopathy", False),
    EvaluationTypeInfo(2, "Glaucoma", "Glaucoma", False),
    EvaluationTypeInfo(3, "HIV", "HIV", False),
    EvaluationTypeInfo(4, "DRME", "DR & ME with extended care plan support", False),
    EvaluationTypeInfo(6, "DR_REFNOREF", "DR refer/no-refer", True),
    EvaluationTypeInfo(7, "AMD", "AMD", False),
    EvaluationTypeInfo(8, "DR_AMD", "DR and AMD combined", False),
    EvaluationTypeInfo(9, "SP", "Suspected Pathology", False),
    EvaluationTypeInfo(12, "DR_AREDS_GLAUC", "DR, AMD (AREDS), Glaucoma", True),
    EvaluationTypeInfo(13, "AI_Eyenuk_O1", "DR, AMD, Glaucoma - Eyenuk", True),
)
EVALUATION_TYPE_BY_CODE = {info.code: info for info in EVALUATION_TYPES}
_EVALUATION_LOOKUP = {info.code.lower(): info.code for info in EVALUATION_TYPES}
_EVALUATION_LOOKUP.update({str(info.id): info.code for info in EVALUATION_TYPES})
EVALUATION_TYPE_CHOICES = [(info.code, f"{info.code} — {info.description}") for info in EVALUATION_TYPES]
ALL_EVALUATION_TYPE_CODES = [info.code for info in EVALUATION_TYPES]


def normalize_evaluation_type(value) -> str | None:
    """Code for a code (any case) or numeric id (int or string); None when unknown."""
    if isinstance(value, bool) or value is None:
        return None
    return _EVALUATION_LOOKUP.get(str(value).strip().lower())


class Gender(models.TextChoices):
    U = "U", "Unspecified"
    M = "M", "Male"
    F = "F", "Female"
    N = "N", "Non binary"
    O = "O", "Other"  # noqa: E741 - the IRIS code
    TM = "TM", "Transgender Male"
    TF = "TF", "Transgender Female"
    ND = "ND", "Non disclosed"
    EQ = "EQ", "Exploring or Questioning"
    NL = "NL", "Not listed"
    X = "X", "Not exclusively Male or Female"


GENDER_BY_ID = {index: choice.value for index, choice in enumerate(Gender)}


class GenderContext(models.TextChoices):
    UNKNOWN = "Unknown"
    IDENTITY = "IdentityGender"
    BIRTH = "BirthGender"


class MaritalStatus(models.TextChoices):
    A = "A", "Annulled"
    D = "D", "Divorced"
    I = "I", "Interlocutory"  # noqa: E741 - the IRIS code
    L = "L", "Legally Separated"
    M = "M", "Married"
    P = "P", "Polygamous"
    S = "S", "Never Married"
    T = "T", "Domestic partner"
    W = "W", "Widowed"


class Laterality(models.TextChoices):
    OD = "OD", "Right eye"
    OS = "OS", "Left eye"
    OU = "OU", "Both eyes"


class ImageContext(models.TextChoices):
    PRIMARY = "Primary"
    SECONDARY = "SecondaryViewField"
    UNKNOWN = "Unknown"
    COMPONENT = "Component"
    AGGREGATE = "Aggregate"
    ENHANCEMENT = "Enhancement"
    ADDED_LATE = "AddedLate"


IMAGE_CONTEXT_BY_ID = {index: choice.value for index, choice in enumerate(ImageContext)}


class OrderControlCode(models.TextChoices):
    NEW = "NW", "New order"
    CHANGE = "XO", "Change order"
    CANCEL = "CA", "Cancel order"
    RESEND_RESULT = "ResendResult", "Resend results"


class ResultCode(models.TextChoices):
    ADDENDUM = "A", "Addendum"
    CORRECTION = "C", "Correction"
    FINAL = "F", "Final"
    PRELIMINARY = "P", "Preliminary"
    RESEND = "R", "Resend"


RACE_CODES = {"1002-5", "2028-9", "2054-5", "2076-8", "2131-1", "2106-3"}
