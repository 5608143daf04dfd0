"""Where a portal page's server time goes, in process: each page requested N times through the
full middleware stack (django.test.Client, DEBUG off, signed in as clinic staff) against the
web_load.py database; prints mean wall and CPU ms per page, and with --profile the top functions
by cumulative and self time. Complements web_load.py (latency under load) with a repeatable
per-request cost.

    .venv/bin/python bench/web_profile.py [--n 200] [--profile] [--page list|detail|...]

Database: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/iris_portal_t), seeded
by web_load.py."""
import argparse
import cProfile
import os
import pstats
import time

from _setup import django_setup, postgres_cpu_seconds, production_cache

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/iris_portal_t"


def _time_templates() -> dict[str, float]:
    """Inclusive render time per template name (Template._render wrapped)."""
    from collections import defaultdict

    from django.template.base import Template

    times: dict[str, float] = defaultdict(float)
    original = Template._render

    def timed(self, context):
        started = time.perf_counter()
        try:
            return original(self, context)
        finally:
            times[self.origin.template_name or "?"] += time.perf_counter() - started

    Template._render = timed
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--page", default="", help="only this page (list, list2, detail, dashboard, patients)")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--templates", action="store_true", help="time each template (inclusive)")
    parser.add_argument("--callees", default="", help="with --profile: also print what functions matching this call")
    parser.add_argument("--callers", default="", help="with --profile: also print what calls functions matching this")
    parser.add_argument("--save", default="", help="with --profile: write the raw profile to this file (pstats)")
    args = parser.parse_args()
    os.environ.setdefault("DEBUG", "0")
    os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,testserver")
    production_cache()
    django_setup(os.environ.get("BENCH_DATABASE_URL") or DEFAULT_URL, fresh=False)
    from django.test import Client

    from orders.models import Order
    from organizations.models import User

    user = User.objects.get(username="clinic")
    order_id = Order.objects.filter(organization=user.organization).order_by("pk").values_list("pk", flat=True)[500]
    site_id = user.organization.sites.first().pk
    pages = {"list": "/orders/", "list2": f"/orders/?site={site_id}&status=complete", "detail": f"/orders/{order_id}/",
             "dashboard": "/", "patients": "/patients/", "page2": "/orders/?page=2", "page40": "/orders/?page=40",
             "open": "/orders/?status=open", "exam": "/orders/?evaluation_type=DR&source=hl7", "floor": "/schemas/"}
    if args.page:
        pages = {args.page: pages[args.page]}
    template_times = _time_templates() if args.templates else None
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    for name, path in pages.items():
        for _ in range(5):
            assert client.get(path).status_code == 200, path
        profiler = cProfile.Profile() if args.profile else None
        wall, cpu, database = time.perf_counter(), time.process_time(), postgres_cpu_seconds()
        if profiler:
            profiler.enable()
        for _ in range(args.n):
            client.get(path)
        if profiler:
            profiler.disable()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        database = postgres_cpu_seconds() - database
        print(f"{name:10} {path:40} wall {wall / args.n * 1000:6.2f} ms  cpu {cpu / args.n * 1000:6.2f} ms"
              f"  postgres cpu {database / args.n * 1000:5.2f} ms", flush=True)
        if template_times is not None:
            for template, seconds in sorted(template_times.items(), key=lambda item: -item[1]):
                print(f"    {seconds / args.n * 1000:6.2f} ms  {template}")
            template_times.clear()
        if profiler:
            stats = pstats.Stats(profiler)
            stats.sort_stats("cumulative").print_stats(args.top)
            stats.sort_stats("tottime").print_stats(args.top)
            if args.callees:
                stats.print_callees(args.callees)
            if args.callers:
                stats.print_callers(args.callers)
            if args.save:
                stats.dump_stats(args.save)


if __name__ == "__main__":
    main()
