"""Property-based: no input crashes the OrderRequest parser; it accepts or rejects with a reason."""
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from orders.canonical import OrderRequest, RequestRejected, parse_order_request

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=30,
)
field_names = st.sampled_from(["Order", "Patient", "Site", "Camera", "OrderControlCode", "ClientGuid", "HealthPlan",
                               "OrderingProvider", "LocalId", "EvaluationTypes", "Dob", "Name", "Images", "State"])
message_like = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(field_names, children, max_size=6),
    max_leaves=40,
)


def parse_or_reason(data):
    try:
        return parse_order_request(data)
    except RequestRejected as exc:
        assert exc.message  # every rejection says why
        return None


@settings(max_examples=300, deadline=None)
@given(message_like)
def test_any_json_structure_is_accepted_or_rejected_with_a_reason(data):
    result = parse_or_reason(json.dumps(data))
    assert result is None or isinstance(result, OrderRequest)


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_any_json_value_never_crashes(data):
    parse_or_reason(json.dumps(data).encode())


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_any_bytes_never_crash(raw):
    parse_or_reason(raw)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(field_names, message_like, max_size=6))
def test_accepted_requests_round_trip_through_strict_output(data):
    data.update({"OrderControlCode": "CA", "ClientGuid": "x", "Order": {"LocalId": "1"}})
    request = parse_or_reason(data)
    if request is not None:
        again = parse_order_request(request.model_dump_json(by_alias=True))
        assert again == request
