"""Reads of import jobs and mappings, scoped to the user's organization (R1)."""
from django.db.models import QuerySet

from iris_portal.scoping import scope_to_organization

from ...models import ImportJob, ImportMapping


def import_job_list(*, user) -> QuerySet[ImportJob]:
    """The user's organization's imports, newest first."""
    return scope_to_organization(ImportJob.objects.all(), user).select_related("created_by", "duplicate_of")


def import_mapping_get(*, organization) -> ImportMapping:
    """The organization's mapping (an unsaved empty one until it is first edited)."""
    return ImportMapping.objects.filter(organization=organization).first() or ImportMapping(organization=organization)
