"""An officer's resolution of a listed statement line (docs/payments.md "Matching"): what they did with it (paid,
dismissed), who, when, and why. New nullable or defaulted columns on statement_lines only (AddField, with db_default
for the rows already there): no table is rebuilt.

It follows 0013 (drop sms_outbox).
"""

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('motcua', '0013_drop_sms_outbox')]

    initial = False

    operations = [
        ops.AddField(
            model_name='StatementLine',
            name='resolution',
            field=fields.CharField(default='', db_default='', max_length=16),
        ),
        ops.AddField(
            model_name='StatementLine',
            name='resolution_reason',
            field=fields.CharField(default='', db_default='', max_length=500),
        ),
        ops.AddField(
            model_name='StatementLine',
            name='resolved_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='StatementLine',
            name='resolved_by',
            field=fields.ForeignKeyField('motcua.User', source_field='resolved_by_id', null=True, db_constraint=True, to_field='id', related_name='resolved_statement_lines', on_delete=OnDelete.SET_NULL),
        ),
    ]

