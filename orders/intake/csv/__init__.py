"""CSV/XLSX bulk order import (SPEC 4.2): read files as tables (reader), map columns to
OrderRequest fields (fields, mapping), run import jobs through the batch order service (job),
report row errors (report), and watch each organization's drop folder (dropfolder)."""
