"""Building OrderRequest dicts for tests."""
import copy
import json
from pathlib import Path

import os

# The project's shared/ folder sits beside the repository (also in CI).
FIXTURES = Path(os.environ.get("IRIS_FIXTURES") or Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "iris-docs")


def fixture_text(name: str) -> str:
    return (FIXTURES / name).read_text()


def nw_request(org, *, site="PC1234", order_id="ORD-1", mrn="MRN-1", types=("DR",), **overrides) -> dict:
    body = {
        "Version": "2.3.1",
        "OrderControlCode": "NW",
        "ClientGuid": str(org.client_guid),
        "Site": {"LocalId": site},
        "Order": {"LocalId": order_id, "EvaluationTypes": list(types), "State": None},
        "Patient": {"LocalId": mrn, "Name": {"First": "Ada", "Last": "Lovelace"}, "Dob": "12/10/1955",
                    "Genders": [{"Context": "BirthGender", "Gender": "F"}]},
    }
    for path, value in overrides.items():
        node = body
        keys = path.split("__")
        for key in keys[:-1]:
            node = node.setdefault(key, {})
        node[keys[-1]] = value
    return body


def with_code(body: dict, code: str) -> dict:
    body = copy.deepcopy(body)
    body["OrderControlCode"] = code
    return body


def dumps(body: dict) -> str:
    return json.dumps(body)
