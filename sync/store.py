"""The storage protocol the engine needs (docs/sync.md §9).

Every call happens inside ``async with store.transaction():``. The engine
opens one transaction per mutation (and one per lost seq), so a mutation
is acknowledged only after its own transaction committed; nothing lives
in memory between requests. An implementation must give:

* atomicity: all writes of a transaction or none (SIGKILL included);
* ``lock_device`` and ``load_record(for_update=True)`` hold row locks until
  the transaction ends (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite's
  single writer gives this with ``BEGIN IMMEDIATE``);
* ordered visibility of the change log: a reader must never see change
  ``n + 1`` committed while ``n`` is still uncommitted, or a cursor would
  skip ``n`` for ever. On PostgreSQL take the next seq from a counter row
  locked ``FOR UPDATE`` as the transaction's last write (writers then
  commit in seq order); a bare SEQUENCE/serial is NOT enough.

Lock order, to avoid deadlocks: device row → conflict record → target
record → change counter.
"""

from __future__ import annotations

from typing import AsyncContextManager, Protocol, Sequence

from .model import ChangeRef, DeviceState, Receipt, Record


class Store(Protocol):
    def transaction(self) -> AsyncContextManager[None]:
        """Begin a transaction; commit on normal exit, roll back on exception."""
        ...

    # devices and receipts (rules 1 and 2)
    async def lock_device(self, device_id: str, user_id: str) -> DeviceState:
        """Get or create the device row, locked until the transaction ends.

        A new row gets ``user_id`` and ``applied_seq = 0``; an existing row
        is returned unchanged (the engine checks the owner).
        """
        ...

    async def save_device(self, device: DeviceState) -> None: ...

    async def get_receipt(self, mutation_id: str) -> Receipt | None:
        """The receipt holding this mutation id (unique), held or final."""
        ...

    async def get_receipt_at(self, device_id: str, seq: int) -> Receipt | None:
        """The receipt occupying this device seq (unique), if any."""
        ...

    async def save_receipt(self, receipt: Receipt) -> None:
        """Insert or replace the receipt at ``(device_id, seq)``."""
        ...

    # records
    async def load_record(self, entity: str, record_id: str, *, for_update: bool = False) -> Record | None: ...

    async def save_record(self, record: Record) -> None:
        """Insert or replace; the engine has already bumped ``version``."""
        ...

    # change log (rule 7)
    async def append_change(
        self, record: Record, scopes: frozenset[str], mutation_id: str | None
    ) -> int:
        """Append the write of ``record`` (at its new version), readable by
        ``scopes``; return its position in the change sequence (1, 2, …)."""
        ...

    async def head_seq(self) -> int:
        """The highest committed change seq (0 when the log is empty)."""
        ...

    async def changes_since(self, after: int, upto: int, scopes: frozenset[str], limit: int) -> Sequence[ChangeRef]:
        """One entry per record: the record's latest change with
        ``after < seq <= upto`` tagged with any of ``scopes``, ordered by
        that seq, at most ``limit`` of them.

        SQL: ``SELECT entity, entity_id, max(c.seq) FROM change c JOIN
        change_scope s ON s.seq = c.seq WHERE s.scope = ANY(:scopes) AND
        c.seq > :after AND c.seq <= :upto GROUP BY 1, 2 ORDER BY 3 LIMIT :limit``.
        """
        ...
