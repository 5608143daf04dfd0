"""Grading: the grader queue query over many ready orders, grading_submit latency (validation,
care plan, ICD-10, events) and image_attach latency, one process, on PostgreSQL.

    .venv/bin/python bench/grading_submit.py [--orders 5000] [--gradings 500] [--images 200]
"""
import argparse
import datetime as dt
import io
import time

from _setup import django_setup, machine, percentile

DATABASE = "postgres://postgres@127.0.0.1:5432/iris_bench_grading"


def ready_orders(site, count: int):
    from django.utils import timezone

    from orders.models import Order, OrderExam, OrderStatus
    from patients.models import Patient

    now = timezone.now()
    patients = Patient.objects.bulk_create([
        Patient(organization=site.organization, site=site, local_id=f"GB{i}", first_name="Bench", last_name=f"P{i}",
                dob=dt.date(1960, 1, 2)) for i in range(count)])
    orders = Order.objects.bulk_create([
        Order(organization=site.organization, patient=p, site=site, local_id=f"GBO{i}", evaluation_types=["DR"],
              state="FL", source="web", status=OrderStatus.READY_FOR_GRADING,
              serviced_at=now - dt.timedelta(minutes=count - i)) for i, p in enumerate(patients)])
    OrderExam.objects.bulk_create([OrderExam(order=o, patient=o.patient, evaluation_type="DR") for o in orders])
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # as autovacuum would have done on a live database
    return orders


def timed(fn, items) -> list[float]:
    spent = []
    for item in items:
        start = time.perf_counter()
        fn(item)
        spent.append((time.perf_counter() - start) * 1000)
    return spent


def report(label: str, ms: list[float]) -> None:
    print(f"{label}: n={len(ms)} p50={percentile(ms, 50):.1f} ms p95={percentile(ms, 95):.1f} ms "
          f"({1000 * len(ms) / sum(ms):.0f}/s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=5000)
    parser.add_argument("--gradings", type=int, default=500)
    parser.add_argument("--images", type=int, default=200)
    args = parser.parse_args()
    django_setup(DATABASE)
    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image as PILImage

    from grading.demo import seed_grading_defaults
    from grading.eyes import EyeInput
    from grading.selectors import grading_queue
    from grading.services import grading_submit
    from orders.services.images import image_attach
    from organizations.models import Site, User

    seed_grading_defaults()
    grader = User.objects.get(username="grader")
    site = Site.objects.get(local_id="PC1234")
    orders = ready_orders(site, args.orders)
    print(f"machine: {machine()}; {args.orders} ready DR orders")

    report("grading_queue first 200", timed(lambda _: list(grading_queue(user=grader)[:200]), range(50)))

    od = EyeInput(gradable=True, findings=[("Diabetic Retinopathy", "Moderate"), ("Macular Edema", "None"),
                                           ("Suspected Glaucoma", "")])
    os_ = EyeInput(gradable=True, findings=[("Diabetic Retinopathy", "Mild"), ("Macular Edema", "Positive")])
    report("grading_submit", timed(lambda o: grading_submit(order=o, grader=grader, od=od, os=os_),
                                   orders[: args.gradings]))

    buffer = io.BytesIO()
    PILImage.new("RGB", (2048, 1536), (150, 60, 30)).save(buffer, "JPEG", quality=90)
    jpeg = buffer.getvalue()
    targets = orders[args.gradings: args.gradings + args.images]
    report(f"image_attach ({len(jpeg) // 1024} KiB JPEG)",
           timed(lambda o: image_attach(order=o, file=SimpleUploadedFile("e.jpg", jpeg), laterality="OD"), targets))


if __name__ == "__main__":
    main()
