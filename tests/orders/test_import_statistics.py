"""Planner statistics during a bulk import: the tables are analysed as the import doubles them
(on PostgreSQL; SQLite has no such planner problem and is left alone)."""
import pytest
from django.db import connection

from orders.services import table_statistics
from orders.services.table_statistics import GrowthAnalyzer

from .import_support import csv_bytes, row, run_import

pytestmark = pytest.mark.django_db


def reltuples(table: str) -> float:
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = %s", [table])
        return cursor.fetchone()[0]


def test_the_tables_are_analysed_each_time_the_import_has_doubled_them(demo, monkeypatch, settings):
    settings.IRIS_IMPORT_CHUNK_ROWS = 2
    monkeypatch.setattr(table_statistics, "FIRST_ANALYSIS_ROWS", 3)
    analysed = []
    original = GrowthAnalyzer.rows_written

    def counting(self, count):
        did = original(self, count)
        analysed.append(did)
        return did

    monkeypatch.setattr(GrowthAnalyzer, "rows_written", counting)
    job, _ = run_import(demo, csv_bytes([row(f"ORD-{i}", f"MRN-{i}") for i in range(10)]))
    assert job.created_count == 10 and len(analysed) == 5  # five chunks of two rows
    if connection.vendor != "postgresql":
        assert not any(analysed)
        return
    # 3 rows first (after the 2nd chunk: 4 rows), then as many as the tables held (4: after the
    # 4th chunk, 8 rows); the 5th chunk (10 rows) has not doubled 8.
    assert analysed == [False, True, False, True, False]
    assert reltuples("orders_order") == 8 and reltuples("patients_patient") == 8


def test_the_analysis_covers_the_columns_the_lookups_join_and_filter_on(demo, settings, monkeypatch):
    """Primary keys and status included: without their statistics the planner hash-joined the
    open-order lookup over every order of the organization (50 ms a chunk at 100,000 orders)."""
    if connection.vendor != "postgresql":
        pytest.fail("this test needs PostgreSQL (the suite runs on it)")
    settings.IRIS_IMPORT_CHUNK_ROWS = 2
    monkeypatch.setattr(table_statistics, "FIRST_ANALYSIS_ROWS", 3)
    # pg_class's row counts survive a test's rollback (ANALYZE writes them in place): start afresh
    monkeypatch.setattr(GrowthAnalyzer, "_rows_known", staticmethod(lambda: 0))
    run_import(demo, csv_bytes([row(f"ORD-{i}", f"MRN-{i}") for i in range(6)]))
    with connection.cursor() as cursor:
        cursor.execute("SELECT tablename, attname FROM pg_stats WHERE tablename IN "
                       "('orders_order', 'orders_orderexam', 'patients_patient')")
        analysed = set(cursor.fetchall())
    assert {("orders_order", "id"), ("orders_order", "status"), ("orders_order", "local_id"),
            ("orders_order", "organization_id"), ("orders_orderexam", "id"), ("orders_orderexam", "order_id"),
            ("orders_orderexam", "patient_id"), ("patients_patient", "id"), ("patients_patient", "site_id"),
            ("patients_patient", "local_id")} <= analysed
