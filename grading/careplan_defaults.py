"""The host's default care-plan catalogue: every finding, an ungradable eye and "no finding" of
every evaluation type map to one of these plans. Organizations and sites override plans (same
key) or rules (same finding) in the database; see grading/careplans.py."""
from dataclasses import dataclass

from orders.reference import ALL_EVALUATION_TYPE_CODES

from . import catalogue as cat


@dataclass(frozen=True)
class DefaultPlan:
    key: str
    title: str
    instructions: str
    priority: int
    level: str  # CareLevel value


DEFAULT_PLANS: tuple[DefaultPlan, ...] = (
    DefaultPlan("emergent", "Emergent: same-day emergency care",
                "Send the patient to emergency care today. The organization's emergency contacts have been notified.",
                100, "emergent"),
    DefaultPlan("other-urgent", "Urgent: refer within 1 week",
                "The grader noted a condition needing urgent attention. Refer to an ophthalmologist within 1 week.",
                95, "urgent"),
    DefaultPlan("urgent", "Urgent: refer to a retina specialist within 1 week",
                "Sight-threatening disease found. Refer to a retina specialist within 1 week.", 90, "urgent"),
    DefaultPlan("other-severe", "Refer within 2 weeks",
                "The grader noted a severe condition. Refer to an eye care professional within 2 weeks.", 75, "referable"),
    DefaultPlan("refer-severe", "Refer within 4 weeks",
                "Refer to an eye care professional for a dilated eye examination within 4 weeks.", 70, "referable"),
    DefaultPlan("other-referable", "Refer to an eye care professional",
                "The grader noted a condition that should be evaluated. Refer to an eye care professional.", 55, "referable"),
    DefaultPlan("refer-routine", "Refer to an eye care professional",
                "Refer to an eye care professional for a dilated eye examination within 3 months.", 50, "referable"),
    DefaultPlan("not-gradable", "Ungradable images: refer for a dilated eye exam",
                "The images could not be graded. Rescan, or refer to an eye care professional for a dilated eye exam.",
                40, "referable"),
    DefaultPlan("monitor", "Return in 6 months",
                "Have the patient return in 6 months for a follow-up exam.", 20, "not_referable"),
    DefaultPlan("other-not-referable", "Return in 12 months",
                "The grader noted a finding that needs no referral. Rescreen in 12 months.", 15, "not_referable"),
    DefaultPlan("normal", "Normal: rescreen in 12 months",
                "No pathology found. Have the patient return for a screening in 12 months.", 10, "not_referable"),
)

_DIAGNOSED_RULES: dict[tuple[str, str], str] = {
    (cat.DIABETIC_RETINOPATHY, "None"): "normal",
    (cat.DIABETIC_RETINOPATHY, "Mild"): "monitor",
    (cat.DIABETIC_RETINOPATHY, "Moderate"): "refer-routine",
    (cat.DIABETIC_RETINOPATHY, "Severe"): "refer-severe",
    (cat.DIABETIC_RETINOPATHY, "Proliferative"): "urgent",
    (cat.DIABETIC_RETINOPATHY, "Positive"): "refer-routine",
    (cat.DIABETIC_RETINOPATHY, cat.INDETERMINABLE): "refer-routine",
    (cat.MACULAR_EDEMA, "None"): "normal",
    (cat.MACULAR_EDEMA, "Positive"): "refer-severe",
    (cat.DRY_AMD, "No Observable"): "normal",
    (cat.DRY_AMD, "Early Stage"): "monitor",
    (cat.DRY_AMD, "Intermediate Stage"): "refer-routine",
    (cat.DRY_AMD, "Adv. Atrophic w/o Subfoveal Involvement"): "refer-severe",
    (cat.DRY_AMD, "Adv. Atrophic w/ Subfoveal Involvement"): "refer-severe",
    (cat.DRY_AMD, cat.INDETERMINABLE): "refer-routine",
    (cat.WET_AMD, "No Observable"): "normal",
    (cat.WET_AMD, "Positive"): "urgent",
    (cat.WET_AMD, cat.INDETERMINABLE): "refer-routine",
    (cat.GLAUCOMA, "None"): "normal",
    (cat.GLAUCOMA, "Positive"): "refer-routine",
    (cat.HIV_RETINOPATHY, "None"): "normal",
    (cat.HIV_RETINOPATHY, "Positive"): "refer-severe",
}
_SUSPECTED_RULES: dict[str, str] = {
    "Suspected Bilateral Papilledema": "emergent",
    "Suspected Disc Edema": "urgent",
    "Suspected Vein Occlusion": "refer-severe",
    "Suspected Wet AMD": "refer-severe",
    "Suspected Diabetic Retinopathy - Mild Only": "monitor",
}
_OTHER_RULES = {
    cat.OtherSubset.NOT_REFERABLE: "other-not-referable",
    cat.OtherSubset.REFERABLE: "other-referable",
    cat.OtherSubset.SEVERE: "other-severe",
    cat.OtherSubset.URGENT: "other-urgent",
}


def default_rule(finding: str, result: str) -> str:
    """The default plan key of one care-plan key of the catalogue."""
    if finding == cat.OTHER:
        return _OTHER_RULES[cat.OtherSubset(result)]
    if finding == cat.NOT_GRADABLE:
        return "not-gradable"
    if finding == cat.NO_FINDING:
        return "normal"
    if finding in cat.SUSPECTED:
        return _SUSPECTED_RULES.get(finding, "refer-routine")
    return _DIAGNOSED_RULES[(finding, result)]


def careplan_defaults_load(*, plan_model=None, rule_model=None) -> tuple[int, int]:
    """Create the missing default plans and rules (never overwrites edits: idempotent).
    Migrations pass their historical models. Returns (plans created, rules created)."""
    if plan_model is None or rule_model is None:
        from .models import CarePlan, CarePlanRule

        plan_model, rule_model = CarePlan, CarePlanRule
    plans = rules = 0
    for code in ALL_EVALUATION_TYPE_CODES:
        existing = set(plan_model.objects.filter(organization=None, site=None, evaluation_type=code)
                       .values_list("key", flat=True))
        new_plans = [plan_model(evaluation_type=code, key=p.key, title=p.title, instructions=p.instructions,
                                priority=p.priority, level=p.level) for p in DEFAULT_PLANS if p.key not in existing]
        plan_model.objects.bulk_create(new_plans)
        known = set(rule_model.objects.filter(organization=None, site=None, evaluation_type=code)
                    .values_list("finding", "result"))
        new_rules = [rule_model(evaluation_type=code, finding=finding, result=result,
                                plan_key=default_rule(finding, result))
                     for finding, result in cat.catalogue_for(code).care_plan_keys() if (finding, result) not in known]
        rule_model.objects.bulk_create(new_rules)
        plans, rules = plans + len(new_plans), rules + len(new_rules)
    return plans, rules
