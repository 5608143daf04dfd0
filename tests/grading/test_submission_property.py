"""Property: no GradingSubmission body crashes processing or loses the raw message (R11)."""
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grading.submission import grading_submission_process
from orders.models import InboundMessage
from orders.services.inbox import storable_text

GUID = "63E3C9EF-66AC-4154-B0C2-494515EB99A7"
leaf = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=20))
json_value = st.recursive(leaf, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                        st.dictionaries(st.text(max_size=12), inner, max_size=4)),
                          max_leaves=20)
eye = st.fixed_dictionaries({}, optional={
    "Gradable": st.one_of(st.booleans(), st.none(), st.text(max_size=5)),
    "UngradableReasons": st.one_of(st.none(), st.lists(st.text(max_size=30), max_size=3)),
    "MissingEyeReason": st.one_of(st.none(), st.text(max_size=20)),
    "Findings": st.one_of(st.none(), st.lists(st.fixed_dictionaries({}, optional={
        "Finding": st.sampled_from(["Diabetic Retinopathy", "Macular Edema", "Other", "Suspected Glaucoma", "X"]),
        "Result": st.one_of(st.none(), st.sampled_from(["None", "Mild", "Positive", ""]), st.text(max_size=10)),
    }), max_size=5), json_value),
})
submission = st.fixed_dictionaries({"ClientGuid": st.sampled_from([GUID, "bad", ""]),
                                    "LocalId": st.sampled_from(["G-1", "", "missing"])},
                                   optional={"OD": st.one_of(eye, json_value), "OS": st.one_of(eye, json_value)})
body = st.one_of(submission.map(json.dumps), st.text(max_size=200), json_value.map(json.dumps))


@pytest.fixture
def ready(demo):
    from organizations.models import Site

    from .conftest import make_ready_order

    make_ready_order(Site.objects.get(organization=demo, local_id="PC1234"), local_id="G-1")


@pytest.mark.django_db
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=body)
def test_any_body_is_stored_and_answered(ready, text):
    before = InboundMessage.objects.count()
    outcome = grading_submission_process(body=text, channel="cli", sender="hypothesis")
    assert InboundMessage.objects.count() == before + 1
    assert InboundMessage.objects.get(pk=outcome.inbound.pk).body == storable_text(text)
    assert outcome.events and outcome.events[0]["ResultObjectType"] == "GradingReceipt"
    assert outcome.success or outcome.error
    assert "internal error" not in outcome.error
