"""Navigation links of the organizations app (collected by iris_portal.navigation): the HL7
interface settings sit with the other organization settings for organization admins, and under
Integrations for integration administrators who are not (a URL is listed once, first match)."""
from iris_portal.navigation import NavLink
from iris_portal.permissions import can_administer_organization

from .selectors_hl7 import can_configure_integrations

NAV_LINKS = [
    NavLink("Organization", "HL7 interfaces", names=("organizations:hl7-interface-list",),
            when=can_administer_organization),
    NavLink("Integrations", "HL7 interfaces", names=("organizations:hl7-interface-list",),
            when=can_configure_integrations),
]
