"""CSV import throughput and memory: a generated file of N rows (new patient and order each,
17 IRIS intake columns) imported end to end (read, map, validate, write, inbox, row errors) on
PostgreSQL, then imported again (every row a duplicate). Target: >= 10,000 rows/s for 100,000
rows, with peak memory flat from 10,000 to 100,000 rows (issue 5).

    .venv/bin/python bench/csv_import.py [--rows 100000] [--profile] [--phases] [--per-row 2000] [--budget]

``--budget`` runs one more first import (a new file into the same database) with the reading
done in the importing thread, in turn, timed apart: the CPU a row costs in each of the three
parts that must run somewhere (the reader's work: reading, mapping, canonical validation,
what the rules derive from a request alone; the importing thread's rules and writes; PostgreSQL)
and so the most this machine's cores could import if all three ran in parallel without losing
anything, and how fast the importing thread goes when the reader's time is taken out.

``--phases`` times the import's steps (thread CPU time and wall time per row, cyclic-GC pauses):
where the microseconds of a row go, with far less distortion than cProfile.

The database is recreated: BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/iris_csv.
Peak memory is measured in child processes (one per size) with tracemalloc (Python heap) and
getrusage (resident set), so the sizes do not share a process."""
import argparse
import csv
import datetime as dt
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from _setup import django_setup, machine, server_cpu_seconds

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/iris_csv"
HEADER = ["OrderControlCode", "SiteLocalId", "OrderLocalId", "EvaluationType", "OrderScheduledTime",
          "DepartmentId", "CPTCode", "PatientLocalId", "PatientFirstName", "PatientLastName", "PatientDob",
          "PatientBirthGender", "PatientPhone", "OrderingProviderNPI", "OrderingProviderFirstName",
          "OrderingProviderLastName", "HealthPlanMemberId"]


def write_csv(path: Path, rows: int, prefix: str) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        for i in range(rows):
            writer.writerow(["NW", "PC1234" if i % 2 else "TX200", f"{prefix}-{i}", "DR", "3/4/2026 10:30", "EYE",
                             "92229", f"{prefix}P{i}", "Bench", f"Patient{i}", f"{1 + i % 12}/{1 + i % 28}/1960",
                             "F" if i % 2 else "M", "813-555-0100", "1234567893", "Ord", "Ering", f"M{i}"])


def backend_cpu_seconds() -> float:
    """CPU time used so far by the PostgreSQL server (all its processes: the import may use two
    connections, and the WAL writer and checkpointer work for it too; same machine: /proc)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    return server_cpu_seconds(pid)


def import_file(path: Path):
    """Import the file as the command does; returns (job, wall seconds, Python CPU, PostgreSQL CPU)."""
    from django.core.files import File

    from orders.intake.csv.job import import_job_create, import_job_run
    from orders.models import ImportSource
    from organizations.models import Organization

    org = Organization.objects.get(name="Demo Health")
    with path.open("rb") as fh:
        job = import_job_create(organization=org, content=File(fh, name=path.name), name=path.name,
                                source=ImportSource.COMMAND)
    checkpoint()
    pg_before, cpu_before, started = backend_cpu_seconds(), time.process_time(), time.perf_counter()
    job = import_job_run(job.pk)
    wall = time.perf_counter() - started
    python_cpu = time.process_time() - cpu_before
    checkpoint()  # the buffers this import dirtied are written now, and counted as its work
    return job, wall, python_cpu, backend_cpu_seconds() - pg_before


def checkpoint() -> None:
    """CHECKPOINT: PostgreSQL writes every dirty buffer (the checkpointer's CPU then belongs to
    the import that dirtied them, not to whatever runs next)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("CHECKPOINT")


