"""The site switcher's state: the sites a user works at and the one chosen (kept in the session)."""

CURRENT_SITE_SESSION_KEY = "portal_current_site"


def visible_sites(request) -> list:
    """The sites the signed-in user works at (read with the user's site limits, once a request)."""
    if not request.user.is_authenticated:
        return []
    from organizations.selectors_admin import sites_visible_list

    return sites_visible_list(user=request.user)


def current_site(request):
    """The site chosen in the site switcher (kept in the session), if it is still visible.
    Resolved on first use, so pages that never ask cost no query."""
    wanted = request.session.get(CURRENT_SITE_SESSION_KEY) if hasattr(request, "session") else None
    if not wanted:
        return None
    return next((site for site in visible_sites(request) if site.pk == wanted), None)
