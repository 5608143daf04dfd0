"""Tenant scoping (R1). Views never touch a model manager for tenant data: they go through a
selector that takes the user, and these helpers make "forgot the scope" an explicit choice.

Another organization's object is a 404 (``get_object_or_404`` on a scoped queryset)."""
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet


def organization_of(user):
    """The user's organization; users without one (a bootstrap superuser) see no tenant data."""
    if not user.is_authenticated:
        raise PermissionDenied
    return user.organization


def scope_to_organization(queryset: QuerySet, user, field: str = "organization") -> QuerySet:
    organization = organization_of(user)
    if organization is None:
        return queryset.none()
    return queryset.filter(**{field: organization})
