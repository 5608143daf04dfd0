"""Fewer index entries per imported order and event (issue 5; costs measured in
docs/csv_postgresql_costs.md), with the same integrity:

- ``order_local_id_unique`` takes the ``varchar_pattern_ops`` operator class for the order id
  (PostgreSQL; other databases ignore it): the same uniqueness (pattern equality is byte
  equality, as the default collation's is), and it also serves the Order Manager's
  ``LIKE 'x%'`` search, so the PostgreSQL-only ``order_local_id_prefix`` of 0004 goes.
- The foreign keys most orders leave empty (device, referring provider, camera operator, PCP)
  and the events' actor are indexed only where set (partial indexes); the constraints are kept
  as they are (see ``foreign_key_indexes_drop``).
- The inbox body is compressed with lz4 where the server has it (PostgreSQL 14+ built with lz4):
  a 1,000-row import chunk is ~0.5 MB of JSON, pglz took ~4 us a row of it, lz4 ~1.5."""
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from iris_portal.migration_operations import foreign_key_indexes_drop, postgresql_indexes_dropped, postgresql_sql

PREFIX_INDEXES = [("order_local_id_prefix", "orders_order", "organization_id, local_id varchar_pattern_ops")]
FOREIGN_KEY_INDEXES = [  # (index name as Django made it, table, column)
    ("orders_order_camera_operator_id_24ca1a5e", "orders_order", "camera_operator_id"),
    ("orders_order_device_id_3ee79c17", "orders_order", "device_id"),
    ("orders_order_primary_care_provider_id_ac29570d", "orders_order", "primary_care_provider_id"),
    ("orders_order_referring_provider_id_3f2b797b", "orders_order", "referring_provider_id"),
    ("orders_orderevent_actor_id_4ce1466c", "orders_orderevent", "actor_id"),
]
LZ4 = """DO $$ BEGIN
    ALTER TABLE orders_inboundmessage ALTER COLUMN body SET COMPRESSION {method};
EXCEPTION WHEN feature_not_supported OR syntax_error OR invalid_parameter_value THEN NULL;
END $$"""


def _sparse(to, related_name=None):
    return models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL,
                             related_name=related_name, to=to)


class Migration(migrations.Migration):

    dependencies = [
        ('orders', '0005_bulk_redundant_indexes'),
        ('organizations', '0002_clouddirectcredential'),
        ('patients', '0003_bulk_redundant_indexes'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='order',
            name='order_local_id_unique',
        ),
        migrations.AddConstraint(
            model_name='order',
            constraint=models.UniqueConstraint(fields=('organization', 'local_id'), name='order_local_id_unique',
                                               opclasses=['', 'varchar_pattern_ops']),
        ),
        postgresql_indexes_dropped(PREFIX_INDEXES),
        foreign_key_indexes_drop(FOREIGN_KEY_INDEXES, [
            migrations.AlterField(model_name='order', name='camera_operator',
                                  field=_sparse('organizations.provider', 'operated_orders')),
            migrations.AlterField(model_name='order', name='device',
                                  field=_sparse('organizations.device', 'orders')),
            migrations.AlterField(model_name='order', name='primary_care_provider',
                                  field=_sparse('organizations.provider', 'pcp_orders')),
            migrations.AlterField(model_name='order', name='referring_provider',
                                  field=_sparse('organizations.provider', 'referred_orders')),
            migrations.AlterField(model_name='orderevent', name='actor',
                                  field=_sparse(settings.AUTH_USER_MODEL)),
        ]),
        migrations.AddIndex(
            model_name='order',
            index=models.Index(condition=models.Q(('device__isnull', False)), fields=['device'], name='order_device_idx'),
        ),
        migrations.AddIndex(
            model_name='order',
            index=models.Index(condition=models.Q(('referring_provider__isnull', False)), fields=['referring_provider'],
                               name='order_referring_idx'),
        ),
        migrations.AddIndex(
            model_name='order',
            index=models.Index(condition=models.Q(('camera_operator__isnull', False)), fields=['camera_operator'],
                               name='order_operator_idx'),
        ),
        migrations.AddIndex(
            model_name='order',
            index=models.Index(condition=models.Q(('primary_care_provider__isnull', False)),
                               fields=['primary_care_provider'], name='order_pcp_idx'),
        ),
        migrations.AddIndex(
            model_name='orderevent',
            index=models.Index(condition=models.Q(('actor__isnull', False)), fields=['actor'], name='order_event_actor_idx'),
        ),
        postgresql_sql(LZ4.format(method="lz4"), LZ4.format(method="pglz")),
    ]
