"""Register numbers (docs/workflow.md "Register numbers", docs/documents.md): each received dossier gets its line in
the receiving unit's dossier register (sổ theo dõi hồ sơ, form 07 of Circular 03/2025), one book per unit and year,
numbered without gaps by the server; `register_counters` holds the last number of each book.

Dossiers already received are numbered here, per unit and year of reception (Vietnam time), in the order they
were received (then by code), and each book's counter starts after its last number. The units' identifier codes
(`administrative_units.agency_code`, Decision 20/2020/QĐ-TTg) already have their column (0001).
"""

from datetime import datetime, timedelta, timezone

from tortoise import fields, migrations
from tortoise.migrations import operations as ops
from tortoise.migrations.constraints import UniqueConstraint

VIETNAM = timezone(timedelta(hours=7))


def _moment(value):
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


async def number_received(apps, schema_editor) -> None:
    client = schema_editor.client
    postgres = client.capabilities.dialect == "postgres"
    one, two, three = ("$1", "$2", "$3") if postgres else ("?", "?", "?")
    rows = await client.execute_query_dict(
        "SELECT id, unit_id, received_at, code FROM dossiers WHERE received_at IS NOT NULL AND unit_id IS NOT NULL")
    books = {}
    for row in rows:
        year = _moment(row["received_at"]).astimezone(VIETNAM).year
        books.setdefault((row["unit_id"], year), []).append(row)
    for (unit_id, year), dossiers in books.items():
        dossiers.sort(key=lambda row: (_moment(row["received_at"]), row["code"] or "", row["id"]))
        for number, row in enumerate(dossiers, start=1):
            await client.execute_query(
                f"UPDATE dossiers SET register_year = {one}, register_number = {two} WHERE id = {three}",
                [year, number, row["id"]])
        await client.execute_query(
            f"INSERT INTO register_counters (\"key\", last_number) VALUES ({one}, {two})",
            [f"{unit_id}-{year}", len(dossiers)])


async def nothing(apps, schema_editor) -> None:
    return None


class Migration(migrations.Migration):
    dependencies = [('motcua', '0007_document_numbers')]

    initial = False

    operations = [
        ops.CreateModel(
            name='RegisterCounter',
            fields=[
                ('key', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=64)),
                ('last_number', fields.IntField(default=0)),
            ],
            options={'table': 'register_counters', 'app': 'motcua', 'pk_attr': 'key', 'table_description': 'The last number written in one dossier register book: key is "{unit id}-{year}".'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Dossier',
            name='register_number',
            field=fields.IntField(null=True),
        ),
        ops.AddField(
            model_name='Dossier',
            name='register_year',
            field=fields.SmallIntField(null=True),
        ),
        ops.AddConstraint(
            model_name='Dossier',
            constraint=UniqueConstraint(fields=('unit', 'register_year', 'register_number'), name=None),
        ),
        ops.RunPython(number_received, nothing),
    ]
