"""The sync protocol's per-mutation record is an "outcome" (docs/sync.md; the legal receipt, giấy tiếp nhận, keeps
the word "receipt"): the model MutationReceipt becomes MutationOutcome and its table mutation_receipts becomes
mutation_outcomes, rows kept.

Written as create, copy, drop rather than RenameModel: tortoise-orm's RenameModel keeps the old model's backward
relation on Device while reloading the state, and fails with 'backward relation duplicates in model Device'.
"""

import functools
from json import dumps, loads

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops

COLUMNS = "id, device_id, seq, mutation_id, fingerprint, status, result, payload, created_at"


async def copy_rows(apps, schema_editor) -> None:
    client = schema_editor.client
    await client.execute_script(f"INSERT INTO mutation_outcomes ({COLUMNS}) SELECT {COLUMNS} FROM mutation_receipts")
    if client.capabilities.dialect == "postgres":  # the copied ids were explicit: move the id sequence past them
        await client.execute_script(
            "SELECT setval(pg_get_serial_sequence('mutation_outcomes', 'id'), "
            "COALESCE((SELECT MAX(id) FROM mutation_outcomes), 0) + 1, false)")


async def copy_rows_back(apps, schema_editor) -> None:
    client = schema_editor.client
    await client.execute_script(f"INSERT INTO mutation_receipts ({COLUMNS}) SELECT {COLUMNS} FROM mutation_outcomes")
    if client.capabilities.dialect == "postgres":
        await client.execute_script(
            "SELECT setval(pg_get_serial_sequence('mutation_receipts', 'id'), "
            "COALESCE((SELECT MAX(id) FROM mutation_receipts), 0) + 1, false)")


class Migration(migrations.Migration):
    dependencies = [('motcua', '0002_workflow_push_limits')]

    initial = False

    operations = [
        ops.CreateModel(
            name='MutationOutcome',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('device', fields.ForeignKeyField('motcua.Device', source_field='device_id', db_constraint=True, to_field='id', related_name='outcomes', on_delete=OnDelete.CASCADE)),
                ('seq', fields.BigIntField()),
                ('mutation_id', fields.CharField(null=True, unique=True, max_length=64)),
                ('fingerprint', fields.CharField(null=True, max_length=64)),
                ('status', fields.CharField(max_length=16)),
                ('result', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('payload', fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'mutation_outcomes', 'app': 'motcua', 'unique_together': (('device', 'seq'),), 'pk_attr': 'id', 'table_description': 'What happened to one device seq: the stored result that makes applying a mutation exactly once possible.'},
            bases=['Model'],
        ),
        ops.RunPython(copy_rows, copy_rows_back),
        ops.DeleteModel(name='MutationReceipt'),
    ]
