"""Grader workspace pages: the queue (R9: licensed states, human types, oldest first), claim,
the form, and 404 for everything a grader may not see."""
import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from grading.models import Grading
from iris_portal.models import AuditEvent
from orders.models import OrderStatus
from tests.factories import UserFactory

from .conftest import make_grader, make_ready_order

pytestmark = pytest.mark.django_db


def post_grading(client, order, **fields):
    data = {"OD-status": "gradable", "OD-dx-0": "None", "OD-dx-1": "None",
            "OS-status": "gradable", "OS-dx-0": "Mild", "OS-dx-1": "None", "notes": "ok"}
    data.update(fields)
    return client.post(reverse("grading:order", args=[order.pk]), data)


def test_queue_shows_licensed_human_orders_oldest_first(client, grader, site):
    older = make_ready_order(site, local_id="OLD")
    older.serviced_at = timezone.now() - dt.timedelta(days=2)
    older.save()
    newer = make_ready_order(site, local_id="NEW")
    make_ready_order(site, local_id="TEXAS", state="TX")
    make_ready_order(site, local_id="AI", types=("DR_REFNOREF",))
    waiting = make_ready_order(site, local_id="WAIT")
    waiting.status = OrderStatus.AWAITING_IMAGES
    waiting.save()
    client.force_login(grader)
    page = client.get(reverse("grading:queue")).content.decode()
    assert page.index('data-order="OLD"') < page.index('data-order="NEW"')
    for hidden in ("TEXAS", "AI", "WAIT"):
        assert f'data-order="{hidden}"' not in page
    assert newer.local_id in page


def test_unlicensed_grader_cannot_see_or_grade_the_order(client, host, order):
    client.force_login(make_grader(host, "TX"))
    assert f'data-order="{order.local_id}"' not in client.get(reverse("grading:queue")).content.decode()
    assert client.get(reverse("grading:order", args=[order.pk])).status_code == 404
    assert client.post(reverse("grading:claim", args=[order.pk])).status_code == 404
    assert post_grading(client, order).status_code == 404
    assert not Grading.objects.exists()


def test_ai_orders_are_404_for_human_graders(client, grader, site):
    ai_order = make_ready_order(site, types=("AI_Eyenuk_O1",))
    client.force_login(grader)
    assert client.get(reverse("grading:order", args=[ai_order.pk])).status_code == 404


def test_non_graders_get_404(client, order):
    client.force_login(UserFactory(organization=order.organization))
    assert client.get(reverse("grading:queue")).status_code == 404
    assert client.get(reverse("grading:order", args=[order.pk])).status_code == 404


def test_claim_grade_and_complete(client, grader, order):
    client.force_login(grader)
    assert post_grading(client, order).status_code == 302  # not claimed yet: refused
    assert not Grading.objects.exists()
    response = client.post(reverse("grading:claim", args=[order.pk]))
    assert response["Location"] == reverse("grading:order", args=[order.pk])
    page = client.get(response["Location"]).content.decode()
    assert 'name="OD-dx-0"' in page and "Suspected Glaucoma" in page and "Other (free text)" in page
    assert AuditEvent.objects.filter(object_type="order", object_id=str(order.pk), user=grader).exists()
    response = post_grading(client, order)
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == OrderStatus.COMPLETE
    grading = Grading.objects.get()
    assert grading.icd10_codes == ["E113292"] and grading.notes == "ok"
    page = client.get(reverse("grading:order", args=[order.pk])).content.decode()
    assert "Complete" in page and "E113292" in page


def test_refused_grading_redraws_the_form_with_the_reason(client, grader, order):
    client.force_login(grader)
    client.post(reverse("grading:claim", args=[order.pk]))
    response = post_grading(client, order, **{"OS-status": "ungradable", "OS-ungradable_reason": "",
                                               "OD-suspected": ["Suspected Cataract"]})
    assert response.status_code == 400
    page = response.content.decode()
    assert "OS.UngradableReasons: an ungradable eye takes exactly one reason (got 0)" in page
    assert 'value="Suspected Cataract" checked' in page
    order.refresh_from_db()
    assert order.status == OrderStatus.IN_GRADING


def test_other_grader_cannot_take_a_claimed_order(client, grader, host, order):
    client.force_login(grader)
    client.post(reverse("grading:claim", args=[order.pk]))
    other = make_grader(host, "FL")
    client.force_login(other)
    assert f'data-order="{order.local_id}"' not in client.get(reverse("grading:queue")).content.decode()
    response = client.post(reverse("grading:claim", args=[order.pk]), follow=True)
    assert "claimed by another grader" in response.content.decode()


def test_release_returns_the_order(client, grader, order):
    client.force_login(grader)
    client.post(reverse("grading:claim", args=[order.pk]))
    client.post(reverse("grading:release", args=[order.pk]))
    order.refresh_from_db()
    assert order.status == OrderStatus.READY_FOR_GRADING


def test_staff_reopen(client, host, grader, order):
    client.force_login(grader)
    client.post(reverse("grading:claim", args=[order.pk]))
    post_grading(client, order)
    assert client.post(reverse("grading:reopen", args=[order.pk])).status_code == 404  # graders cannot
    client.force_login(UserFactory(organization=host, is_staff=True, is_clinic_staff=False))
    client.post(reverse("grading:reopen", args=[order.pk]))
    order.refresh_from_db()
    assert order.status == OrderStatus.READY_FOR_GRADING
