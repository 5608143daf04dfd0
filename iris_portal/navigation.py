"""The navigation bar, by role. Links to pages other issues own are listed by URL name (or
path) and shown only when that page is installed, so the frame never breaks on a missing page.

An app can add links without touching this file: a module ``<app>/nav.py`` with
``NAV_LINKS = [NavLink(section, label, names=(...), path=..., when=<predicate>)]``."""
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import import_module
from typing import Callable

from django.apps import apps
from django.conf import settings
from django.urls import NoReverseMatch, Resolver404, get_script_prefix, get_urlconf, resolve, reverse

from .permissions import can_administer_organization, can_see_organization_data


def _integration_admin(user) -> bool:
    return bool(user.organization_id and user.is_integration_admin)


def _grader(user) -> bool:
    return user.is_grader


def _pcp(user) -> bool:
    return user.is_pcp


def _staff(user) -> bool:
    return user.is_staff


@dataclass(frozen=True)
class NavLink:
    section: str  # the top-level entry it belongs to; a link alone in its section is shown flat
    label: str
    names: tuple[str, ...] = ()
    path: str = ""
    when: Callable = can_see_organization_data

    def url(self) -> str | None:
        """The link's URL, or None when its page is not installed (fixed for a URLconf: cached)."""
        return _link_url(self, get_urlconf() or settings.ROOT_URLCONF, get_script_prefix())

    def _resolve_url(self) -> str | None:
        for name in self.names:
            try:
                return reverse(name)
            except NoReverseMatch:
                continue
        if self.path:
            try:
                resolve(self.path)
            except Resolver404:
                return None
            return self.path
        return None


@lru_cache(maxsize=512)
def _link_url(link: NavLink, urlconf, script_prefix: str) -> str | None:
    return link._resolve_url()


@dataclass
class NavSection:
    label: str
    links: list = field(default_factory=list)  # [(label, url)]
    active: bool = False

    @property
    def url(self) -> str:
        return self.links[0][1]

    @property
    def is_menu(self) -> bool:
        return len(self.links) > 1


SECTION_ORDER = ["Dashboard", "Orders", "Patients", "Grading", "My reports", "Organization", "Integrations", "Admin"]

NAV_LINKS = [
    NavLink("Dashboard", "Dashboard", names=("home",)),
    NavLink("Orders", "Orders", names=("orders:list",)),
    NavLink("Orders", "Results to download", names=("delivery:pickup",)),
    NavLink("Patients", "Patients", names=("patients:list",)),
    NavLink("Grading", "Grading queue", names=("grading:queue", "grading:index"), path="/grading/", when=_grader),
    NavLink("My reports", "My reports", names=("delivery:my-reports", "delivery:pcp-reports"),
            path="/delivery/reports/", when=_pcp),
    NavLink("Organization", "Sites", names=("organizations:site-list",), when=can_administer_organization),
    NavLink("Organization", "Departments", names=("organizations:department-list",), when=can_administer_organization),
    NavLink("Organization", "Cameras", names=("organizations:device-list",), when=can_administer_organization),
    NavLink("Organization", "Users", names=("organizations:user-list",), when=can_administer_organization),
    NavLink("Organization", "Result endpoints", names=("delivery:endpoints",), when=can_administer_organization),
    NavLink("Organization", "Delivery monitor", names=("delivery:monitor",), when=can_administer_organization),
    NavLink("Organization", "Care plans", names=("grading:care-plans",), when=can_administer_organization),
    NavLink("Organization", "Report templates", names=("delivery:templates",), when=can_administer_organization),
    NavLink("Organization", "Audit log", names=("organizations:audit-log",), when=can_administer_organization),
    NavLink("Integrations", "CSV imports", names=("orders:imports", "orders:import-list"), path="/orders/imports/",
            when=_integration_admin),
    NavLink("Integrations", "CSV mapping", names=("orders:import-mapping",), when=_integration_admin),
    NavLink("Integrations", "Cloud Direct", names=("organizations:clouddirect-credentials",),
            path="/org/clouddirect/", when=_integration_admin),
    NavLink("Integrations", "Dead letters", names=("orders:clouddirect-dead-letters",), when=_integration_admin),
    NavLink("Admin", "Admin", names=("admin:index",), when=_staff),
]


@lru_cache(maxsize=1)
def _app_links() -> tuple[NavLink, ...]:
    """The apps' ``nav.py`` links, looked up once (a missing module was a file-system search on
    every page)."""
    links = []
    for config in apps.get_app_configs():
        try:
            module = import_module(f"{config.name}.nav")
        except ModuleNotFoundError as exc:
            if exc.name != f"{config.name}.nav":
                raise
            continue
        links.extend(getattr(module, "NAV_LINKS", []))
    return tuple(links)


def navigation(user, path: str) -> list[NavSection]:
    """The sections this user sees, in a fixed order, with only links that resolve."""
    if not user.is_authenticated:
        return []
    links = (*NAV_LINKS, *_app_links())
    sections = []
    for label, entries in _sections(links, tuple(link.when(user) for link in links),
                                    get_urlconf() or settings.ROOT_URLCONF, get_script_prefix()):
        active = any(url != "/" and path.startswith(url) or url == path for _, url in entries)
        sections.append(NavSection(label, list(entries), active))
    return sections


@lru_cache(maxsize=256)
def _sections(links: tuple, shown: tuple, urlconf, script_prefix: str) -> tuple:
    """(section label, ((link label, url), ...)) for the links shown, in section order: the same
    for every user with the same roles (worked out once: ~0.3 ms of every page)."""
    sections: dict[str, list] = {}
    seen = set()
    for link, visible in zip(links, shown):
        if not visible:
            continue
        url = _link_url(link, urlconf, script_prefix)
        if url is None or url in seen:
            continue
        seen.add(url)
        sections.setdefault(link.section, []).append((link.label, url))
    order = {name: index for index, name in enumerate(SECTION_ORDER)}
    return tuple((label, tuple(entries)) for label, entries in
                 sorted(sections.items(), key=lambda item: order.get(item[0], len(order))))
