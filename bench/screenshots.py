"""Screenshots of the portal's main pages into docs/screenshots/ (PNG), taken in Debian's
Chromium against a throw-away SQLite database filled with the demo data and sample orders.

    .venv/bin/python bench/screenshots.py [--out docs/screenshots]
"""
import argparse
import datetime as dt
import io
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]
TOTP_KEY = "3132333435363738393031323334353637383930"  # orgadmin's authenticator (RFC 6238 test key)
FIRST = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "John", "Radia", "Ken", "Margaret", "Tim"]
LAST = ["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Backus", "Perlman", "Thompson",
        "Hamilton", "Berners-Lee"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def jpeg(color) -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (640, 480), (15, 10, 10))
    ImageDraw.Draw(image).ellipse((80, 20, 560, 460), fill=color)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG")
    return buffer.getvalue()


def seed(env: dict) -> None:
    """Demo data, ~60 orders over eight weeks through the order service, images, a TOTP device."""
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.core.management import call_command
    from django.utils import timezone
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from orders.models import Order, OrderExam, OrderStatus
    from orders.services.images import image_attach
    from orders.services.order_request import order_request_process
    from organizations.demo import DEMO_CLIENT_GUID, seed_demo
    from organizations.models import Department, Device, Site, User

    call_command("migrate", verbosity=0)
    seed_demo()
    now = timezone.now()
    statuses = [OrderStatus.COMPLETE] * 5 + [OrderStatus.AWAITING_IMAGES, OrderStatus.READY_FOR_GRADING,
                                              OrderStatus.IN_GRADING, OrderStatus.CANCELLED]
    for index in range(60):
        site = "PC1234" if index % 3 else "TX200"
        outcome = order_request_process(channel="web", sender="clinic", body={
            "Version": "2.3.1", "OrderControlCode": "NW", "ClientGuid": str(DEMO_CLIENT_GUID),
            "UserNameSubmitting": "clinic", "Site": {"LocalId": site},
            "Order": {"LocalId": f"DH-{1000 + index}", "EvaluationTypes": ["DR"] if index % 4 else ["DR", "Glaucoma"],
                      "CPTCode": "92229", "Urgent": index % 17 == 0},
            "Patient": {"LocalId": f"MRN{5000 + index}",
                        "Name": {"First": FIRST[index % len(FIRST)], "Last": LAST[index % len(LAST)]},
                        "Dob": f"19{40 + index % 50}-0{1 + index % 9}-1{index % 9}", "Phone": "555-0100",
                        "Genders": [{"Context": "BirthGender", "Gender": "F" if index % 2 else "M"}]},
            "OrderingProvider": {"NPI": "1234567893", "Name": {"First": "Grace", "Last": "Reader"}},
        }, source="web" if index % 5 else ("hl7" if index % 2 else "csv"))
        order = outcome.order
        created = now - dt.timedelta(days=index * 56 / 60, hours=index % 7)
        status = statuses[index % len(statuses)] if index > 2 else OrderStatus.AWAITING_IMAGES
        graded = created + dt.timedelta(hours=6 + (index * 7) % 60) if status == OrderStatus.COMPLETE else None
        Order.objects.filter(pk=order.pk).update(created_at=created, status=status, graded_at=graded)
        if status in (OrderStatus.COMPLETE, OrderStatus.CANCELLED):
            OrderExam.objects.filter(order=order).update(is_open=False)
    showcase = Order.objects.get(local_id="DH-1000")
    for side, color in (("OD", (200, 90, 40)), ("OS", (185, 80, 50))):
        image_attach(order=showcase, file=SimpleUploadedFile(f"{side}.jpg", jpeg(color), "image/jpeg"), laterality=side)
    site = Site.objects.get(local_id="PC1234")
    Department.objects.get_or_create(site=site, local_id="OPH", defaults={"name": "Ophthalmology"})
    Device.objects.get_or_create(site=site, local_id="CAM-1", defaults={"manufacturer": "Topcon", "model": "TRC-NW400",
                                                                        "serial_number": "SN-0042"})
    admin = User.objects.get(username="orgadmin")
    TOTPDevice.objects.get_or_create(user=admin, name="Authenticator app", defaults={"key": TOTP_KEY, "confirmed": True})


def wait_for(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except Exception:  # noqa: BLE001 - not up yet
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def shoot(base: str, out: Path) -> list[Path]:
    from binascii import unhexlify

    from django_otp.oath import TOTP
    from playwright.sync_api import sync_playwright

    saved = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)

        def session(username: str, width: int):
            page = browser.new_context(viewport={"width": width, "height": 900}).new_page()
            page.goto(f"{base}/accounts/login/")
            page.fill("input[name=username]", username)
            page.fill("input[name=password]", "iris-demo-2026")
            page.click("button[type=submit]")
            if "two-factor" in page.url:
                page.fill("#id_token", f"{TOTP(unhexlify(TOTP_KEY)).token():06d}")
                page.click("button:has-text('Verify')")
            page.wait_for_load_state("networkidle")
            return page

        def capture(page, path: str, name: str):
            page.goto(base + path)
            page.wait_for_load_state("networkidle")
            target = out / f"{name}.png"
            page.screenshot(path=str(target), full_page=True)
            saved.append(target)

        clinic = session("clinic", 1280)
        capture(clinic, "/", "dashboard")
        capture(clinic, "/orders/", "order-list")
        order_id = clinic.locator("a:text-is('DH-1000')").first.get_attribute("href")
        capture(clinic, order_id, "order-detail")
        patient = clinic.locator("[data-patient-link]").get_attribute("href")
        capture(clinic, patient, "patient-detail")
        capture(clinic, "/orders/add/", "order-new")
        tablet = session("clinic", 820)
        capture(tablet, "/", "dashboard-tablet")
        admin = session("orgadmin", 1280)
        capture(admin, "/org/users/", "org-admin-users")
        capture(admin, "/org/sites/", "org-admin-sites")
        site = admin.locator("a:text-is('PC1234')").first.get_attribute("href")
        capture(admin, site, "org-admin-site-detail")
        capture(admin, "/org/audit/", "org-admin-audit-log")
        browser.close()
    return saved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        env = {"DATABASE_URL": f"sqlite:///{tmp}/screens.sqlite3", "MEDIA_ROOT": f"{tmp}/media", "DEBUG": "1",
               "DJANGO_SETTINGS_MODULE": "iris_portal.settings", "REDIS_URL": "", "LOG_LEVEL": "WARNING",
               "IRIS_CLOUDDIRECT_REDIS_URL": ""}
        child_env = {**os.environ, **env}
        seed_in_child(child_env)
        port = free_port()
        server = subprocess.Popen([sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
                                  env=child_env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            base = f"http://127.0.0.1:{port}"
            wait_for(base + "/accounts/login/")
            for path in shoot(base, out):
                print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
        finally:
            server.terminate()
            server.wait(timeout=30)


def seed_in_child(env: dict) -> None:
    """Seed in a separate process so this one never holds Django settings for the server's DB."""
    code = f"import sys; sys.path.insert(0, {str(ROOT / 'bench')!r}); import screenshots; screenshots.seed({{}})"
    subprocess.run([sys.executable, "-c", code], env=env, check=True, cwd=ROOT)


if __name__ == "__main__":
    main()
