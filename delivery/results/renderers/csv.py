"""One CSV export row (Resultsgeneration.md, "CSV Field Descriptions"), with its header."""
from ..csv_export import csv_document

MEDIA_TYPE = "text/csv; charset=utf-8"
EXTENSION = "csv"


def render(context) -> bytes:
    order = context.order
    source = order.source if order is not None else ""
    return csv_document([(context.order_result, source)]).encode("utf-8")
