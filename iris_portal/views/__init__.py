"""Frame-level views; generic object views live in ``iris_portal.views.generic``."""
from .account import SignInView, site_switch, table_columns, two_factor_enrol, two_factor_verify
from .home import home

__all__ = ["SignInView", "home", "site_switch", "table_columns", "two_factor_enrol", "two_factor_verify"]
