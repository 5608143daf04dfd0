"""Instances loaded without ``Model.__init__`` (iris_portal.fast_models) equal Django's own."""
import pytest
from django.apps import apps
from django.db import models
from django.db.models.signals import post_init

from iris_portal.fast_models import FastLoadModel, instance_from_db
from orders.models import Order
from tests.factories import OrderFactory

pytestmark = pytest.mark.django_db

FAST = [model for model in apps.get_models() if issubclass(model, FastLoadModel)]


def djangos(model, names, values):
    return models.Model.from_db.__func__(model, "default", names, values)


def same(a, b) -> bool:
    state_a, state_b = a.__dict__.pop("_state"), b.__dict__.pop("_state")
    try:
        return (type(a) is type(b) and a.__dict__ == b.__dict__ and a.get_deferred_fields() == b.get_deferred_fields()
                and (state_a.adding, state_a.db) == (state_b.adding, state_b.db) == (False, "default"))
    finally:
        a._state, b._state = state_a, state_b


def test_the_portals_hot_models_load_fast():
    assert {model.__name__ for model in FAST} >= {"Order", "Patient", "Site", "OrderEvent", "Provider"}


@pytest.mark.parametrize("model", FAST, ids=lambda model: model.__name__)
def test_every_fast_model_loads_what_django_loads(model):
    """All fields, and every other field (the rest deferred), from a real order's rows where
    there is one, else from the fields' defaults."""
    order = OrderFactory()
    row = {Order: order, type(order.patient): order.patient, type(order.site): order.site}.get(model)
    names = [field.attname for field in model._meta.concrete_fields]
    values = ([getattr(row, name) for name in names] if row is not None
              else [field.get_default() for field in model._meta.concrete_fields])
    for chosen in (range(len(names)), range(0, len(names), 2)):
        subset, subset_values = [names[i] for i in chosen], [values[i] for i in chosen]
        fast = model.from_db("default", subset, subset_values)
        assert same(fast, djangos(model, subset, subset_values))


def test_deferred_fields_still_load_on_access(django_assert_num_queries):
    order = OrderFactory(encounter_number="E-1")
    loaded = Order.objects.only("local_id").get(pk=order.pk)
    assert loaded.get_deferred_fields() >= {"encounter_number", "status"}
    with django_assert_num_queries(1):
        assert loaded.encounter_number == "E-1"
    with django_assert_num_queries(2):  # a foreign key too: its id, then the patient (as Django does)
        assert loaded.patient == order.patient


def test_a_model_with_init_receivers_gets_djangos_path():
    seen = []

    def receiver(sender, instance, **kwargs):
        seen.append(instance)

    post_init.connect(receiver, sender=Order)
    try:
        loaded = instance_from_db(Order, "default", ["id", "local_id"], [1, "A"])
    finally:
        post_init.disconnect(receiver, sender=Order)
    assert seen == [loaded] and loaded.local_id == "A"
    assert instance_from_db(Order, "default", ["id"], [2]) not in seen
