"""The findings catalogue per evaluation type (IRIS integration/Results/Findings.md).

Data from the published finding/qualifier table (``findings.csv``) plus DR "Mild", which the
table omits but the grading examples and DiscreteResults.md use.

* A *diagnosed* condition must be answered explicitly for every gradable eye, with one of its
  results. "Indeterminable" is only valid together with a suspected condition on the same eye
  (Findings.md, "Ungradable Eyes").
* A *suspected* condition has no result; absent means not suspected. A suspected form of a
  condition the evaluation type diagnoses (Suspected Glaucoma in a Glaucoma exam) is not offered.
* "Other" takes free text and one of four subsets (Careplans.md) that choose the care plan.
* An ungradable eye takes exactly one reason and no findings.
"""
from dataclasses import dataclass
from enum import StrEnum
from functools import cache

from orders.reference import EVALUATION_TYPE_BY_CODE

DIABETIC_RETINOPATHY = "Diabetic Retinopathy"
MACULAR_EDEMA = "Macular Edema"
DRY_AMD = "Dry AMD"
WET_AMD = "Wet AMD"
GLAUCOMA = "Glaucoma"
HIV_RETINOPATHY = "HIV Retinopathy"
OTHER = "Other"
NOT_GRADABLE = "Not Gradable"  # care-plan key of an ungradable eye, never a submitted finding
NO_FINDING = "No finding"  # care-plan key of a gradable eye with nothing to report

INDETERMINABLE = "Indeterminable"
NORMAL_RESULTS = frozenset({"None", "No Observable"})


@dataclass(frozen=True)
class Condition:
    """A diagnosed condition: its results in display order; ``critical`` results make the exam
    CRITICAL (HL7 abnormal flag AA in DiscreteResults.md)."""

    name: str
    results: tuple[str, ...]
    critical: frozenset[str] = frozenset()


DR = Condition(DIABETIC_RETINOPATHY, ("None", "Mild", "Moderate", "Severe", "Proliferative", INDETERMINABLE),
               frozenset({"Proliferative"}))
DR_REFER = Condition(DIABETIC_RETINOPATHY, ("None", "Positive", INDETERMINABLE))
ME = Condition(MACULAR_EDEMA, ("None", "Positive"), frozenset({"Positive"}))
DRY = Condition(DRY_AMD, ("No Observable", "Early Stage", "Intermediate Stage",
                          "Adv. Atrophic w/o Subfoveal Involvement", "Adv. Atrophic w/ Subfoveal Involvement",
                          INDETERMINABLE),
                frozenset({"Adv. Atrophic w/o Subfoveal Involvement", "Adv. Atrophic w/ Subfoveal Involvement"}))
WET = Condition(WET_AMD, ("No Observable", "Positive", INDETERMINABLE), frozenset({"Positive"}))
GLAUC = Condition(GLAUCOMA, ("None", "Positive"))
HIV = Condition(HIV_RETINOPATHY, ("None", "Positive"))

# Suspected conditions (no result), and the diagnosed condition each one duplicates.
SUSPECTED: dict[str, str | None] = {
    "Suspected Bilateral Papilledema": None,
    "Suspected Cataract": None,
    "Suspected Diabetic Retinopathy - Mild Only": DIABETIC_RETINOPATHY,
    "Suspected Diabetic Retinopathy - Moderate to Proliferative": DIABETIC_RETINOPATHY,
    "Suspected Disc Edema": None,
    "Suspected Dry AMD": DRY_AMD,
    "Suspected Epiretinal Membrane": None,
    "Suspected Geographic Atrophy": DRY_AMD,
    "Suspected Glaucoma": GLAUCOMA,
    "Suspected HTN Retinopathy": None,
    "Suspected Macular Edema": MACULAR_EDEMA,
    "Suspected Macular Hole": None,
    "Suspected Other Disease": None,
    "Suspected Vein Occlusion": None,
    "Suspected Wet AMD": WET_AMD,
}


class OtherSubset(StrEnum):
    """The four subsets of "Other" suspected conditions (Careplans.md)."""

    NOT_REFERABLE = "Not referable"
    REFERABLE = "Referable"
    SEVERE = "Severe"
    URGENT = "Urgent"


UNGRADABLE_REASONS: tuple[str, ...] = (
    "Key anatomy missing or not clearly visible",  # the published GradingSubmission example
    "Image out of focus",
    "Image too dark or underexposed",
    "Image overexposed",
    "Media opacity (e.g. cataract)",
    "Small pupil",
    "Eyelid or eyelash obstruction",
    "Artifact or dirty lens",
    "No images of this eye",
)

