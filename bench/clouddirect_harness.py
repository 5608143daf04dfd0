"""What the Cloud Direct bench scripts share: a private redis-server, a migrated PostgreSQL
database with one fresh organization and its ACL users, worker subprocesses, and generated
OrderRequests.

The private Redis runs on a free port in a temporary directory with ``appendonly yes`` and
``appendfsync always``: every write is on disk before Redis answers, so killing and restarting it
loses nothing that was acknowledged. (The machine's shared Redis on 6379 is never touched.)
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _setup import ROOT, django_setup

DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/iris_cd_bench")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PrivateRedis:
    def __init__(self, *, appendfsync: str = "always"):
        self.dir = Path(tempfile.mkdtemp(prefix="iris-cd-redis-"))
        self.port = free_port()
        self.appendfsync = appendfsync
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--dir", str(self.dir),
             "--appendonly", "yes", "--appendfsync", self.appendfsync, "--save", "", "--daemonize", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            time.sleep(0.02)
        raise RuntimeError("private redis-server did not start")

    def kill(self) -> None:
        """SIGKILL: no shutdown save; only what appendfsync already wrote survives."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        shutil.rmtree(self.dir, ignore_errors=True)


def django_ready(redis_url: str):
    """Fresh bench database, Django set up with the private Redis as the Cloud Direct broker,
    and one new organization (site BENCH in FL) with its ACL users. Returns (organization,
    writer URL, reader URL)."""
    os.environ["REDIS_URL"] = os.environ["IRIS_CLOUDDIRECT_REDIS_URL"] = redis_url
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "1"
    django_setup(DATABASE_URL)
    from orders.intake.clouddirect.credentials import connection_url, credential_password, credentials_provision
    from organizations.models import Organization, Site
    from orders.reference import ALL_EVALUATION_TYPE_CODES

    organization = Organization.objects.create(name="Cloud Direct bench",
                                               evaluation_types=list(ALL_EVALUATION_TYPE_CODES))
    Site.objects.create(organization=organization, local_id="BENCH", name="Bench site", state="FL")
    credentials_provision(organization=organization)
    urls = {c.kind: connection_url(c, credential_password(c)) for c in organization.clouddirect_credentials.all()}
    return organization, urls["writer"], urls["reader"]


def worker_start(redis_url: str, *args: str) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": DATABASE_URL, "REDIS_URL": redis_url, "IRIS_CLOUDDIRECT_REDIS_URL": redis_url,
           "DEBUG": "0", "SECRET_KEY": os.environ.get("SECRET_KEY", "bench-only"), "LOG_LEVEL": "WARNING",
           "CELERY_TASK_ALWAYS_EAGER": "1"}
    return subprocess.Popen([sys.executable, str(ROOT / "manage.py"), "clouddirect_worker", *args], env=env, cwd=ROOT)


def order_request(client_guid: str, local_id: str) -> str:
    return json.dumps({
        "Version": "2.3.1", "OrderControlCode": "NW", "ClientGuid": client_guid, "Site": {"LocalId": "BENCH"},
        "Order": {"LocalId": local_id, "EvaluationTypes": ["DR"], "State": "FL", "CPTCode": "92229"},
        "Patient": {"LocalId": f"P-{local_id}", "Name": {"First": "Bench", "Last": "Patient"}, "Dob": "1/2/1960",
                    "Genders": [{"Context": "BirthGender", "Gender": "F"}]},
        "OrderingProvider": {"NPI": "1234567893", "Name": {"First": "Ord", "Last": "Ering"}},
    })
