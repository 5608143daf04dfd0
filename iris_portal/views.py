from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from orders.models import OrderStatus
from orders.selectors import order_list, order_status_counts

from .audit import audit_record


@login_required
def home(request):
    """The signed-in start page: the organization's latest orders and counts by status."""
    orders = list(order_list(user=request.user)[:25])
    counts = order_status_counts(user=request.user)
    audit_record(request=request, action="list", object_type="order")
    return render(request, "home.html", {
        "orders": orders,
        "status_counts": [(status, label, counts.get(status, 0)) for status, label in OrderStatus.choices],
    })
