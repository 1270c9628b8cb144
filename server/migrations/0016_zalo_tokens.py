"""Zalo's token pair in the database (server/notify/zalo_tokens.py): `zalo_tokens`, one row holding the OA's access
token, its single-use refresh token and when the access token expires, so every instance and worker renews the same
pair under one lock. A new table only; the row is seeded from ZALO_ACCESS_TOKEN / ZALO_REFRESH_TOKEN at first use.

It follows 0015 (rate-limit windows unlogged).
"""

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields


class Migration(migrations.Migration):
    dependencies = [('motcua', '0015_rate_windows_unlogged')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ZaloToken',
            fields=[
                ('id', fields.IntField(primary_key=True, unique=True, db_index=True)),
                ('access_token', fields.TextField(default='')),
                ('refresh_token', fields.TextField(default='')),
                ('expires_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('seed', fields.CharField(default='', max_length=64)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'zalo_tokens', 'app': 'motcua', 'pk_attr': 'id',
                     'table_description': "The Zalo Official Account's current token pair, one row (id 1) shared by every instance and worker"},
            bases=['Model'],
        ),
    ]
