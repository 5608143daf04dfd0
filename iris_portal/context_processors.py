"""Template context for the frame: navigation by role and the site switcher."""
from .site_switcher import current_site, visible_sites
from .middleware import two_factor_pending
from .navigation import navigation
from .permissions import can_see_organization_data


def portal(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    if two_factor_pending(request):  # nothing to navigate to before the second factor
        return {"two_factor_pending": True}
    context = {"nav_sections": navigation(user, request.path)}
    if can_see_organization_data(user):
        sites = visible_sites(request)
        if len(sites) > 1:
            context["switcher_sites"] = sites
            context["switcher_current"] = current_site(request)
    return context
