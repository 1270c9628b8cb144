"""Sign-off and return (docs/workflow.md "Approval and return", docs/domain.md "Sign-off"):

- a leader of the competent body approves (signs) the drafted result: who and when;
- the return records who received the result;
- a procedure may be designated "4 tại chỗ" (received, appraised, approved and returned on the spot).

Dossiers already at 9 keep the sub-state they have (none): they were finished before approval existed and may be
returned as before.
"""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [('motcua', '0005_deadlines_timeliness')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Dossier',
            name='approved_by',
            field=fields.IntField(null=True),
        ),
        ops.AddField(
            model_name='Dossier',
            name='approved_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Dossier',
            name='returned_to',
            field=fields.CharField(default='', max_length=200),
        ),
        ops.AddField(
            model_name='Procedure',
            name='on_the_spot',
            field=fields.BooleanField(default=False),
        ),
    ]
