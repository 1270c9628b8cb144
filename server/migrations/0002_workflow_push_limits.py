from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index
from tortoise.migrations.constraints import UniqueConstraint

class Migration(migrations.Migration):
    dependencies = [('motcua', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='CodeBlock',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('device', fields.ForeignKeyField('motcua.Device', source_field='device_id', db_constraint=True, to_field='id', related_name='code_blocks', on_delete=OnDelete.CASCADE)),
                ('agency_code', fields.CharField(max_length=32)),
                ('day', fields.DateField()),
                ('first_number', fields.IntField()),
                ('last_number', fields.IntField()),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'code_blocks', 'app': 'motcua', 'pk_attr': 'id', 'table_description': 'Sequence numbers reserved for one field device and one day, so receipts issued offline carry final codes.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='DossierCodeCounter',
            fields=[
                ('key', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=64)),
                ('last_number', fields.IntField(default=0)),
            ],
            options={'table': 'dossier_code_counters', 'app': 'motcua', 'pk_attr': 'key', 'table_description': 'The daily sequence of dossier codes per receiving agency: key is "{agency code}-{yyMMdd}".'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Holiday',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('day', fields.DateField(unique=True)),
                ('kind', fields.CharField(max_length=16)),
                ('name', fields.CharField(default='', max_length=200)),
            ],
            options={'table': 'holidays', 'app': 'motcua', 'pk_attr': 'id', 'table_description': 'A public holiday (nghỉ lễ) or a make-up working day (làm bù), announced by the government each year.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PushJob',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('notification', fields.ForeignKeyField('motcua.Notification', source_field='notification_id', db_constraint=True, to_field='id', related_name='push_jobs', on_delete=OnDelete.CASCADE)),
                ('subscription', fields.ForeignKeyField('motcua.PushSubscription', source_field='subscription_id', null=True, db_constraint=True, to_field='id', related_name='push_jobs', on_delete=OnDelete.SET_NULL)),
                ('status', fields.CharField(default='queued', max_length=16)),
                ('attempts', fields.IntField(default=0)),
                ('next_attempt_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('locked_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_error', fields.TextField(default='', unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('sent_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'push_jobs', 'app': 'motcua', 'unique_together': (('notification', 'subscription'),), 'indexes': [Index(fields=['status', 'next_attempt_at'])], 'pk_attr': 'id', 'table_description': 'The push outbox: one delivery of one notification to one subscription, written with the status change.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='RateWindow',
            fields=[
                ('key', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=160)),
                ('window_started', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('hits', fields.IntField(default=0)),
            ],
            options={'table': 'rate_windows', 'app': 'motcua', 'pk_attr': 'key', 'table_description': 'Requests counted per key (account, device or address) in a fixed window, shared by every app instance.'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Attachment',
            name='reused_from',
            field=fields.CharField(null=True, max_length=36),
        ),
        ops.AddField(
            model_name='Dossier',
            name='apology_sent_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Dossier',
            name='clock_paused_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Dossier',
            name='code_provisional',
            field=fields.BooleanField(default=False),
        ),
        ops.AddField(
            model_name='Dossier',
            name='handling_unit',
            field=fields.ForeignKeyField('motcua.AdministrativeUnit', source_field='handling_unit_id', null=True, db_constraint=True, to_field='id', related_name='dossiers_handled', on_delete=OnDelete.CASCADE),
        ),
        ops.AddField(
            model_name='Dossier',
            name='postal_consignment',
            field=fields.CharField(default='', max_length=64),
        ),
        ops.AddField(
            model_name='Dossier',
            name='postal_return',
            field=fields.BooleanField(default=False),
        ),
        ops.AddField(
            model_name='Dossier',
            name='postal_submit',
            field=fields.BooleanField(default=False),
        ),
        ops.AddIndex(
            model_name='Dossier',
            index=Index(fields=['unit_id', 'received_at']),
        ),
        ops.AddIndex(
            model_name='Dossier',
            index=Index(fields=['status', 'due_at']),
        ),
        ops.AddField(
            model_name='Notification',
            name='event',
            field=fields.ForeignKeyField('motcua.DossierEvent', source_field='event_id', null=True, db_constraint=True, to_field='id', related_name='notifications', on_delete=OnDelete.CASCADE),
        ),
        ops.AddField(
            model_name='Notification',
            name='topic',
            field=fields.CharField(default='', max_length=32),
        ),
        ops.AddField(
            model_name='Notification',
            name='urgency',
            field=fields.CharField(default='normal', max_length=8),
        ),
        ops.AddField(
            model_name='Notification',
            name='url',
            field=fields.CharField(default='', max_length=300),
        ),
        ops.AddConstraint(
            model_name='Notification',
            constraint=UniqueConstraint(fields=('user', 'event', 'kind'), name=None),
        ),
        ops.AddField(
            model_name='PushSubscription',
            name='label',
            field=fields.CharField(default='', max_length=200),
        ),
        ops.AddField(
            model_name='PushSubscription',
            name='locale',
            field=fields.CharField(default='vi', max_length=5),
        ),
    ]
