"""The frame's navigation bar, built in Python: every page renders it, and as template code
(section and link loops, the site switcher, three CSRF fields) it was ~1.5 ms of each page,
a tenth of the order page. Same markup as the template it replaced (a test compares them for
each kind of user)."""
from django import template
from django.urls import reverse
from django.utils.safestring import mark_safe

from ..escaping import html_text

register = template.Library()


@register.simple_tag(takes_context=True)
def portal_nav(context) -> str:
    user = context.get("user")
    authenticated = user is not None and user.is_authenticated
    csrf = _csrf_field(context.get("csrf_token"))
    parts = ['<nav class="navbar navbar-expand-lg navbar-dark bg-primary mb-4 portal-nav" aria-label="Main">',
             '<div class="container-fluid">',
             f'<a class="navbar-brand fw-semibold" href="{html_text(reverse("home"))}">IRIS Portal</a>']
    if authenticated and context.get("two_factor_pending"):
        parts.append(f'<form method="post" action="{html_text(reverse("logout"))}" class="ms-auto">{csrf}'
                     '<button class="btn btn-outline-light btn-sm" type="submit">Sign out</button></form>')
    elif authenticated:
        parts += ['<button class="navbar-toggler" type="button" data-bs-toggle="collapse" data-bs-target="#nav" '
                  'aria-controls="nav" aria-expanded="false" aria-label="Menu">',
                  '<span class="navbar-toggler-icon"></span>', "</button>",
                  '<div class="collapse navbar-collapse" id="nav">', '<ul class="navbar-nav me-auto" data-nav>']
        parts += [_section(section) for section in context.get("nav_sections") or ()]
        parts += ["</ul>", '<ul class="navbar-nav align-items-lg-center">']
        if context.get("switcher_sites"):
            parts.append(_site_switcher(context, csrf))
        parts.append(_user_menu(user, csrf))
        parts += ["</ul>", "</div>"]
    parts += ["</div>", "</nav>"]
    return mark_safe("\n".join(parts))


def _csrf_field(token) -> str:
    """What ``{% csrf_token %}`` writes."""
    if not token or token == "NOTPROVIDED":
        return ""
    return f'<input type="hidden" name="csrfmiddlewaretoken" value="{html_text(token)}">'


def _section(section) -> str:
    active = " active" if section.active else ""
    if section.is_menu:
        links = "".join(f'<li><a class="dropdown-item" href="{html_text(url)}">{html_text(label)}</a></li>'
                        for label, url in section.links)
        return (f'<li class="nav-item dropdown">\n<a class="nav-link dropdown-toggle{active}" href="#" role="button" '
                f'data-bs-toggle="dropdown" aria-expanded="false">{html_text(section.label)}</a>\n'
                f'<ul class="dropdown-menu">\n{links}\n</ul>\n</li>')
    label, url = section.links[0]
    current = ' aria-current="page"' if section.active else ""
    return f'<li class="nav-item"><a class="nav-link{active}" href="{html_text(url)}"{current}>{html_text(label)}</a></li>'


def _site_switcher(context, csrf: str) -> str:
    current = context.get("switcher_current")
    request = context.get("request")
    shown = html_text(current.name) if current else "All sites"
    buttons = [f'<button class="dropdown-item{"" if current else " active"}" type="submit" name="site" value="">'
               "All sites</button>", '<div class="dropdown-divider"></div>']
    for site in context.get("switcher_sites"):
        active = " active" if current is not None and current.pk == site.pk else ""
        buttons.append(f'<button class="dropdown-item{active}" type="submit" name="site" value="{html_text(site.pk)}">'
                       f'{html_text(site.name)} <span class="text-secondary small">{html_text(site.local_id)}</span>'
                       "</button>")
    next_path = html_text(request.get_full_path()) if request is not None else ""
    return ('<li class="nav-item dropdown me-lg-2" data-site-switcher>\n'
            '<a class="nav-link dropdown-toggle" href="#" role="button" data-bs-toggle="dropdown" aria-expanded="false">\n'
            f'<span class="opacity-75 small">Site:</span> {shown}\n</a>\n'
            f'<form method="post" action="{html_text(reverse("site-switch"))}" class="dropdown-menu dropdown-menu-end">'
            f'{csrf}\n<input type="hidden" name="next" value="{next_path}">\n' + "\n".join(buttons) + "\n</form>\n</li>")


def _user_menu(user, csrf: str) -> str:
    organization = user.organization
    org_name = html_text(organization.name) if organization else ""
    badge = f' <span class="opacity-75 small d-lg-none d-xl-inline">· {org_name}</span>' if organization else ""
    org_item = (f'<li><span class="dropdown-item-text small text-secondary">{org_name}</span></li>\n'
                if organization else "")
    return ('<li class="nav-item dropdown">\n'
            '<a class="nav-link dropdown-toggle" href="#" role="button" data-bs-toggle="dropdown" aria-expanded="false" '
            f'data-user-menu>\n{html_text(user.get_username())}{badge}\n</a>\n'
            f'<ul class="dropdown-menu dropdown-menu-end">\n{org_item}'
            f'<li><a class="dropdown-item" href="{html_text(reverse("two-factor-enrol"))}">Two-factor authentication</a></li>\n'
            f'<li><a class="dropdown-item" href="{html_text(reverse("password_change"))}">Change password</a></li>\n'
            '<li><hr class="dropdown-divider"></li>\n'
            f'<li><form method="post" action="{html_text(reverse("logout"))}">{csrf}'
            '<button class="dropdown-item" type="submit">Sign out</button></form></li>\n</ul>\n</li>')
