"""Demo data of the grading app, called by ``seed_demo`` (organizations/demo.py)."""
from .careplan_defaults import careplan_defaults_load


def seed_grading_defaults() -> None:
    """Idempotent: the default care-plan catalogue (also loaded by migration 0002; a flushed test
    database or a restored dump may lack it)."""
    careplan_defaults_load()
