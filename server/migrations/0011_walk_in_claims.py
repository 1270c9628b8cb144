"""Walk-in dossiers belong to people (docs/workflow.md "Desk and field intake", server/dossiers/claims.py): the
applicant's phone and personal identification number get their own indexed columns on `dossiers`, filled here from
the form of the dossiers already written (the Store fills them at every write from now on); `dossier_claims` holds
the claims by code and one-time SMS code; `sms_outbox` the texts waiting for the SMS channel.

Indexes by RunSQL, not by altering the table: on SQLite altering rebuilds `dossiers` and breaks the keys that point
at it (0009). It follows 0010 (notice channels).
"""

import json
import re

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops

_MOBILE = re.compile(r"(?:\+?84|0)([35789][0-9]{8})")
_SEPARATORS = re.compile(r"[ .\-\t\u00a0]")  # as server/vietnamese.py


def _phone(value):
    if not isinstance(value, str) or len(value) > 32:
        return None
    match = _MOBILE.fullmatch(_SEPARATORS.sub("", value.strip()))
    return "0" + match.group(1) if match else None


def _numbers(content, data):
    fields_ = (content or {}).get("form", {}).get("fields", [])
    phone = next((p for p in (_phone(data.get(f["name"])) for f in fields_ if f.get("type") == "phone") if p), None)
    pid = next((v for v in (data.get(f["name"]) for f in fields_ if f.get("type") == "cccd")
                if isinstance(v, str) and re.fullmatch(r"[0-9]{12}", v)), None)
    return phone, pid


async def fill_applicants(apps, schema_editor) -> None:
    client = schema_editor.client
    postgres = client.capabilities.dialect == "postgres"
    one, two, three = ("$1", "$2", "$3") if postgres else ("?", "?", "?")
    contents = {}
    for row in await client.execute_query_dict("SELECT id, content FROM procedure_versions"):
        contents[row["id"]] = json.loads(row["content"]) if isinstance(row["content"], str) else row["content"]
    for row in await client.execute_query_dict("SELECT id, procedure_version_id, data FROM dossiers"):
        data = json.loads(row["data"]) if isinstance(row["data"], str) else (row["data"] or {})
        phone, pid = _numbers(contents.get(row["procedure_version_id"]), data or {})
        if phone or pid:
            await client.execute_query(
                f"UPDATE dossiers SET applicant_phone = {one}, applicant_personal_id = {two} WHERE id = {three}",
                [phone, pid, row["id"]])


async def nothing(apps, schema_editor) -> None:
    return None


class Migration(migrations.Migration):
    dependencies = [('motcua', '0010_notice_channels')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Dossier',
            name='applicant_phone',
            field=fields.CharField(max_length=16, null=True),
        ),
        ops.AddField(
            model_name='Dossier',
            name='applicant_personal_id',
            field=fields.CharField(max_length=12, null=True),
        ),
        ops.RunSQL("CREATE INDEX IF NOT EXISTS dossiers_applicant_personal_id ON dossiers (applicant_personal_id)",
                   "DROP INDEX IF EXISTS dossiers_applicant_personal_id"),
        ops.RunSQL("CREATE INDEX IF NOT EXISTS dossiers_applicant_phone ON dossiers (applicant_phone)",
                   "DROP INDEX IF EXISTS dossiers_applicant_phone"),
        ops.CreateModel(
            name='DossierClaim',
            fields=[
                ('id', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=36)),
                ('dossier', fields.ForeignKeyField('motcua.Dossier', source_field='dossier_id', db_constraint=True, to_field='id', related_name='claims', on_delete=OnDelete.CASCADE)),
                ('user', fields.ForeignKeyField('motcua.User', source_field='user_id', db_constraint=True, to_field='id', related_name='claims', on_delete=OnDelete.CASCADE)),
                ('code_hash', fields.CharField(max_length=64)),
                ('attempts', fields.IntField(default=0)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('confirmed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'dossier_claims', 'app': 'motcua', 'pk_attr': 'id', 'table_description': 'A claim of a walk-in dossier by a citizen with its code: a one-time code went by SMS to the phone on the dossier.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SmsOutbox',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('phone', fields.CharField(max_length=16)),
                ('text', fields.CharField(max_length=480)),
                ('key', fields.CharField(max_length=128, unique=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('sent_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'sms_outbox', 'app': 'motcua', 'pk_attr': 'id', 'table_description': 'Text messages waiting for the SMS channel: one row per message, its key makes sending it idempotent.'},
            bases=['Model'],
        ),
        ops.RunSQL("CREATE INDEX IF NOT EXISTS dossier_claims_user ON dossier_claims (user_id, created_at)",
                   "DROP INDEX IF EXISTS dossier_claims_user"),
        ops.RunPython(fill_applicants, nothing),
    ]
