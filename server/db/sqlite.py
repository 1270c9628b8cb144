"""tortoise's SQLite backend, with write transactions that take the write lock when they begin.

tortoise opens a transaction with a plain (deferred) `BEGIN`: the transaction reads first and asks for the
write lock at its first write. Two such transactions in two processes (two app instances, the app and
`motcua worker`) can each hold a read snapshot and then both want to write; SQLite answers one of them
"database is locked" at once, in the middle of its work, whatever the busy timeout. `BEGIN IMMEDIATE` takes
the write lock first, so a second writer waits (up to `busy_timeout`) before it has done anything, and
either proceeds or fails cleanly at the start. Readers are never blocked (WAL journal).

Used through the connection config of server/db/__init__.py (`"engine": "server.db.sqlite"`). The busy
timeout is 5 s unless the DATABASE_URL says otherwise (`sqlite:///path?busy_timeout=200`, milliseconds).
A lock still held after it answers 503 with Retry-After (server/web/errors.py).
"""

from __future__ import annotations

import sqlite3
from typing import Any

from tortoise.backends.base.client import NestedTransactionContext, TransactionalDBClient, TransactionContext
from tortoise.backends.sqlite import client as base
from tortoise.connection import get_connections
from tortoise.exceptions import OperationalError, TransactionManagementError

BUSY_TIMEOUT_MS = 5000


def is_locked(error: BaseException) -> bool:
    """A SQLite "database is locked" / "database is busy" error, raw or as tortoise wraps it."""
    seen: set[int] = set()
    link: BaseException | None = error  # the error, then its causes
    while link is not None and id(link) not in seen:
        seen.add(id(link))
        if isinstance(link, (sqlite3.OperationalError, OperationalError)):
            text = str(link).lower()
            if "database is locked" in text or "database is busy" in text or "database table is locked" in text:
                return True
        link = link.__cause__ or link.__context__ or (link.args[0] if link.args and isinstance(
            link.args[0], BaseException) else None)
    return False


class SqliteClient(base.SqliteClient):
    def __init__(self, file_path: str, **kwargs: Any) -> None:
        kwargs.setdefault("busy_timeout", BUSY_TIMEOUT_MS)  # applied as PRAGMA busy_timeout on connecting
        super().__init__(file_path, **kwargs)

    def _in_transaction(self) -> TransactionContext:
        return ImmediateTransactionContext(ImmediateTransactionWrapper(self), self._lock)

    @base.translate_exceptions
    async def execute_many(self, query: str, values: list[list[Any]]) -> None:
        async with self.acquire_connection() as connection:
            self.log.debug("%s: %s", query, values)
            await connection.execute("BEGIN IMMEDIATE")
            try:
                await connection.executemany(query, values)
            except Exception:
                await connection.rollback()
                raise
            else:
                await connection.commit()


class ImmediateTransactionWrapper(base.SqliteTransactionWrapper):
    def _in_transaction(self) -> TransactionContext:
        return NestedTransactionContext(ImmediateTransactionWrapper(self))

    async def begin(self) -> None:
        try:
            if self._connection.in_transaction:  # only then does the commit reach the database thread
                await self._connection.commit()
            await self._connection.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if is_locked(exc):
                raise OperationalError(exc) from exc  # another writer held on past busy_timeout: 503
            raise TransactionManagementError(exc) from exc


class ImmediateTransactionContext(base.SqliteTransactionContext):
    """tortoise's context, but a BEGIN that fails gives the connection's lock back (tortoise's keeps it)."""

    async def __aenter__(self) -> TransactionalDBClient:
        await self._trxlock.acquire()
        try:
            await self.ensure_connection()
            self.token = get_connections().set(self.connection_name, self.connection)
            try:
                await self.connection.begin()
            except BaseException:
                get_connections().reset(self.token)
                raise
        except BaseException:
            self._trxlock.release()
            raise
        connection: TransactionalDBClient = self.connection  # tortoise keeps it as Any
        return connection


client_class = SqliteClient
