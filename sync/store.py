"""The storage protocol the engine needs (docs/sync.md §9).

Every write happens inside ``async with store.transaction():``. The engine
opens one transaction per round that pushes something (all its mutations
and lost seqs), so a mutation is acknowledged only after that transaction
committed; nothing lives in memory between requests. Reads of committed
data only (the pull, the no-op round's device check) happen inside
``async with store.reading():``, which need not be a transaction. An
implementation must give:

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

from typing import TYPE_CHECKING, AsyncContextManager, Protocol, Sequence

from .model import ChangeRef, DeviceState, Outcome, Page, Record

if TYPE_CHECKING:
    from .protocol import Mutation


class Store(Protocol):
    def transaction(self) -> AsyncContextManager[None]:
        """Begin a transaction; commit on normal exit, roll back on exception."""
        ...

    def reading(self) -> AsyncContextManager[None]:
        """Reads of committed data, outside any write; may run without a transaction."""
        ...

    # devices and outcomes (rules 1 and 2)
    async def get_device(self, device_id: str) -> tuple[DeviceState, bool] | None:
        """The device row as committed, without a lock (None when it does not exist), and whether an
        outcome (held or lost) occupies its seq ``applied_seq + 1``."""
        ...

    async def lock_device(self, device_id: str, user_id: str) -> DeviceState:
        """Get or create the device row, locked until the transaction ends.

        A new row gets ``user_id`` and ``applied_seq = 0``; an existing row
        is returned unchanged (the engine checks the owner).
        """
        ...

    async def save_device(self, device: DeviceState) -> None: ...

    async def get_outcome(self, mutation_id: str) -> Outcome | None:
        """The outcome holding this mutation id (unique), held or final."""
        ...

    async def get_outcome_at(self, device_id: str, seq: int) -> Outcome | None:
        """The outcome occupying this device seq (unique), if any."""
        ...

    async def prefetch_outcomes(self, device_id: str, mutation_ids: Sequence[str], seqs: Sequence[int],
                                mutations: Sequence[Mutation] = ()) -> None:
        """A hint, with the device row locked: the round will look up the outcomes of these mutation
        ids and of these seqs of the device, ``head_seq()``, and then apply ``mutations`` (the records
        they create are looked up first). A store may read all of it with one query (or ignore it)."""
        ...

    async def save_outcome(self, outcome: Outcome) -> None:
        """Insert or replace the outcome at ``(device_id, seq)``."""
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
        ``scopes``; return its position in the change sequence (1, 2, …).

        Inside ``transaction()`` a store may defer the append to the end of the transaction (so that the
        counter's lock is taken last and held shortest) and return 0: the engine does not use the position.
        Outside one it appends at once and returns the position."""
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
        A store fills ``ChangeRef.version`` (the version that change wrote) when it can.
        """
        ...

    async def read_page(self, after: int, scopes: frozenset[str], limit: int) -> Page:
        """The pull's read, in ``reading()``: ``head_seq()``, then ``changes_since(after, head, scopes, limit)``
        (no changes when ``after >= head``), and optionally the current records of those changes. A server
        store does it in one query; the head and the page must come from one consistent view of committed data
        (one statement, or the head read first)."""
        ...
