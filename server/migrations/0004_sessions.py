from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields


class DropColumn(ops.RemoveField):
    """RemoveField with a plain ALTER TABLE … DROP COLUMN (SQLite 3.35+ and PostgreSQL): tortoise rebuilds a SQLite
    table to drop a column, which fails once other tables' rows point at the users."""

    async def database_forward(self, app_label, old_state, new_state, state_editor=None) -> None:
        if not state_editor:
            return
        model = old_state.apps.get_model(f"{app_label}.{self.model_name}")
        await state_editor.client.execute_script(f'ALTER TABLE "{model._meta.db_table}" DROP COLUMN "{self.name}"')


class Migration(migrations.Migration):
    """Sessions kept on the server (signing out ends them there); the per-user epoch they replace goes."""

    dependencies = [('motcua', '0003_sync_outcomes')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Session',
            fields=[
                ('token_hash', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=64)),
                ('user', fields.ForeignKeyField('motcua.User', source_field='user_id', db_constraint=True, to_field='id', related_name='sessions', on_delete=OnDelete.CASCADE)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False, db_index=True)),
            ],
            options={'table': 'sessions', 'app': 'motcua', 'pk_attr': 'token_hash', 'table_description': 'A signed-in browser or phone (phiên đăng nhập): the cookie holds a random token, this table its hash.'},
            bases=['Model'],
        ),
        DropColumn(model_name='User', name='session_epoch'),
    ]
