"""one_cpu: the calling thread (and the threads it starts) stay on the CPU it is on, and get
their own set back afterwards; an import runs inside it."""
import os
import threading

import pytest

from iris_portal.cpu_affinity import _current_cpu, one_cpu
from orders.intake.csv.job import import_job_create, import_job_steps
from orders.models import ImportSource, ImportStatus

from ..orders.import_support import csv_bytes, row

pytestmark = pytest.mark.skipif(not hasattr(os, "sched_getaffinity") or len(os.sched_getaffinity(0)) < 2,
                                reason="needs per-thread CPU affinity and two CPUs")


def _in_thread(function):
    """Run ``function`` in a new thread (its affinity is inherited from the caller's); its result."""
    result = []
    thread = threading.Thread(target=lambda: result.append(function()))
    thread.start()
    thread.join()
    return result[0]


def test_the_thread_and_the_threads_it_starts_stay_on_one_cpu_then_get_their_set_back():
    allowed = os.sched_getaffinity(0)
    with one_cpu():
        inside = os.sched_getaffinity(0)
        started = _in_thread(lambda: os.sched_getaffinity(0))
        assert _current_cpu() in inside
    assert len(inside) == 1 and inside <= allowed
    assert started == inside
    assert os.sched_getaffinity(0) == allowed
    assert _in_thread(lambda: os.sched_getaffinity(0)) == allowed


def test_restored_when_the_block_raises():
    allowed, inside = os.sched_getaffinity(0), []
    with pytest.raises(ZeroDivisionError), one_cpu():
        inside.append(os.sched_getaffinity(0))
        1 / 0
    assert len(inside[0]) == 1  # it was pinned, and is no longer
    assert os.sched_getaffinity(0) == allowed


def test_switched_off_or_one_cpu_allowed_changes_nothing(settings):
    allowed = os.sched_getaffinity(0)
    settings.IRIS_PIN_IMPORT_CPU = False
    with one_cpu():
        assert os.sched_getaffinity(0) == allowed
    settings.IRIS_PIN_IMPORT_CPU = True

    def only_the_last():
        last = {max(allowed)}
        os.sched_setaffinity(0, last)  # this thread's own set: one CPU
        with one_cpu():
            inside = os.sched_getaffinity(0)
        return inside, os.sched_getaffinity(0), last

    inside, after, last = _in_thread(only_the_last)
    assert inside == after == last
    assert os.sched_getaffinity(0) == allowed  # the other thread's change was its own


@pytest.mark.django_db
def test_an_import_runs_on_one_cpu_and_gives_the_thread_its_set_back(demo, settings):
    settings.IRIS_IMPORT_CHUNK_ROWS = 2
    allowed = os.sched_getaffinity(0)
    rows = [row(f"O{i}", f"M{i}") for i in range(5)]
    job = import_job_create(organization=demo, content=csv_bytes(rows), name="o.csv", source=ImportSource.COMMAND)
    during = []
    for job in import_job_steps(job.pk):
        if job.status == ImportStatus.RUNNING and job.done_rows:  # between chunks, inside the import's block
            during.append(os.sched_getaffinity(0))
    assert job.status == ImportStatus.DONE and job.created_count == 5
    assert during and all(len(cpus) == 1 and cpus <= allowed for cpus in during)
    assert os.sched_getaffinity(0) == allowed
