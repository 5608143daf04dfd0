"""Who may see what, by role (SPEC section 1). Pure predicates on the user: no queries.

Organization data (patients, orders) is for the organization's clinic staff and organization
admins (minimum necessary, R13: integration administrators configure channels, they do not read
charts); PCPs, graders and service accounts reach orders only by their own rules (R9, reports
naming their NPI), never through these pages."""


def _member(user) -> bool:
    return bool(user.is_authenticated and user.is_active and user.organization_id)


def can_see_organization_data(user) -> bool:
    """See, register and change the organization's patients and orders."""
    return _member(user) and (user.is_clinic_staff or user.is_org_admin)


def can_administer_organization(user) -> bool:
    return _member(user) and user.is_org_admin


def needs_two_factor(user) -> bool:
    """Organization admins and platform staff must sign in with a second factor."""
    return bool(user.is_authenticated and (user.is_org_admin or user.is_staff))


def role_required(predicate):
    """View decorator for a role check that keeps R1's answer on object pages: a user without
    the role gets 403 on a page without an object, and 404 on a page about one (URL arguments
    ``pk``/``*_pk``), exactly as if the object were outside their organization."""
    from functools import wraps

    from django.contrib.auth.decorators import login_required
    from django.core.exceptions import PermissionDenied
    from django.http import Http404

    def decorator(view):
        @login_required
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not predicate(request.user):
                if any(name == "pk" or name.endswith("_pk") for name in kwargs):
                    raise Http404
                raise PermissionDenied
            return view(request, *args, **kwargs)
        return wrapper
    return decorator
