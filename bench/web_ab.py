"""Per-page CPU of two code trees side by side: one gunicorn (one sync worker) per tree, both on
the web_load.py database, answering alternate requests of the same pages, so that the host's
speed drift (large on shared machines) hits both alike. Prints the worker CPU ms per request of
each tree per page, the ratio, and the CPU of each worker's PostgreSQL backend.

    .venv/bin/python bench/web_ab.py OLD_TREE NEW_TREE [--n 300] [--pages list,detail]

A tree is a checkout of this repository, e.g. ``git worktree add /tmp/start <commit>``; each
gunicorn runs with that tree as its working directory and first on PYTHONPATH. Seed the database
first with ``bench/web_load.py``.
"""
import argparse
import http.client
import os
import subprocess
from pathlib import Path

from _setup import cpu_seconds, django_setup, machine, production_cache
from web_load import DEFAULT_URL, free_port, gunicorn_command, server_env, session_cookie, wait_for_port

PAGES = {
    "list": "/orders/",
    "list2": "/orders/?site={site}&status=complete",
    "page40": "/orders/?page=40",
    "detail": "/orders/{order}/",
    "patients": "/patients/",
}


def start(tree: Path, url: str, name: str = "web_ab") -> tuple[subprocess.Popen, int]:
    """One gunicorn sync worker serving ``tree`` (``WEB_AB_APP``: another WSGI module, e.g. an
    instrumented one on ``WEB_AB_PYTHONPATH``)."""
    port = free_port()
    env = server_env(url, PGAPPNAME=name,
                     PYTHONPATH=os.pathsep.join(filter(None, [str(tree), os.environ.get("WEB_AB_PYTHONPATH")])))
    command = gunicorn_command(port, 1, 1, app=os.environ.get("WEB_AB_APP", "iris_portal.wsgi"))
    server = subprocess.Popen(command, cwd=tree, env=env, stdout=subprocess.DEVNULL)
    wait_for_port(port)
    return server, port


def backend_pid(application_name: str) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE application_name = %s", [application_name])
        (pid,), = cursor.fetchall()
    return pid


def worker_pid(master: int) -> int:
    for task in Path(f"/proc/{master}/task").iterdir():
        children = (task / "children").read_text().split()
        if children:
            return int(children[0])
    raise RuntimeError("gunicorn has no worker")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("old", type=Path)
    parser.add_argument("new", type=Path)
    parser.add_argument("--n", type=int, default=300, help="requests per page and tree")
    parser.add_argument("--pages", default="list,detail")
    args = parser.parse_args()
    url = os.environ.get("BENCH_DATABASE_URL") or DEFAULT_URL
    os.environ["BENCH_DATABASE_URL"] = url
    production_cache()
    django_setup(url, fresh=False)
    from orders.models import Order
    from organizations.models import User

    user = User.objects.get(username="clinic")
    order = Order.objects.filter(organization=user.organization).order_by("-pk").values_list("pk", flat=True)[10]
    site = user.organization.sites.first().pk
    cookie = session_cookie(user)
    servers = [start(tree.resolve(), url, f"web_ab_{index}") for index, tree in enumerate((args.old, args.new))]
    try:
        connections = [http.client.HTTPConnection("127.0.0.1", port, timeout=60) for _, port in servers]
        workers = [worker_pid(server.pid) for server, _ in servers]

        def get(index: int, path: str) -> None:
            connections[index].request("GET", path, headers={"Cookie": cookie, "Host": "127.0.0.1"})
            response = connections[index].getresponse()
            response.read()
            if response.status != 200:
                raise SystemExit(f"{path} answered {response.status} from tree {index}")

        for index in (0, 1):
            get(index, "/orders/")  # the worker connects to the database
        backends = [backend_pid(f"web_ab_{index}") for index in (0, 1)]
        print(f"machine: {machine()}")
        print(f"| page | {args.old} CPU ms | {args.new} CPU ms | new / old | PostgreSQL CPU ms, old / new |")
        print("| --- | --- | --- | --- | --- |")
        for name in args.pages.split(","):
            path = PAGES[name].format(site=site, order=order)
            for _ in range(20):  # warm both
                get(0, path)
                get(1, path)
            spent, database = [0.0, 0.0], [0.0, 0.0]
            for _ in range(args.n):
                for index in (0, 1):
                    before, before_db = cpu_seconds(workers[index]), cpu_seconds(backends[index])
                    get(index, path)
                    spent[index] += cpu_seconds(workers[index]) - before
                    database[index] += cpu_seconds(backends[index]) - before_db
            old, new = (s / args.n * 1000 for s in spent)
            old_db, new_db = (s / args.n * 1000 for s in database)
            print(f"| {name} | {old:.2f} | {new:.2f} | {new / old:.3f} | {old_db:.2f} / {new_db:.2f} |", flush=True)
    finally:
        for server, _ in servers:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
