"""Each issued document carries its own number (số văn bản), distinct from the dossier code: a sequence per unit,
document series and year (Decree 30/2020/NĐ-CP, Appendix I, "số, ký hiệu"; Circular 03/2025/TT-VPCP forms 01–05;
docs/documents.md). Numbers are given when a document is first issued, so existing dossiers get theirs on the
first print after the upgrade.
"""

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [('motcua', '0006_approval_return')]

    initial = False

    operations = [
        ops.CreateModel(
            name='DocumentNumber',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('unit', fields.ForeignKeyField('motcua.AdministrativeUnit', source_field='unit_id', db_constraint=True, to_field='id', related_name='document_numbers', on_delete=OnDelete.CASCADE)),
                ('series', fields.CharField(max_length=32)),
                ('year', fields.SmallIntField()),
                ('number', fields.IntField()),
                ('dossier', fields.ForeignKeyField('motcua.Dossier', source_field='dossier_id', db_constraint=True, to_field='id', related_name='document_numbers', on_delete=OnDelete.CASCADE)),
                ('issued_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'document_numbers', 'app': 'motcua', 'unique_together': (('unit', 'series', 'year', 'number'), ('dossier', 'series')), 'pk_attr': 'id', 'table_description': 'The number of an issued document (số văn bản), per unit, series and year, distinct from the dossier code.'},
            bases=['Model'],
        ),
    ]
