"""One index for patients' MRNs instead of two: ``patient_org_local_id_idx`` takes the
``varchar_pattern_ops`` operator class for the MRN (PostgreSQL; other databases ignore it), so
it serves equality lookups and the patient search's ``LIKE 'x%'`` alike, and the
PostgreSQL-only ``patient_local_id_prefix`` of 0002 goes: one index entry less per imported
patient (~2 us of PostgreSQL, docs/csv_postgresql_costs.md)."""
from django.db import migrations, models

from iris_portal.migration_operations import postgresql_indexes_dropped

PREFIX_INDEXES = [("patient_local_id_prefix", "patients_patient", "organization_id, local_id varchar_pattern_ops")]


class Migration(migrations.Migration):

    dependencies = [
        ('organizations', '0002_clouddirectcredential'),
        ('patients', '0003_bulk_redundant_indexes'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='patient',
            name='patient_org_local_id_idx',
        ),
        migrations.AddIndex(
            model_name='patient',
            index=models.Index(fields=['organization', 'local_id'], name='patient_org_local_id_idx',
                               opclasses=['', 'varchar_pattern_ops']),
        ),
        postgresql_indexes_dropped(PREFIX_INDEXES),
    ]
