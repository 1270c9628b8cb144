"""The one-time codes to claim a walk-in dossier go by the SMS channel now (server/notify/channels.py `send_sms`,
queued in `notice_deliveries` and sent over SMPP by the worker): `sms_outbox`, which 0011 made for them until that
channel landed and which nothing ever sent, goes. Its rows were never delivered, and their codes have long expired
(10 minutes), so nothing is carried over. Going back makes the table again, empty.

It follows 0012 (payments).
"""

from tortoise import migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [('motcua', '0012_payments')]

    initial = False

    operations = [
        ops.DeleteModel(name='SmsOutbox'),
    ]

