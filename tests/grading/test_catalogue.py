"""The findings catalogue against the published table (findings.csv) and Findings.md."""
import pytest

from grading import catalogue as cat
from orders.reference import ALL_EVALUATION_TYPE_CODES

from .helpers import fixture_rows


def test_every_published_pair_is_in_some_catalogue():
    offered = set()
    for code in ALL_EVALUATION_TYPE_CODES:
        c = cat.catalogue_for(code)
        offered |= {(d.name, r) for d in c.diagnosed for r in d.results}
        offered |= {(name, "") for name in c.suspected}
    for row in fixture_rows("findings.csv"):
        pair = (row["finding"], row["qualifier"])
        if row["finding"] in (cat.OTHER, cat.NOT_GRADABLE):
            continue  # free text / an ungradable eye: not a selectable finding
        assert pair in offered, pair


def test_dr_mild_is_valid_though_missing_from_the_table():
    assert "Mild" in cat.catalogue_for("DR").diagnosed_by_name[cat.DIABETIC_RETINOPATHY].results


def test_dr_diagnoses_dr_and_me_and_offers_other_suspicions():
    c = cat.catalogue_for("DR")
    assert [d.name for d in c.diagnosed] == [cat.DIABETIC_RETINOPATHY, cat.MACULAR_EDEMA]
    assert "Suspected Glaucoma" in c.suspected
    assert "Suspected Macular Edema" not in c.suspected  # ME is diagnosed in a DR exam
    assert c.other_allowed and not c.ai
    assert not c.allows(cat.WET_AMD)


def test_glaucoma_exam_does_not_offer_suspected_glaucoma():
    c = cat.catalogue_for("Glaucoma")
    assert "Suspected Glaucoma" not in c.suspected and c.allows(cat.GLAUCOMA)


def test_suspected_pathology_has_no_diagnosed_conditions():
    c = cat.catalogue_for("SP")
    assert c.diagnosed == () and "Suspected Glaucoma" in c.suspected


@pytest.mark.parametrize("code", ["DR_REFNOREF", "DR_AREDS_GLAUC", "AI_Eyenuk_O1"])
def test_ai_types_take_no_free_text(code):
    c = cat.catalogue_for(code)
    assert c.ai and not c.other_allowed and cat.is_ai_read([code])


def test_dr_amd_union_has_the_four_conditions_of_the_published_example():
    c = cat.catalogue_for_types(["DR_AMD"])
    assert set(c.diagnosed_by_name) == {cat.DIABETIC_RETINOPATHY, cat.MACULAR_EDEMA, cat.WET_AMD, cat.DRY_AMD}


def test_merged_catalogue_drops_suspicions_another_type_diagnoses():
    c = cat.catalogue_for_types(["DR", "Glaucoma"])
    assert cat.GLAUCOMA in c.diagnosed_by_name and "Suspected Glaucoma" not in c.suspected


def test_care_plan_keys_cover_no_finding_ungradable_and_other_subsets():
    keys = cat.catalogue_for("DR").care_plan_keys()
    assert (cat.NO_FINDING, "") in keys and (cat.NOT_GRADABLE, "") in keys
    assert {(cat.OTHER, s.value) for s in cat.OtherSubset} <= set(keys)
    assert (cat.DIABETIC_RETINOPATHY, "Mild") in keys


def test_lookups_fold_case_and_spacing():
    assert cat.canonical_finding("  diabetic   retinopathy ") == cat.DIABETIC_RETINOPATHY
    assert cat.canonical_finding("Suspected Nothing") is None
    dr = cat.catalogue_for("DR").diagnosed_by_name[cat.DIABETIC_RETINOPATHY]
    assert cat.canonical_result(dr, "proliferative") == "Proliferative"
    assert cat.canonical_subset("not-referable") is cat.OtherSubset.NOT_REFERABLE
    assert cat.canonical_ungradable_reason("KEY ANATOMY MISSING OR NOT CLEARLY VISIBLE")
