"""Drop the single-column indexes Django made for the organization and site foreign keys, which
composite indexes and unique constraints already lead with (patient_org_*_idx,
patient_local_id_unique_in_site): each bulk-imported patient wrote two index entries nobody
reads. The foreign key constraints stay as they are: only the index is dropped (AlterField would
drop and re-add each constraint, re-checking the whole table)."""
import django.db.models.deletion
from django.db import migrations, models

from iris_portal.migration_operations import foreign_key_indexes_drop

INDEXES = [  # (index name as Django made it, table, column)
    ("patients_patient_organization_id_772b1524", "patients_patient", "organization_id"),
    ("patients_patient_site_id_8ff546cd", "patients_patient", "site_id"),
]


class Migration(migrations.Migration):

    dependencies = [
        ('organizations', '0002_clouddirectcredential'),
        ('patients', '0002_portal_indexes'),
    ]

    operations = [
        foreign_key_indexes_drop(INDEXES, [
            migrations.AlterField(
                model_name='patient',
                name='organization',
                field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='patients', to='organizations.organization'),
            ),
            migrations.AlterField(
                model_name='patient',
                name='site',
                field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='patients', to='organizations.site'),
            ),
        ]),
    ]
