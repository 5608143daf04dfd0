"""R1 across the whole URLconf. For every URL with an object in it: a user of another
organization (with every role), a PCP the order does not name and a grader without the license
get 404 — for GET and POST — while someone entitled does not (so the 404 is about scope, not a
missing object). Every page except an explicit public list sends anonymous users to sign in.

URLs added by other issues are covered automatically: objects come from tests/portal/world.py
(one primary key shared by every model) and string arguments from KWARG_VALUES."""
import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from .world import WORLD_PK, world_build

# Pages anyone may open (signing in, password reset, published schemas, a signed report link).
PUBLIC = {"login", "logout", "password_reset", "password_reset_done", "password_reset_confirm",
          "password_reset_complete", "schema-index", "schema-detail", "admin-login", "delivery:report-link"}
# Values for string arguments of object URLs (int arguments are object ids: WORLD_PK).
KWARG_VALUES = {"evaluation_type": "DR", "kind": "pdf"}
SKIP_NAMESPACES = {"admin"}  # Django's admin: platform staff only, its own permission system
CONVERTER = re.compile(r"<(?:(?P<type>\w+):)?(?P<name>\w+)>")


def url_patterns():
    """(name, route, [(kwarg, converter type)]) for every named route outside the admin."""
    found = []

    def walk(patterns, prefix: str, namespace: str | None):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                if pattern.namespace in SKIP_NAMESPACES:
                    continue
                inner = pattern.namespace if not namespace else f"{namespace}:{pattern.namespace}" \
                    if pattern.namespace else namespace
                walk(pattern.url_patterns, prefix + str(pattern.pattern), inner)
            elif isinstance(pattern, URLPattern) and pattern.name:
                route = prefix + str(pattern.pattern)
                name = f"{namespace}:{pattern.name}" if namespace else pattern.name
                found.append((name, route, [(m["name"], m["type"] or "str") for m in CONVERTER.finditer(route)]))

    walk(get_resolver().url_patterns, "", None)
    return found


PATTERNS = url_patterns()
OBJECT_PATTERNS = [p for p in PATTERNS if any(kind == "int" for _, kind in p[2]) and p[0] not in PUBLIC]


def url_for(name: str, kwargs: list) -> str:
    values = {}
    for kwarg, kind in kwargs:
        if kind == "int":
            values[kwarg] = WORLD_PK
        elif kwarg in KWARG_VALUES:
            values[kwarg] = KWARG_VALUES[kwarg]
        else:
            pytest.fail(f"{name}: no test value for the argument '{kwarg}'; add one to KWARG_VALUES "
                        "(or list the page in PUBLIC if it needs no sign-in)")
    return reverse(name, kwargs=values)


def test_the_walk_finds_the_portal_object_pages():
    names = {name for name, _, _ in OBJECT_PATTERNS}
    assert {"orders:detail", "orders:change", "orders:cancel", "patients:detail", "patients:edit",
            "organizations:site-edit", "organizations:user-deactivate"} <= names


@pytest.mark.django_db
@pytest.mark.parametrize("name,route,kwargs", [p for p in PATTERNS if p[0] not in PUBLIC], ids=lambda v: v
                         if isinstance(v, str) and "/" not in v and ":" in v or isinstance(v, str) and v.isidentifier()
                         else "")
def test_anonymous_users_are_sent_to_sign_in(client, name, route, kwargs):
    url = url_for(name, kwargs)
    login = reverse("login")
    statuses = []
    for method in (client.get, client.post):
        response = method(url)
        statuses.append(response.status_code)
        assert response.status_code in (302, 405), f"{method.__name__.upper()} {url}: {response.status_code}"
        if response.status_code == 302:
            assert response.url.startswith(login), f"{url} redirects to {response.url}"
    assert 302 in statuses


def _status(client, method: str, url: str) -> int:
    client.raise_request_exception = False  # an entitled user's empty POST may fail validation loudly
    return getattr(client, method)(url).status_code


@pytest.mark.django_db
@pytest.mark.parametrize("name,route,kwargs", OBJECT_PATTERNS, ids=[p[0] for p in OBJECT_PATTERNS])
def test_objects_are_404_for_everyone_outside_their_scope(client, name, route, kwargs):
    world = world_build()
    url = url_for(name, kwargs)

    for label, outsider in world.outsiders.items():
        client.force_login(outsider)
        statuses = {method: client.get(url).status_code if method == "get" else client.post(url).status_code
                    for method in ("get", "post")}
        assert set(statuses.values()) <= {404, 405} and 404 in statuses.values(), \
            f"{label} on {url}: {statuses} (expected 404: the object is outside their scope)"

    # Someone entitled is not refused with 404, so the object exists and the 404s above are scope.
    seen = {}
    for insider in (world.owner, world.grader, world.pcp, world.staff):
        client.force_login(insider)
        method = "get" if _status(client, "get", url) != 405 else "post"
        seen[insider.username] = _status(client, method, url)
        if seen[insider.username] != 404:
            break
    assert any(status != 404 for status in seen.values()), (
        f"{url}: every entitled user gets 404 {seen}; the page fetches a model tests/portal/world.py does not "
        "build with WORLD_PK: add a builder")
