"""Rate-limit windows (server/web/rate_limits.py) are counts of the last minutes, written by every request: on
PostgreSQL the table becomes UNLOGGED, so counting a request no longer waits for a WAL flush of its own (a sync
request's count was a second committed write next to the round's). An unlogged table is emptied after a crash,
which only forgets the current windows' counts: limits start counting again, as they do each window anyway.
Replicas do not get it, and need not: every instance counts on the primary.

SQLite has no such thing; there it changes nothing. Going back makes the table logged again. It follows 0014.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops


async def unlogged(apps, schema_editor) -> None:
    if schema_editor.client.capabilities.dialect == "postgres":
        await schema_editor.client.execute_script("ALTER TABLE rate_windows SET UNLOGGED")


async def logged(apps, schema_editor) -> None:
    if schema_editor.client.capabilities.dialect == "postgres":
        await schema_editor.client.execute_script("ALTER TABLE rate_windows SET LOGGED")


class Migration(migrations.Migration):
    dependencies = [('motcua', '0014_statement_resolution')]

    initial = False

    operations = [
        ops.RunPython(unlogged, logged),
    ]
