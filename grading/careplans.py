"""Choosing the care plan of a grading (Careplans.md).

Every care-plan key of the grading ((finding, result), an ungradable eye, no finding) is mapped
per evaluation type by the most specific rule (site, then organization, then the host default;
within a level a rule for the exact result beats a rule for any result) to a plan key; the plan
with that key is again the most specific one. Of the matched plans the most serious care level
wins, then the highest priority: an Emergent plan is always chosen (Careplans.md: "the Emergent
care plan is automatically selected"), so no priority setting can hide it."""
from dataclasses import dataclass

from django.db.models import Q

from organizations.models import Site

from . import catalogue as cat
from .models import CareLevel, CarePlan, CarePlanRule


@dataclass(frozen=True)
class CarePlanChoice:
    plan: CarePlan | None
    matched: tuple[CarePlan, ...]

    @property
    def level(self) -> CareLevel | None:
        return CareLevel(self.plan.level) if self.plan else None

    @property
    def emergent(self) -> bool:
        return self.level == CareLevel.EMERGENT

    @property
    def urgent(self) -> bool:
        return self.level in (CareLevel.URGENT, CareLevel.EMERGENT)


def _scope_rank(row) -> int:
    return 2 if row.site_id else 1 if row.organization_id else 0


def _scope(organization, site: Site | None) -> Q:
    scope = Q(organization=None, site=None) | Q(organization=organization, site=None)
    return scope | Q(site=site) if site is not None else scope


def _rules(scope: Q, types) -> dict[tuple[str, str, str], tuple[tuple[int, int], str]]:
    """(type, finding, result) -> ((scope rank, exact result), plan key) of the most specific rule."""
    rules: dict = {}
    for rule in CarePlanRule.objects.filter(scope, evaluation_type__in=types):
        rank = (_scope_rank(rule), 1 if rule.result else 0)
        slot = (rule.evaluation_type, rule.finding, rule.result)
        if slot not in rules or rules[slot][0] < rank:
            rules[slot] = (rank, rule.plan_key)
    return rules


def _plans(scope: Q, types) -> dict[tuple[str, str], CarePlan]:
    """(type, key) -> the most specific plan."""
    plans: dict = {}
    for plan in CarePlan.objects.filter(scope, evaluation_type__in=types):
        slot = (plan.evaluation_type, plan.key)
        if slot not in plans or _scope_rank(plans[slot]) < _scope_rank(plan):
            plans[slot] = plan
    return plans


def care_plan_choose(*, site: Site, evaluation_types, keys: list[tuple[str, str]]) -> CarePlanChoice:
    """The winning plan for the grading's care-plan keys (two queries)."""
    types = list(evaluation_types)
    scope = _scope(site.organization_id, site)
    rules, plans = _rules(scope, types), _plans(scope, types)
    matched: list[CarePlan] = []
    for code in types:
        catalogue = cat.catalogue_for(code)
        own = [(f, r) for f, r in keys if f in (cat.NOT_GRADABLE, cat.NO_FINDING) or catalogue.allows(f)]
        for finding, result in own or [(cat.NO_FINDING, "")]:
            plan_key = _rule_for(rules, code, finding, result)
            plan = plans.get((code, plan_key)) if plan_key else None
            if plan is not None and plan not in matched:
                matched.append(plan)
    winner = max(matched, key=lambda p: (CareLevel(p.level).rank, p.priority), default=None)
    return CarePlanChoice(plan=winner, matched=tuple(matched))


def _best_rule(rules: dict, code: str, finding: str, result: str) -> tuple[tuple[int, int], str] | None:
    candidates = [rules[slot] for slot in ((code, finding, result), (code, finding, "")) if slot in rules]
    return max(candidates) if candidates else None


def _rule_for(rules: dict, code: str, finding: str, result: str) -> str | None:
    best = _best_rule(rules, code, finding, result)
    return best[1] if best else None


# ---------------------------------------------------------------------------------------------
# Organization admins: the effective catalogue of an organization (or one of its sites), and
# overrides at their level.


@dataclass(frozen=True)
class EffectivePlan:
    plan: CarePlan
    source: str  # "default", "organization" or "site"
    findings: tuple[str, ...]


_SOURCES = ("default", "organization", "site")


def care_plan_rules_effective(*, organization, site: Site | None, evaluation_type: str) -> list[tuple[str, str, str, str]]:
    """(finding, result, plan key, source) for every care-plan key of the type's catalogue."""
    rules = _rules(_scope(organization, site), [evaluation_type])
    rows = []
    for finding, result in cat.catalogue_for(evaluation_type).care_plan_keys():
        best = _best_rule(rules, evaluation_type, finding, result)
        rows.append((finding, result, best[1] if best else "", _SOURCES[best[0][0]] if best else ""))
    return rows


def care_plans_effective(*, organization, site: Site | None, evaluation_type: str) -> list[EffectivePlan]:
    """Every plan key of the type as the organization (or site) sees it, most serious first,
    with the findings that lead to it."""
    plans = _plans(_scope(organization, site), [evaluation_type])
    findings: dict[str, list[str]] = {}
    for finding, result, key, _ in care_plan_rules_effective(organization=organization, site=site,
                                                             evaluation_type=evaluation_type):
        findings.setdefault(key, []).append(f"{finding}: {result}" if result else finding)
    ordered = sorted(plans.values(), key=lambda p: (CareLevel(p.level).rank, p.priority), reverse=True)
    return [EffectivePlan(p, _SOURCES[_scope_rank(p)], tuple(findings.get(p.key, ()))) for p in ordered]


def care_plan_override(*, organization, site: Site | None, evaluation_type: str, key: str, title: str,
                       instructions: str, priority: int, level: str) -> CarePlan:
    """Create or change the organization's (or site's) own version of a plan key."""
    if site is not None and site.organization_id != organization.pk:
        raise ValueError("site of another organization")
    plan, _ = CarePlan.objects.update_or_create(
        organization=organization, site=site, evaluation_type=evaluation_type, key=key,
        defaults={"title": title, "instructions": instructions, "priority": priority, "level": level})
    return plan


def care_plan_rule_override(*, organization, site: Site | None, evaluation_type: str, finding: str, result: str,
                            plan_key: str) -> CarePlanRule:
    """Send one finding (and result) of the type to another plan key, for the organization or a site."""
    if site is not None and site.organization_id != organization.pk:
        raise ValueError("site of another organization")
    rule, _ = CarePlanRule.objects.update_or_create(
        organization=organization, site=site, evaluation_type=evaluation_type, finding=finding, result=result,
        defaults={"plan_key": plan_key})
    return rule


def care_plan_override_remove(*, organization, site: Site | None, evaluation_type: str, key: str) -> int:
    """Drop the organization's (or site's) own version: the inherited plan applies again."""
    deleted, _ = CarePlan.objects.filter(organization=organization, site=site, evaluation_type=evaluation_type,
                                         key=key).delete()
    return deleted
