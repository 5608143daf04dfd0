"""Writes for organizations' reference data: providers by NPI, departments, cameras, sites."""
from django.db import IntegrityError, transaction

from iris_portal.ttl_cache import TTLCache

from .models import Department, Device, Organization, Provider, Site
from .npi import npi_check_digit_ok, npi_format_ok


class ProviderData:
    """What a message says about a provider; blank values never overwrite known ones."""

    __slots__ = ("npi", "first_name", "last_name", "degrees", "taxonomy", "associations", "email", "fax")

    def __init__(self, npi: str, **fields):
        self.npi = npi
        for name in self.__slots__[1:]:
            setattr(self, name, fields.get(name) or "")


def npi_problems(field: str, npi: str):
    """(FieldError | None, warning | None) for one NPI: a malformed NPI is an error, a bad
    check digit only a warning (the public IRIS examples use 1234567890)."""
    from orders.canonical.errors import FieldError

    if not npi_format_ok(npi):
        return FieldError(field, f"'{npi}' is not an NPI (10 digits)"), None
    if not npi_check_digit_ok(npi):
        return None, f"{field}: NPI {npi} fails the check digit"
    return None, None


_recent_providers = TTLCache(ttl_seconds=60)


def _says_nothing_new(item: ProviderData, provider: Provider) -> bool:
    return all(not getattr(item, f) or getattr(item, f) == getattr(provider, f) for f in ProviderData.__slots__[1:])


def providers_upsert(data: list[ProviderData]) -> dict[str, Provider]:
    """Providers by NPI, created when new, filled in where the message knows more. No query when
    every provider was seen recently with the same details (the common case: a clinic's few
    ordering providers); else one query to read, one to create, one per provider that changed."""
    wanted = {item.npi: item for item in data}
    if not wanted:
        return {}
    cached = {npi: _recent_providers.peek(npi) for npi in wanted}
    if all(p is not None and _says_nothing_new(wanted[npi], p) for npi, p in cached.items()):
        return cached
    known = {p.npi: p for p in Provider.objects.filter(npi__in=wanted)}
    missing = [npi for npi in wanted if npi not in known]
    if missing:
        new_rows = [Provider(npi=npi, **{f: getattr(wanted[npi], f) for f in ProviderData.__slots__[1:]}) for npi in missing]
        Provider.objects.bulk_create(new_rows, ignore_conflicts=True)
        known.update({p.npi: p for p in Provider.objects.filter(npi__in=missing)})
    for npi, provider in known.items():
        item = wanted[npi]
        changed = [f for f in ProviderData.__slots__[1:] if getattr(item, f) and getattr(item, f) != getattr(provider, f)]
        if changed and npi not in missing:
            for name in changed:
                setattr(provider, name, getattr(item, name))
            provider.save(update_fields=changed)
        _recent_providers.put(npi, provider)
    return known


def department_get_or_create(*, site: Site, local_id: str) -> Department:
    try:
        with transaction.atomic():
            return Department.objects.get_or_create(site=site, local_id=local_id)[0]
    except IntegrityError:  # created concurrently
        return Department.objects.get(site=site, local_id=local_id)


def device_create(*, site: Site, local_id: str, **details) -> Device:
    clean = {key: value or "" for key, value in details.items()}
    try:
        with transaction.atomic():
            return Device.objects.create(site=site, local_id=local_id, **clean)
    except IntegrityError:
        return Device.objects.get(site=site, local_id=local_id)


def site_create(*, organization: Organization, local_id: str, name: str, **address) -> Site:
    clean = {key: value or "" for key, value in address.items()}
    try:
        with transaction.atomic():
            return Site.objects.create(organization=organization, local_id=local_id, name=name, **clean)
    except IntegrityError:
        return Site.objects.get(organization=organization, local_id=local_id)
