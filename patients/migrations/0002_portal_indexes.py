"""Prefix indexes for the Order Manager's patient search (issue 9): it looks patients up by the
start of their last name or MRN (``LIKE 'x%'``, several capitalisations); with 50,000 patients
that scanned them all. Btree with ``varchar_pattern_ops`` on PostgreSQL (see orders 0004 for why
not trigram GIN); SQLite skips them."""
from django.db import migrations

from iris_portal.migration_operations import postgresql_indexes

PREFIX_INDEXES = [("patient_last_name_prefix", "patients_patient", "organization_id, last_name varchar_pattern_ops"),
                  ("patient_local_id_prefix", "patients_patient", "organization_id, local_id varchar_pattern_ops")]


class Migration(migrations.Migration):

    dependencies = [
        ("patients", "0001_initial"),
    ]

    operations = [
        postgresql_indexes(PREFIX_INDEXES),
    ]
