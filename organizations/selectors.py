"""Reads of organizations' reference data used on every inbound message (cached briefly)."""
import uuid

from iris_portal.ttl_cache import TTLCache

from .models import Device, Organization, Site

_organizations = TTLCache()
_sites = TTLCache()
_devices = TTLCache()


def organization_by_client_guid(client_guid: uuid.UUID) -> Organization | None:
    """The active organization with this ClientGuid."""
    return _organizations.get_or_load(
        client_guid, lambda: Organization.objects.filter(client_guid=client_guid, is_active=True).first()
    )


def site_by_local_id(organization: Organization, local_id: str) -> Site | None:
    return _sites.get_or_load(
        (organization.pk, local_id), lambda: Site.objects.filter(organization=organization, local_id=local_id).first()
    )


def device_by_local_id(site: Site, local_id: str) -> Device | None:
    return _devices.get_or_load(
        (site.pk, local_id), lambda: Device.objects.filter(site=site, local_id=local_id).first()
    )
