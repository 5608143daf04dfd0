"""Attaching images (web upload, CLI): content validation, size limit, R10, AddedLate; serving
them only to the order's organization and to graders licensed for the order (R1, R9)."""
import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from PIL import Image as PILImage

from iris_portal.models import AuditEvent
from orders.models import Image, OrderEvent, OrderStatus
from orders.services.images import image_attach
from tests.factories import OrderFactory, SiteFactory, UserFactory
from tests.grading.conftest import make_grader

pytestmark = pytest.mark.django_db


def picture(kind: str = "JPEG", size=(32, 24), color=(180, 40, 20)) -> bytes:
    buffer = io.BytesIO()
    PILImage.new("RGB", size, color).save(buffer, kind)
    return buffer.getvalue()


def upload(kind="JPEG", name=None) -> SimpleUploadedFile:
    ext = {"JPEG": "jpg", "PNG": "png", "GIF": "gif"}[kind]
    return SimpleUploadedFile(name or f"eye.{ext}", picture(kind), content_type=f"image/{ext}")


@pytest.fixture
def order(db):
    return OrderFactory(site=SiteFactory(state="FL"))


def test_both_eyes_make_the_order_ready(order):
    first = image_attach(order=order, file=upload("JPEG"), laterality="OD", image_context="Primary", local_id="img-1")
    assert first.success and [e["ResultObjectType"] for e in first.events] == ["ImageReceipt"]
    assert first.events[0]["IrisImageId"] == first.image.pk and first.events[0]["ImageLocalId"] == "img-1"
    second = image_attach(order=order, file=upload("PNG"), laterality="os")
    assert [e["ResultObjectType"] for e in second.events] == ["ImageReceipt", "ReadyForGradingEvent"]
    order.refresh_from_db()
    assert order.status == OrderStatus.READY_FOR_GRADING and order.serviced_at is not None
    stored = Image.objects.get(pk=second.image.pk)
    assert stored.content_type == "image/png" and stored.file.name.endswith(".png")
    assert stored.file.name.startswith(f"images/{order.organization_id}/{order.pk}/")
    assert OrderEvent.objects.filter(order=order, event_type="ImageReceipt").count() == 2


def test_a_secondary_image_does_not_count_for_r10(order):
    image_attach(order=order, file=upload(), laterality="OD")
    image_attach(order=order, file=upload(), laterality="OS", image_context="SecondaryViewField")
    order.refresh_from_db()
    assert order.status == OrderStatus.AWAITING_IMAGES


@pytest.mark.parametrize("content,name,reason", [
    (b"%PDF-1.4 not an image", "eye.jpg", "file: not a readable JPEG or PNG image"),
    (b"", "eye.jpg", "file: the file is empty"),
    (None, "eye.gif", "file: GIF images are not accepted (JPEG or PNG only)"),
])
def test_content_is_checked_not_the_name(order, content, name, reason):
    data = picture("GIF") if content is None else content
    outcome = image_attach(order=order, file=SimpleUploadedFile(name, data), laterality="OD")
    assert not outcome.success and outcome.error == reason
    assert outcome.events[0]["Success"] is False and outcome.events[0]["ErrorMessage"] == reason
    assert not Image.objects.exists()
    assert OrderEvent.objects.get(order=order).success is False


def test_size_limit(order, settings):
    settings.IRIS_IMAGE_MAX_BYTES = 100
    outcome = image_attach(order=order, file=upload(), laterality="OD")
    assert not outcome.success and "more than the limit of 100" in outcome.error


def test_bad_laterality_and_context(order):
    assert "laterality" in image_attach(order=order, file=upload(), laterality="XX").error
    assert "image_context" in image_attach(order=order, file=upload(), laterality="OD", image_context="Nope").error


def test_images_after_grading_are_added_late(order):
    order.status = OrderStatus.COMPLETE
    order.save()
    outcome = image_attach(order=order, file=upload(), laterality="OD", image_context="Primary")
    assert outcome.success and outcome.image.image_context == "AddedLate"


def test_cancelled_orders_take_no_images(order):
    order.status = OrderStatus.CANCELLED
    order.save()
    assert "is cancelled" in image_attach(order=order, file=upload(), laterality="OD").error


