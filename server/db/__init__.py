"""Connecting to the database and keeping its schema current with tortoise-orm's own migrations."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tortoise import Tortoise
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.connection import get_connection
from tortoise.migrations.api import migrate as run_migrations
from tortoise.migrations.executor import MigrationExecutor

from server.config import Settings

APP = "motcua"


class SchemaBehind(Exception):
    """The database lacks migrations that this code needs."""


def connection_config(database_url: str) -> str | dict[str, Any]:
    """SQLite through server/db/sqlite.py (BEGIN IMMEDIATE, busy timeout); PostgreSQL through
    server/db/postgres.py (no reset query per pool checkout); anything else as tortoise reads the URL."""
    if not database_url.startswith(("sqlite:", "postgres:", "postgresql:", "asyncpg:")):
        return database_url
    config = expand_db_url(database_url)
    if database_url.startswith("sqlite:"):
        config["engine"] = "server.db.sqlite"
    elif config["engine"] == "tortoise.backends.asyncpg":
        config["engine"] = "server.db.postgres"
    return config


def tortoise_config(settings: Settings) -> dict[str, Any]:
    return {
        "connections": {"default": connection_config(settings.database_url)},
        "apps": {APP: {"models": ["server.models"], "migrations": "server.migrations", "default_connection": "default"}},
        "use_tz": True,
        "timezone": "UTC",
    }


async def migrate(settings: Settings, progress: Callable[[str, str, str], object] | None = None) -> None:
    await run_migrations(config=tortoise_config(settings), progress=progress)


async def pending_migrations(settings: Settings) -> list[str]:
    """Names of the migrations not yet applied; connects with Tortoise already initialised."""
    config = tortoise_config(settings)
    executor = MigrationExecutor(get_connection("default"), config["apps"])
    return [f"{step.migration.app_label}.{step.migration.name}" for step in await executor.plan(None)
            if not step.backward]


async def connect(settings: Settings, *, require_current: bool = True, shared: bool = False) -> None:
    """Open the connection pool; refuse a database whose schema is behind the code.

    `shared`: the server's requests run in other tasks than its lifespan, so the ORM's context
    must be the process-wide fallback rather than a context variable of the starting task.
    """
    await Tortoise.init(config=tortoise_config(settings), _enable_global_fallback=shared)
    if require_current:
        missing = await pending_migrations(settings)
        if missing:
            await Tortoise.close_connections()
            raise SchemaBehind(
                f"the database is behind this version of motcua ({len(missing)} migration(s) not applied, "
                f"first {missing[0]}): run `motcua migrate`"
            )


async def disconnect() -> None:
    await Tortoise.close_connections()
