"""OpenID Connect sign-in (server/accounts/oidc.py, docs/access.md): an account is linked to the personal
identification number (số định danh cá nhân) the identity provider asserts, kept in `users.cccd` (there since 0001,
unused until now); one account per number, so two sign-ins racing for a new number cannot make two accounts.

A unique index rather than a unique column: on SQLite, altering the column rebuilds `users`, and dropping the old
table breaks the foreign keys that point at it (devices, dossiers…). NULLs stay allowed many times on both databases.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [('motcua', '0008_agency_codes_register')]

    initial = False

    operations = [
        ops.RunSQL("CREATE UNIQUE INDEX IF NOT EXISTS users_cccd_unique ON users (cccd)",
                   "DROP INDEX IF EXISTS users_cccd_unique"),
    ]
