"""Shared parts of the delivery benchmarks: a fresh PostgreSQL database, Celery on Redis db 10
(REDIS_URL), the real SFTP server of the transport tests (asyncssh on 127.0.0.1), an SFTP
endpoint for a new organization, orders ready for grading, and worker/beat processes."""
import datetime as dt
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _setup import ROOT, django_setup

DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/iris_delivery_bench")
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/10")
MEDIA_ROOT = Path(tempfile.mkdtemp(prefix="iris-delivery-media-"))
SPEED_ENV = {  # short retries and claims so a benchmark run takes minutes, not hours
    "IRIS_DELIVERY_RETRY_BASE_SECONDS": "5", "IRIS_DELIVERY_RETRY_MAX_SECONDS": "20",
    "IRIS_DELIVERY_MAX_ATTEMPTS": "40", "IRIS_DELIVERY_CLAIM_SECONDS": "30",
    # Tasks a killed worker had taken come back after this (Redis transport; default one hour).
    "CELERY_VISIBILITY_TIMEOUT": "60",
}


def environment() -> dict[str, str]:
    return {"DATABASE_URL": DATABASE_URL, "REDIS_URL": REDIS_URL, "CELERY_TASK_ALWAYS_EAGER": "0",
            "MEDIA_ROOT": str(MEDIA_ROOT), "SECRET_KEY": os.environ.get("SECRET_KEY", "bench-only"),
            "LOG_LEVEL": "WARNING", "DEBUG": "0", "IRIS_EVENT_PUBLISHERS": "", "IRIS_CLOUDDIRECT_REDIS_URL": "",
            **SPEED_ENV}


def django_ready():
    os.environ.update(environment())
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()  # no stale tasks from an earlier run
    sys.path.insert(0, str(ROOT))
    django_setup(DATABASE_URL)


def sftp_start(root: Path, port: int = 0):
    from tests.delivery.transports.servers import SftpServer

    (root / "upload").mkdir(parents=True, exist_ok=True)
    return SftpServer(root).start(port)


def organization_with_sftp_endpoint(server):
    from delivery.models import Endpoint
    from delivery.services import endpoint_save
    from orders.reference import ALL_EVALUATION_TYPE_CODES
    from organizations.models import Organization, Site

    organization = Organization.objects.create(name="Delivery bench", evaluation_types=list(ALL_EVALUATION_TYPE_CODES))
    site = Site.objects.create(organization=organization, local_id="BENCH", name="Bench site", state="FL")
    endpoint_save(endpoint=Endpoint(organization=organization, kind="sftp", name="Bench SFTP"), config={
        "host": "127.0.0.1", "port": server.port, "username": "iris", "password": "s3cret",
        "host_key": server.host_key_line, "directory": "/upload", "file_name_template": "{orderLocalId}.pdf",
        "timeout": 5})
    return organization, site


def orders_ready(site, count: int, prefix: str):
    """Orders with both images, ready for grading (made with the test factories)."""
    from django.utils import timezone

    from grading.careplan_defaults import careplan_defaults_load
    from orders.models import OrderStatus
    from tests.delivery.factories import attach_image
    from tests.factories import OrderFactory, PatientFactory, ProviderFactory

    careplan_defaults_load()
    provider = ProviderFactory(npi="1234567890", first_name="Pat", last_name="Primary", degrees="MD")
    orders = []
    for index in range(count):
        patient = PatientFactory(site=site, first_name="Bench", last_name=f"Patient{index}")
        order = OrderFactory(patient=patient, evaluation_types=["DR"], status=OrderStatus.READY_FOR_GRADING,
                             local_id=f"{prefix}{index:04d}", ordering_provider=provider, cpt_code="92250",
                             serviced_at=timezone.now() - dt.timedelta(hours=1))
        for seed, side in enumerate(("OD", "OS"), start=1):
            attach_image(order, side, seed=seed)
        orders.append(order)
    return orders


def grade(order) -> None:
    """What the grading page does: grading saved; results and delivery follow in the worker."""
    from grading.services import grading_submit
    from organizations.models import User
    from tests.delivery.factories import normal_eye

    grader = User.objects.get(username="grader")  # seed_demo's grader, licensed in FL
    grading_submit(order=order, grader=grader, od=normal_eye(), os=normal_eye())


def celery(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "celery", "-A", "iris_portal", *args],
                            env={**os.environ, **environment()}, cwd=ROOT, start_new_session=True)


def worker_start(concurrency: int = 2) -> subprocess.Popen:
    return celery("worker", "-l", "warning", "-c", str(concurrency), "--without-gossip", "--without-mingle",
                  "--without-heartbeat")


def beat_start(schedule_dir: Path) -> subprocess.Popen:
    return celery("beat", "-l", "warning", "-s", str(schedule_dir / "celerybeat-schedule"))


def stop(process: subprocess.Popen, sig=signal.SIGTERM) -> None:
    """SIGTERM: warm shutdown of the main process; SIGKILL: the whole group (pool processes too),
    as when a machine dies."""
    if process.poll() is None:
        if sig == signal.SIGKILL:
            os.killpg(process.pid, sig)
        else:
            process.send_signal(sig)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def wait_until(condition, timeout: float, interval: float = 0.01) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()
