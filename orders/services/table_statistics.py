"""Planner statistics for the tables a bulk import grows.

The batch order service looks each chunk's patients, orders and open exams up by key. PostgreSQL
plans those lookups from the tables' statistics, and a table nobody has analysed since it was
small (a new customer's first import; autovacuum off, or not yet round: it analyses at most once
a minute per table) is planned as tiny: the lookups then read every order of the organization
for every chunk, so an import slowed down as it grew (27 ms a chunk at 60,000 orders, measured
with bench/csv_import.py). ``GrowthAnalyzer`` runs ANALYZE whenever the import has doubled what
the tables held at the last analysis, as autovacuum would between two of its rounds.

Only the columns the lookups join and filter on are analysed, primary keys included (and each
table's size, which ANALYZE always updates): the other columns' statistics are autovacuum's
business, and computing them for all of the orders table's ~40 columns cost ~30 us of
PostgreSQL a row of a 100,000-row import. Without the ``id`` and ``status`` statistics the
planner turned the open-order lookups into hash joins over every order of the organization
(50 ms a chunk at 100,000 orders instead of 3: bench/csv_import.py, same file again)."""
from django.db import connection

from patients.models import Patient

from ..models import Order, OrderExam

# The bulk tables and the fields the batch order service looks their rows up by (and joins on).
KEY_FIELDS = {
    Patient: ("id", "organization", "site", "local_id", "floating"),
    Order: ("id", "organization", "local_id", "status"),
    OrderExam: ("id", "order", "patient", "evaluation_type", "is_open"),
}
FIRST_ANALYSIS_ROWS = 1000


class GrowthAnalyzer:
    """Call ``rows_written(n)`` after each committed chunk of n rows."""

    def __init__(self):
        self.enabled = connection.vendor == "postgresql"
        self.written = 0
        self.threshold = max(FIRST_ANALYSIS_ROWS, self._rows_known()) if self.enabled else 0

    def rows_written(self, count: int) -> bool:
        """Analyse the bulk tables when the rows written since the last analysis reach what the
        tables held then; True when it did."""
        if not self.enabled:
            return False
        self.written += count
        if self.written < self.threshold:
            return False
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {_analysed_columns()}")
        self.threshold = max(FIRST_ANALYSIS_ROWS, self._rows_known())
        self.written = 0
        return True

    @staticmethod
    def _rows_known() -> int:
        """The orders table's row count as of its last analysis (0 if never analysed)."""
        with connection.cursor() as cursor:
            cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [Order._meta.db_table])
            row = cursor.fetchone()
        return max(0, int(row[0])) if row else 0


def _analysed_columns() -> str:
    """``table (column, ...), ...`` for ANALYZE."""
    quote = connection.ops.quote_name
    return ", ".join(
        f"{quote(model._meta.db_table)} ({', '.join(quote(model._meta.get_field(name).column) for name in names)})"
        for model, names in KEY_FIELDS.items())
