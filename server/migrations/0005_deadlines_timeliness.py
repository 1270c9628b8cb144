"""Deadlines as the law gives them (docs/workflow.md "Deadlines", docs/domain.md "Corrections and additions"):

- a procedure's processing time carries its unit and the procedure may have its own cut-off hour;
- a dossier keeps its original appointment (hạn gốc) when an apology (form 04) extends it;
- a dossier records when processing ended (result ready, `finish`): timeliness is decided by it, not by `return`.

Dossiers already finished get `finished_at` from their `finish` event (the processing-control record); one
finished without such an event (none should exist) is left without it and is not counted as on time.
"""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops

FINISHED_AT_FROM_EVENTS = (
    "UPDATE dossiers SET finished_at = (SELECT MAX(e.at) FROM dossier_events e "
    "WHERE e.dossier_id = dossiers.id AND e.action = 'finish') WHERE status IN (9, 10) AND finished_at IS NULL")


async def finished_from_events(apps, schema_editor) -> None:
    await schema_editor.client.execute_script(FINISHED_AT_FROM_EVENTS)


async def nothing(apps, schema_editor) -> None:
    return None


class Migration(migrations.Migration):
    dependencies = [('motcua', '0004_sessions')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Procedure',
            name='processing_unit',
            field=fields.CharField(default='working_days', max_length=16),
        ),
        ops.AddField(
            model_name='Procedure',
            name='cutoff',
            field=fields.CharField(null=True, max_length=5),
        ),
        ops.AddField(
            model_name='Dossier',
            name='original_due_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Dossier',
            name='finished_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.RunPython(finished_from_events, nothing),
    ]
