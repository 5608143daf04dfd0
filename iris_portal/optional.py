"""Reads from parts other issues own, when those parts are installed: the portal frame works
(and its tests pass) before and after results, delivery and grading land."""
from django.utils.module_loading import import_string


def optional(dotted_path: str):
    """The function at ``dotted_path``, or None when its module or name does not exist yet."""
    try:
        return import_string(dotted_path)
    except ImportError:
        return None