def child(rows: int) -> None:
    """Import N rows in this (fresh) process and print peak memory as JSON."""
    django_setup(os.environ["BENCH_DATABASE_URL"], fresh=False)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"mem-{rows}.csv"
        write_csv(path, rows, prefix=f"MEM{rows}-{time.time_ns()}")
        tracemalloc.start()
        job, elapsed, _, _ = import_file(path)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    print(json.dumps({"rows": rows, "status": job.status, "created": job.created_count, "seconds": elapsed,
                      "tracemalloc_peak_mib": peak / 2**20,
                      "maxrss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


class Phases:
    """Wall and thread-CPU time spent in the import's main steps (wrapped by name; nested steps
    are counted in their parents too), and in cyclic garbage collections."""

    STEPS = (("orders.intake.csv.mapping", "FilePlan.request", "map a row to an OrderRequest dict"),
             ("orders.services.order_batch", "OrderBatch.prepare", "canonical parsing (parse_order_request)"),
             ("orders.services.order_batch", "OrderBatch._apply", "rules and writes of a run (incl. the next four)"),
             ("orders.services.order_batch", "_State.load", "  load the run's patients, orders, open exams"),
             ("orders.services.order_batch", "OrderBatch._write", "  writes: patients, orders, exams, events"),
             ("orders.services.order_batch", "rows_insert", "    COPY of patients, orders, exams"),
             ("orders.services.order_batch", "events_record", "    events: OrderEvent rows (incl. their COPY)"),
             ("orders.services.order_batch", "values_insert", "      COPY of the events"),
             ("orders.intake.csv.job", "inbound_store", "raw chunk into the inbox (R11)"),
             ("django.db.backends.base.base", "BaseDatabaseWrapper._commit", "COMMIT (deferred FK checks, WAL flush)"))

    def __init__(self):
        import collections
        import gc
        import importlib

        self.wall, self.cpu, self.calls = collections.Counter(), collections.Counter(), collections.Counter()
        for module_name, path, label in self.STEPS:
            owner = importlib.import_module(module_name)
            *outer, name = path.split(".")
            for part in outer:
                owner = getattr(owner, part)
            real = owner.__dict__[name] if isinstance(owner, type) else getattr(owner, name)
            kind = type(real) if isinstance(real, staticmethod | classmethod) else None
            timed = self._wrap(real.__func__ if kind else real, label)
            setattr(owner, name, kind(timed) if kind else timed)
        self._gc_started = 0.0
        gc.callbacks.append(self._gc)

    def _wrap(self, function, label):
        def timed(*args, **kwargs):
            wall, cpu = time.perf_counter(), time.thread_time()
            try:
                return function(*args, **kwargs)
            finally:
                self.wall[label] += time.perf_counter() - wall
                self.cpu[label] += time.thread_time() - cpu
                self.calls[label] += 1
        return timed

    def _gc(self, phase, info):
        if phase == "start":
            self._gc_started = time.perf_counter()
        else:
            self.wall["cyclic GC pauses"] += time.perf_counter() - self._gc_started
            self.calls["cyclic GC pauses"] += 1

    def report(self, rows: int) -> None:
        print(f"  {'step':52s} {'CPU us/row':>10s} {'wall us/row':>11s}")
        for _, _, label in self.STEPS:
            print(f"  {label:52s} {self.cpu[label] / rows * 1e6:10.1f} {self.wall[label] / rows * 1e6:11.1f}")
        print(f"  {'cyclic GC pauses (' + str(self.calls['cyclic GC pauses']) + ')':52s} {'':10s} "
              f"{self.wall['cyclic GC pauses'] / rows * 1e6:11.1f}")
        for counter in (self.wall, self.cpu, self.calls):
            counter.clear()


class _TimedReader:
    """Stands in for AheadWhileWaiting (``--budget``): the chunks are produced in the importing
    thread when asked for, and the time that takes (thread CPU, wall) is kept apart."""

    cpu = wall = 0.0

    def __init__(self, produce, *, connections=(), depth=1):
        self._items = iter(produce(lambda: None))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        close = getattr(self._items, "close", None)
        if close is not None:
            close()

    def __iter__(self):
        return self

    def __next__(self):
        wall, cpu = time.perf_counter(), time.thread_time()
        try:
            return next(self._items)
        finally:
            _TimedReader.wall += time.perf_counter() - wall
            _TimedReader.cpu += time.thread_time() - cpu

    def discard(self, objects):
        pass  # dropped by the caller (freeing is counted as the importer's)


def budget(rows: int, tmp: Path) -> None:
    """The CPU budget of a row (see the module docstring, ``--budget``)."""
    from orders.intake.csv import job as job_module

    path = tmp / "budget.csv"
    write_csv(path, rows, prefix="BUDGET")
    _TimedReader.cpu = _TimedReader.wall = 0.0
    threaded = job_module.AheadWhileWaiting
    job_module.AheadWhileWaiting = _TimedReader
    try:
        job, wall, python_cpu, pg_cpu = import_file(path)
    finally:
        job_module.AheadWhileWaiting = threaded
    assert job.created_count == rows, job.created_count
    reader, importer, pg = _TimedReader.cpu / rows * 1e6, (python_cpu - _TimedReader.cpu) / rows * 1e6, pg_cpu / rows * 1e6
    total, cores = reader + importer + pg, os.cpu_count()
    print(f"budget, a first import of {rows} new rows with the reading in turn ({rows / wall:,.0f} rows/s), CPU a row:")
    print(f"  reader: read, map, validate (canonical OrderRequest), derive   {reader:6.0f} us")
    print(f"  importing thread: rules, writes (Python)                      {importer:6.0f} us")
    print(f"  PostgreSQL (every backend, WAL writer, checkpointer)          {pg:6.0f} us")
    print(f"  sum {total:.0f} us -> at most {cores / total * 1e6:,.0f} rows/s on {cores} cores even if all three ran "
          f"in parallel and lost nothing (10,000 rows/s needs a sum <= {cores / 10_000 * 1e6:.0f} us)")
    print(f"  the importing thread alone (the reader's {_TimedReader.wall:.1f} s taken out): "
          f"{rows / (wall - _TimedReader.wall):,.0f} rows/s")


def calibration_us() -> float:
    """Microseconds to parse one fixed row's OrderRequest (best of 3 x 2,000): the same Python
    work on a busy and an idle machine, to tell how much the figures above are slowed by
    other processes (an idle run of this machine gave ~45 us)."""
    from orders.canonical import parse_order_request
    from orders.intake.csv.mapping import plan_build

    plan = plan_build(HEADER, client_guid="63e3c9ef-66ac-4154-b0c2-494515eb99a7")
    body = plan.request(["NW", "PC1234", "O-1", "DR", "3/4/2026 10:30", "EYE", "92229", "P1", "Bench", "Patient",
                         "1/2/1960", "F", "813-555-0100", "1234567893", "Ord", "Ering", "M1"])
    best = float("inf")
    for _ in range(3):
        started = time.process_time()
        for _ in range(2000):
            parse_order_request(body)
        best = min(best, time.process_time() - started)
    return best / 2000 * 1e6


def per_row(count: int) -> float:
    """The same rows one by one through order_request_process, for comparison."""
    from orders.intake.csv.mapping import plan_build
    from orders.services.order_request import order_request_process
    from organizations.models import Organization

    org = Organization.objects.get(name="Demo Health")
    plan = plan_build(HEADER, client_guid=str(org.client_guid))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "per-row.csv"
        write_csv(path, count, prefix="ONE")
        with path.open(newline="") as fh:
            bodies = [plan.request(cells) for cells in list(csv.reader(fh))[1:]]
    started = time.perf_counter()
    for body in bodies:
        order_request_process(body=body, channel="csv", organization=org)
    return count / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--profile", action="store_true", help="cProfile the first import, print the top functions")
    parser.add_argument("--phases", action="store_true", help="time the import's steps (CPU and wall per row)")
    parser.add_argument("--per-row", type=int, default=2000, help="rows for the one-by-one comparison (0: skip)")
    parser.add_argument("--memory-sizes", default="10000,100000", help="row counts for the memory runs ('': skip)")
    parser.add_argument("--budget", action="store_true", help="the CPU a row costs in each part, and the ceiling")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    os.environ.setdefault("BENCH_DATABASE_URL", DEFAULT_URL)
    load_before = os.getloadavg()
    url = django_setup(os.environ["BENCH_DATABASE_URL"])
    print(f"calibration: one OrderRequest parse = {calibration_us():.0f} us")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "orders.csv"
        t0 = time.perf_counter()
        write_csv(path, args.rows, prefix="BENCH")
        print(f"generated {args.rows} rows ({path.stat().st_size / 2**20:.1f} MiB) in {time.perf_counter() - t0:.1f} s")
        phases = Phases() if args.phases else None
        profiler = None
        if args.profile:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        for label in ("first import", "same file again"):
            job, wall, python_cpu, pg_cpu = import_file(path)
            if profiler:
                import pstats

                profiler.disable()
                pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
                profiler = None
            print(f"{label}: {job.status} created={job.created_count} updated={job.updated_count} "
                  f"failed={job.failed_rows} in {wall:.1f} s -> {args.rows / wall:,.0f} rows/s; CPU per row: "
                  f"Python {python_cpu / args.rows * 1e6:.0f} us + PostgreSQL {pg_cpu / args.rows * 1e6:.0f} us "
                  f"(-> {args.rows / (python_cpu + pg_cpu):,.0f} rows/s if only CPU time counted)")
            if phases:
                phases.report(args.rows)
        if args.budget:
            budget(args.rows, Path(tmp))
    if args.per_row:
        from django.db import connection

        with connection.cursor() as cursor:  # this server runs without autovacuum: give the planner statistics
            cursor.execute("ANALYZE")
        print(f"one by one through order_request_process ({args.per_row} rows): {per_row(args.per_row):,.0f} rows/s")
    for size in filter(None, args.memory_sizes.split(",")):
        out = subprocess.run([sys.executable, __file__, "--child", size], capture_output=True, text=True, check=True,
                             env={**os.environ, "LOG_LEVEL": "WARNING"})
        result = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"memory, {result['rows']:>7} rows: tracemalloc peak {result['tracemalloc_peak_mib']:.1f} MiB, "
              f"max RSS {result['maxrss_mib']:.0f} MiB ({result['seconds']:.1f} s under tracemalloc)")
    print(f"date: {dt.date.today()}  machine: {machine()}  database: {url.rsplit('@', 1)[-1]}  "
          f"load average before/after: {load_before} / {os.getloadavg()}")


if __name__ == "__main__":
    main()
