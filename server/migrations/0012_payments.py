"""Payments (docs/payments.md): the fee fixed on the dossier when payment is requested (amount, VietQR text), the
payment recorded (when, channel, reference), each unit's collection account, the bank statement lines imported for
reconciliation (one row per line and unit, unique by its key: importing a statement twice changes nothing), and the
orders started at a payment gateway (unique by the reference sent to it).

New columns and tables only (AddField / CreateModel): no table is rebuilt, so no foreign key is broken on SQLite.
It follows 0011 (walk-in claims).
"""

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('motcua', '0011_walk_in_claims')]

    initial = False

    operations = [
        ops.CreateModel(
            name='CollectionAccount',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('unit', fields.OneToOneField('motcua.AdministrativeUnit', source_field='unit_id', db_constraint=True, to_field='id', related_name='collection_account', on_delete=OnDelete.CASCADE)),
                ('bank_bin', fields.CharField(max_length=6)),
                ('number', fields.CharField(max_length=19)),
                ('name', fields.CharField(max_length=200)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'collection_accounts', 'app': 'motcua', 'pk_attr': 'id', 'table_description': "A unit's collection account (tài khoản thu phí, lệ phí) that citizens transfer fees to (docs/payments.md)."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PaymentOrder',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('dossier', fields.ForeignKeyField('motcua.Dossier', source_field='dossier_id', db_constraint=True, to_field='id', related_name='payment_orders', on_delete=OnDelete.CASCADE)),
                ('provider', fields.CharField(max_length=16)),
                ('txn_ref', fields.CharField(unique=True, max_length=40)),
                ('amount_vnd', fields.BigIntField()),
                ('status', fields.CharField(default='pending', max_length=16)),
                ('transaction_no', fields.CharField(default='', max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('confirmed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'payment_orders', 'app': 'motcua', 'pk_attr': 'id', 'table_description': 'A payment started at a gateway (server/payments/online.py): the order reference sent to it (vnp_TxnRef), the'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='StatementLine',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('unit', fields.ForeignKeyField('motcua.AdministrativeUnit', source_field='unit_id', db_constraint=True, to_field='id', related_name='statement_lines', on_delete=OnDelete.CASCADE)),
                ('key', fields.CharField(max_length=64)),
                ('booked_on', fields.DateField()),
                ('amount_vnd', fields.BigIntField()),
                ('note', fields.CharField(default='', max_length=500)),
                ('reference', fields.CharField(default='', max_length=128)),
                ('dossier', fields.ForeignKeyField('motcua.Dossier', source_field='dossier_id', null=True, db_constraint=True, to_field='id', related_name='statement_lines', on_delete=OnDelete.CASCADE)),
                ('outcome', fields.CharField(max_length=16)),
                ('imported_by', fields.ForeignKeyField('motcua.User', source_field='imported_by_id', null=True, db_constraint=True, to_field='id', related_name='statement_lines', on_delete=OnDelete.CASCADE)),
                ('imported_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'statement_lines', 'app': 'motcua', 'unique_together': (('unit', 'key'),), 'pk_attr': 'id', 'table_description': "One credit line of a unit's bank statement, as imported and matched (server/payments/reconcile.py)."},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Dossier',
            name='fee_amount_vnd',
            field=fields.BigIntField(null=True),
        ),
        ops.AddField(
            model_name='Dossier',
            name='fee_fixed_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Dossier',
            name='paid_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Dossier',
            name='payment_channel',
            field=fields.CharField(default='', db_default='', max_length=16),
        ),
        ops.AddField(
            model_name='Dossier',
            name='payment_qr',
            field=fields.CharField(default='', db_default='', max_length=512),
        ),
        ops.AddField(
            model_name='Dossier',
            name='payment_reference',
            field=fields.CharField(default='', db_default='', max_length=128),
        ),
    ]