_DIAGNOSED_BY_TYPE: dict[str, tuple[Condition, ...]] = {
    "DR": (DR, ME),
    "DRME": (DR, ME),
    "Glaucoma": (GLAUC,),
    "HIV": (HIV,),
    "AMD": (DRY, WET),
    "DR_AMD": (DR, ME, WET, DRY),
    "SP": (),
    "DR_REFNOREF": (DR_REFER,),
    "DR_AREDS_GLAUC": (DR, ME, DRY, WET, GLAUC),
    "AI_Eyenuk_O1": (DR, ME, DRY, WET, GLAUC),
}


class _Answerable:
    """Lookups shared by the catalogue of a type and of an order (needs ``diagnosed``,
    ``suspected`` and ``other_allowed``)."""

    @property
    def diagnosed_by_name(self) -> dict[str, Condition]:
        return {condition.name: condition for condition in self.diagnosed}

    def allows(self, finding: str) -> bool:
        return finding in self.diagnosed_by_name or finding in self.suspected or (
            finding == OTHER and self.other_allowed)


@dataclass(frozen=True)
class EvaluationCatalogue(_Answerable):
    """What a grader may answer for one evaluation type."""

    evaluation_type: str
    diagnosed: tuple[Condition, ...]
    suspected: tuple[str, ...]
    other_allowed: bool
    ai: bool

    def care_plan_keys(self) -> list[tuple[str, str]]:
        """Every (finding, result) a care plan must exist for: each diagnosed result, each
        suspected condition, each Other subset, an ungradable eye, and no finding at all."""
        keys = [(c.name, result) for c in self.diagnosed for result in c.results]
        keys += [(name, "") for name in self.suspected]
        if self.other_allowed:
            keys += [(OTHER, subset.value) for subset in OtherSubset]
        return keys + [(NOT_GRADABLE, ""), (NO_FINDING, "")]


@cache
def catalogue_for(evaluation_type: str) -> EvaluationCatalogue:
    info = EVALUATION_TYPE_BY_CODE[evaluation_type]
    diagnosed = _DIAGNOSED_BY_TYPE[evaluation_type]
    names = {condition.name for condition in diagnosed}
    suspected = tuple(name for name, duplicates in SUSPECTED.items() if duplicates not in names)
    # AI services report diagnosed conditions and listed suspicions; free text is a human's.
    return EvaluationCatalogue(evaluation_type, diagnosed, suspected, other_allowed=not info.ai, ai=info.ai)


@dataclass(frozen=True)
class OrderCatalogue(_Answerable):
    """The union of the catalogues of an order's evaluation types (an order may have several)."""

    evaluation_types: tuple[str, ...]
    diagnosed: tuple[Condition, ...]
    suspected: tuple[str, ...]
    other_allowed: bool


def catalogue_for_types(evaluation_types) -> OrderCatalogue:
    """Merged catalogue; when two types diagnose the same condition with different result
    lists (DR vs DR refer/no-refer) the results are merged in first-seen order. A suspected
    condition is dropped if any of the types diagnoses it."""
    catalogues = [catalogue_for(code) for code in evaluation_types]
    diagnosed: dict[str, list[str]] = {}
    critical: dict[str, set[str]] = {}
    for cat in catalogues:
        for condition in cat.diagnosed:
            results = diagnosed.setdefault(condition.name, [])
            results += [r for r in condition.results if r not in results]
            critical.setdefault(condition.name, set()).update(condition.critical)
    suspected = []
    for cat in catalogues:
        suspected += [name for name in cat.suspected if name not in suspected and SUSPECTED[name] not in diagnosed]
    return OrderCatalogue(
        evaluation_types=tuple(evaluation_types),
        diagnosed=tuple(Condition(name, tuple(results), frozenset(critical[name])) for name, results in diagnosed.items()),
        suspected=tuple(suspected),
        other_allowed=any(cat.other_allowed for cat in catalogues),
    )


def is_ai_read(evaluation_types) -> bool:
    """R9: an order with an AI-read evaluation type is graded by an AI service account only."""
    return any(EVALUATION_TYPE_BY_CODE[code].ai for code in evaluation_types)


def canonical_finding(name: str) -> str | None:
    """The catalogue spelling of a finding name (case and spacing insensitive), or None."""
    return _FINDING_LOOKUP.get(_fold(name))


def canonical_result(condition: Condition, result: str) -> str | None:
    folded = _fold(result)
    return next((r for r in condition.results if _fold(r) == folded), None)


def canonical_ungradable_reason(reason: str) -> str | None:
    folded = _fold(reason)
    return next((r for r in UNGRADABLE_REASONS if _fold(r) == folded), None)


def canonical_subset(value: str) -> OtherSubset | None:
    folded = _fold(value).replace("-", " ")
    return next((s for s in OtherSubset if _fold(s.value) == folded), None)


def _fold(text: str) -> str:
    return " ".join(str(text).split()).casefold()


_FINDING_LOOKUP = {
    _fold(name): name
    for name in [DIABETIC_RETINOPATHY, MACULAR_EDEMA, DRY_AMD, WET_AMD, GLAUCOMA, HIV_RETINOPATHY, OTHER, *SUSPECTED]
}
