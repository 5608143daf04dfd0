"""Writes of the HL7 interface settings (SPEC 4.3): an interface and its code -> site mappings,
saved together. The running listener picks changes up within IRIS_HL7_CONFIG_MAX_AGE seconds
(orders/intake/hl7/senders.py)."""
from dataclasses import dataclass

from django.db import transaction

from .models import HL7Interface, HL7SiteMapping, Organization, Site


@dataclass(frozen=True)
class SiteMappingData:
    code: str  # as found in PV1-3.1 / ORC-13.1
    site: Site


@transaction.atomic
def hl7_interface_save(*, interface: HL7Interface, organization: Organization,
                       mappings: list[SiteMappingData]) -> HL7Interface:
    """Create or update ``interface`` for ``organization`` and replace its site mappings with
    ``mappings``. Every mapped site must belong to the organization (R1)."""
    foreign = [m.site for m in mappings if m.site.organization_id != organization.pk]
    if foreign:
        raise ValueError(f"site {foreign[0].local_id} is not a site of {organization}")
    codes = [m.code.strip() for m in mappings]
    if len({code.lower() for code in codes}) != len(codes):
        raise ValueError("a code is mapped twice")
    interface.organization = organization
    interface.full_clean()
    interface.save()
    interface.site_mappings.all().delete()
    HL7SiteMapping.objects.bulk_create(
        [HL7SiteMapping(interface=interface, code=code, site=m.site) for code, m in zip(codes, mappings)])
    return interface
