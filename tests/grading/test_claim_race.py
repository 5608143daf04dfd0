"""Two graders claiming the same order at the same moment: exactly one wins (real concurrent
transactions; on PostgreSQL the Order row lock and the one-claim-per-order constraint decide)."""
import threading

import pytest
from django.db import connection

from grading.models import OrderClaim
from grading.services import GradingForbidden, order_claim

from .conftest import make_grader, make_ready_order

pytestmark = pytest.mark.django_db(transaction=True)
ROUNDS = 8


def test_two_graders_claiming_at_once_exactly_one_wins(host, site):
    graders = [make_grader(host, "FL"), make_grader(host, "FL")]
    orders = [make_ready_order(site) for _ in range(ROUNDS)]
    for order in orders:
        barrier = threading.Barrier(2)
        outcomes: list = []

        def claim(grader, order=order, barrier=barrier, outcomes=outcomes):
            try:
                barrier.wait(timeout=10)
                outcomes.append(("won", order_claim(order=order, grader=grader).grader_id))
            except GradingForbidden:
                outcomes.append(("lost", grader.pk))
            finally:
                connection.close()

        threads = [threading.Thread(target=claim, args=(grader,)) for grader in graders]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert sorted(kind for kind, _ in outcomes) == ["lost", "won"], outcomes
        winner = next(pk for kind, pk in outcomes if kind == "won")
        assert OrderClaim.objects.get(order=order).grader_id == winner