# manage.py attach_image ------------------------------------------------------------------------


def test_attach_image_command(order, tmp_path, capsys):
    path = tmp_path / "right.jpg"
    path.write_bytes(picture())
    call_command("attach_image", "--client-guid", str(order.organization.client_guid), "--order", order.local_id,
                 "--laterality", "OD", str(path))
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines[0]["ResultObjectType"] == "ImageReceipt" and lines[0]["Success"] is True
    bad = tmp_path / "notes.png"
    bad.write_text("hello")
    with pytest.raises(SystemExit) as info:
        call_command("attach_image", "--client-guid", str(order.organization.client_guid), "--order", order.local_id,
                     "--laterality", "OS", str(bad))
    assert info.value.code == 1
    out = capsys.readouterr()
    assert json.loads(out.out.splitlines()[0])["Success"] is False and "not a readable JPEG or PNG" in out.err
    with pytest.raises(SystemExit):
        call_command("attach_image", "--client-guid", str(order.organization.client_guid), "--order", "missing",
                     "--laterality", "OS", str(path))
    assert "--order: no order 'missing'" in capsys.readouterr().err


# Serving and uploading ------------------------------------------------------------------------


@pytest.fixture
def image(order):
    return image_attach(order=order, file=upload(), laterality="OD").image


def test_org_user_sees_the_image_and_it_is_audited(client, order, image):
    client.force_login(UserFactory(organization=order.organization))
    response = client.get(reverse("orders:image-file", args=[image.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert b"".join(response.streaming_content)[:2] == b"\xff\xd8"
    assert AuditEvent.objects.filter(object_type="image", object_id=str(image.pk), action="view").exists()


def test_other_organization_gets_404(client, image):
    client.force_login(UserFactory())  # a user of another organization
    assert client.get(reverse("orders:image-file", args=[image.pk])).status_code == 404


def test_site_limited_user_of_another_site_gets_404(client, order, image):
    user = UserFactory(organization=order.organization)
    user.sites.add(SiteFactory(organization=order.organization))
    client.force_login(user)
    assert client.get(reverse("orders:image-file", args=[image.pk])).status_code == 404


def test_anonymous_is_sent_to_login(client, image):
    response = client.get(reverse("orders:image-file", args=[image.pk]))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_graders_see_images_only_in_their_licensed_states(client, image):
    from tests.factories import HostOrganizationFactory

    host = HostOrganizationFactory()
    client.force_login(make_grader(host, "FL"))
    assert client.get(reverse("orders:image-file", args=[image.pk])).status_code == 200
    client.force_login(make_grader(host, "TX"))
    assert client.get(reverse("orders:image-file", args=[image.pk])).status_code == 404


def test_upload_several_files_with_eye_and_context_each(client, order):
    client.force_login(UserFactory(organization=order.organization))
    url = reverse("orders:image-upload", args=[order.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, {"file": [upload("JPEG", "r.jpg"), upload("PNG", "l.png")],
                                 "laterality": ["OD", "OS"], "image_context": ["Primary", "Primary"]},
                           HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    assert [r["success"] for r in response.json()["results"]] == [True, True]
    order.refresh_from_db()
    assert order.status == OrderStatus.READY_FOR_GRADING
    assert sorted(order.images.values_list("laterality", flat=True)) == ["OD", "OS"]


def test_upload_reports_a_bad_file_by_name(client, order):
    client.force_login(UserFactory(organization=order.organization))
    url = reverse("orders:image-upload", args=[order.pk])
    response = client.post(url, {"file": [SimpleUploadedFile("x.jpg", b"nope")], "laterality": ["OD"]})
    assert response.status_code == 302
    page = client.get(response["Location"])
    assert "x.jpg: file: not a readable JPEG or PNG image" in page.content.decode()


def test_upload_is_404_for_another_organization_and_for_graders(client, order):
    url = reverse("orders:image-upload", args=[order.pk])
    client.force_login(UserFactory())
    assert client.get(url).status_code == 404
    from tests.factories import HostOrganizationFactory

    client.force_login(make_grader(HostOrganizationFactory(), "FL"))
    assert client.post(url, {"file": [upload()], "laterality": ["OD"]}).status_code == 404
