"""An ordering provider without an NPI (ORC-12 with a local id, as in the published ORM
examples) is kept: visible on the order's page and in its OrderResult."""
import pytest
from django.urls import reverse

from delivery.results.builder import order_for_results, order_result_build
from iris_portal.hl7_mllp_client import MLLPDecoder, mllp_wrap
from orders.intake.hl7.intake import hl7_frame_receive
from orders.models import Order
from tests.factories import UserFactory

from .hl7_support import fixture_message, hl7_org  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db

NOTE = "Ordering provider (no NPI): Adam Diaz; SERDOTON id a diaz@retinalscreenings.com (ORC-12)"


def test_orm_without_npi_keeps_the_ordering_provider(client, hl7_org):
    frame = MLLPDecoder().feed(mllp_wrap(fixture_message("orm-1.hl7").encode()))[0]
    assert hl7_frame_receive(frame=frame).code == "AA"
    order = Order.objects.get(local_id="Order578914")
    assert order.ordering_provider is None and order.additional_info == NOTE

    client.force_login(UserFactory(organization=hl7_org))
    page = client.get(reverse("orders:detail", args=[order.pk])).content.decode()
    assert "Adam Diaz" in page and "SERDOTON id a diaz@retinalscreenings.com" in page

    result = order_result_build(order=order_for_results(order.pk), grading=None)
    assert result["Order"]["AdditionalInfo"] == NOTE
