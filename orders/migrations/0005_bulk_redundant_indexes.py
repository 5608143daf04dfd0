"""Drop the single-column indexes Django made for three foreign keys that a composite index or
unique constraint already leads with (order_org_*_idx / order_local_id_unique: organization;
order_site_created_idx: site; order_exam_unique: order): each bulk-imported order and exam wrote
an index entry nobody reads. The foreign key constraints stay as they are: only the index is
dropped (AlterField would drop and re-add each constraint, re-checking the whole table)."""
import django.db.models.deletion
from django.db import migrations, models

from iris_portal.migration_operations import foreign_key_indexes_drop

INDEXES = [  # (index name as Django made it, table, column)
    ("orders_order_organization_id_7455e8e5", "orders_order", "organization_id"),
    ("orders_order_site_id_d7b69483", "orders_order", "site_id"),
    ("orders_orderexam_order_id_640bc371", "orders_orderexam", "order_id"),
]


class Migration(migrations.Migration):

    dependencies = [
        ('orders', '0004_portal_indexes'),
        ('organizations', '0002_clouddirectcredential'),
    ]

    operations = [
        foreign_key_indexes_drop(INDEXES, [
            migrations.AlterField(
                model_name='order',
                name='organization',
                field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='orders', to='organizations.organization'),
            ),
            migrations.AlterField(
                model_name='order',
                name='site',
                field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='orders', to='organizations.site'),
            ),
            migrations.AlterField(
                model_name='orderexam',
                name='order',
                field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='exams', to='orders.order'),
            ),
        ]),
    ]
