"""Operator commands of SPEC section 8: seed_demo and submit_order_request."""
import io
import json
import sys

import pytest
from django.core.management import call_command

from orders.models import Order
from organizations.demo import DEMO_CLIENT_GUID
from organizations.models import HL7Interface, Organization, Site, User

from .helpers import FIXTURES

pytestmark = pytest.mark.django_db


def run(*args, stdin: bytes | None = None) -> tuple[int, list[dict], str]:
    out, err = io.StringIO(), io.StringIO()
    old_stdin = sys.stdin
    if stdin is not None:
        sys.stdin = io.TextIOWrapper(io.BytesIO(stdin))
    try:
        call_command(*args, stdout=out, stderr=err)
        code = 0
    except SystemExit as exc:
        code = exc.code
    finally:
        sys.stdin = old_stdin
    return code, [json.loads(line) for line in out.getvalue().splitlines() if line.strip()], err.getvalue()


def test_seed_demo_is_idempotent_and_matches_the_spec():
    call_command("seed_demo", stdout=io.StringIO())
    call_command("seed_demo", stdout=io.StringIO())
    demo = Organization.objects.get(client_guid=DEMO_CLIENT_GUID)
    assert demo.name == "Demo Health" and len(demo.evaluation_types) == 10
    assert Site.objects.get(organization=demo, local_id="PC1234").state == "FL"
    host = Organization.objects.get(is_host=True)
    grader = User.objects.get(username="grader")
    assert grader.organization == host and grader.is_grader
    assert set(grader.provider.licenses.values_list("state", flat=True)) == {"FL", "TX"}
    interface = HL7Interface.objects.get(organization=demo)
    assert interface.sending_facilities == ["DEMOHEALTH"]
    assert interface.site_mappings.get(code="PC1234").site.local_id == "PC1234"
    roles = {role for user in User.objects.all() for role in user.roles} | {"platform_staff" for u in User.objects.filter(is_staff=True)}
    assert roles >= {"clinic_staff", "org_admin", "integration_admin", "grader", "pcp", "ai_service", "platform_staff"}
    assert Organization.objects.count() == 3 and User.objects.count() == 7


def test_submit_order_request_prints_events_and_exits_by_outcome(demo):
    code, events, _ = run("submit_order_request", str(FIXTURES / "orderrequest-nw-1.json"))
    assert code == 0 and events[0]["ResultObjectType"] == "OrderCreationReceipt" and events[0]["Success"]
    code, events, err = run("submit_order_request", str(FIXTURES / "orderrequest-xo-1.json"))
    assert code == 1 and events[0]["Success"] is False and "line 10 column 4" in err
    code, events, _ = run("submit_order_request", "-", stdin=(FIXTURES / "orderrequest-ca-1.json").read_bytes())
    assert code == 0 and events[0]["ResultObjectType"] == "OrderCancelled"
    assert Order.objects.get(local_id="ORD1234").status == "cancelled"


def test_submit_order_request_never_tracebacks_on_bad_input(demo, tmp_path):
    for content in (b"", b"\x00\x01\x02", b"null", b'{"OrderControlCode": 5}', b"[" * 5000, b"\xff\xfe\x00",
                    b'{"OrderControlCode": "NW", "Patient": {"LocalId": "a\\u0000b"}}'):
        path = tmp_path / "bad.json"
        path.write_bytes(content)
        code, events, err = run("submit_order_request", str(path))
        assert code == 1 and events and events[0]["Success"] is False and "Traceback" not in err
        assert "internal error" not in err
    code, events, err = run("submit_order_request", str(tmp_path / "missing.json"))
    assert code == 1 and "cannot read" in err
