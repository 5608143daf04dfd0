"""Shared helpers of the grading tests."""
import csv
import os
from pathlib import Path

# The project's shared/ folder sits beside the repository (also in CI).
FIXTURES = Path(os.environ.get("IRIS_FIXTURES") or Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "iris-docs")


def fixture_rows(name: str) -> list[dict]:
    with (FIXTURES / name).open(newline="") as handle:
        return list(csv.DictReader(handle))
