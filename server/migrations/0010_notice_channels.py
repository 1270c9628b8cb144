"""Notice channels beside Web Push (server/notify/channels.py, docs/push.md "Channels"): the state of each notice by
each channel (`notice_deliveries`, unique idempotency key), messages and cost per channel, province and day
(`channel_usage`, for the daily cap), and the channels a person stopped (`users.stopped_channels`: an added nullable column,
so SQLite does not rebuild `users`).
"""

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.indexes import Index
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [('motcua', '0009_oidc_personal_id')]

    initial = False

    operations = [
        ops.CreateModel(
            name='NoticeDelivery',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('key', fields.CharField(unique=True, max_length=160)),
                ('notification', fields.ForeignKeyField('motcua.Notification', source_field='notification_id', null=True, db_constraint=True, to_field='id', related_name='deliveries', on_delete=OnDelete.CASCADE)),
                ('channel', fields.CharField(max_length=8)),
                ('status', fields.CharField(default='queued', max_length=16)),
                ('address', fields.CharField(default='', max_length=16)),
                ('text', fields.TextField(default='', unique=False)),
                ('province', fields.CharField(default='', max_length=16)),
                ('attempts', fields.IntField(default=0)),
                ('next_attempt_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('locked_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('provider_id', fields.CharField(null=True, max_length=80)),
                ('cost', fields.IntField(default=0)),
                ('last_error', fields.TextField(default='', unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('sent_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('delivered_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'notice_deliveries', 'app': 'motcua', 'indexes': [Index(fields=['status', 'next_attempt_at']), Index(fields=['channel', 'provider_id'])], 'pk_attr': 'id', 'table_description': 'One notice by one channel (push, zalo, sms): its state, for the officer and for falling to the next channel.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ChannelUsage',
            fields=[
                ('key', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=64)),
                ('channel', fields.CharField(max_length=8)),
                ('province', fields.CharField(max_length=16)),
                ('day', fields.DateField()),
                ('sent', fields.IntField(default=0)),
                ('cost', fields.BigIntField(default=0)),
            ],
            options={'table': 'channel_usage', 'app': 'motcua', 'pk_attr': 'key', 'table_description': "Messages sent and their cost per channel, province and day (Vietnam's date): the daily cap counts here."},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='User',
            name='stopped_channels',
            field=fields.CharField(null=True, max_length=64),
        ),
    ]
