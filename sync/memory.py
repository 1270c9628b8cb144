"""An in-memory Store: the reference implementation used by the tests.

It follows the Store contract literally — one transaction at a time (an
asyncio lock stands for the row locks), rollback on any exception, copies
in and out so that no caller holds a live reference to stored state. It
can also be told to "crash" at a chosen write, which models a server
killed mid-request: the current transaction is rolled back, committed
ones stay.
"""

from __future__ import annotations

import asyncio
import copy
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import AsyncContextManager, AsyncIterator, Sequence

from .model import ChangeRef, DeviceState, Outcome, Page, Record


class SimulatedCrash(Exception):
    """The process died here: nothing of the open transaction survives."""


@dataclass
class ChangeEntry:
    seq: int
    entity: str
    id: str
    version: int
    scopes: frozenset[str]
    mutation_id: str | None
    transaction: int  # which transaction wrote it: lets tests check atomicity


@dataclass
class _State:
    devices: dict[str, DeviceState] = field(default_factory=dict)
    outcomes: dict[tuple[str, int], Outcome] = field(default_factory=dict)
    by_mutation: dict[str, tuple[str, int]] = field(default_factory=dict)
    records: dict[tuple[str, str], Record] = field(default_factory=dict)
    log: list[ChangeEntry] = field(default_factory=list)


class MemoryStore:
    def __init__(self) -> None:
        self._state = _State()
        self._lock = asyncio.Lock()
        self._in_transaction = False
        self._transactions = 0
        self._writes = 0
        self.crash_at_write: int | None = None  # set by tests: fail the n-th write from now

    # -- transactions ------------------------------------------------------
    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        async with self._lock:
            snapshot = self._snapshot()
            self._in_transaction = True
            self._transactions += 1
            try:
                yield
            except BaseException:
                self._state = snapshot
                raise
            finally:
                self._in_transaction = False

    def reading(self) -> AsyncContextManager[None]:
        """Reads only: here, simply a transaction (committed state, one at a time)."""
        return self.transaction()

    def _snapshot(self) -> _State:
        # Stored objects are never mutated in place (copies go in and out),
        # so shallow copies of the containers are a full snapshot.
        state = self._state
        return _State(
            dict(state.devices), dict(state.outcomes), dict(state.by_mutation), dict(state.records), list(state.log)
        )

    def _check(self) -> None:
        if not self._in_transaction:
            raise RuntimeError("store used outside a transaction")

    def _write(self) -> None:
        self._check()
        if self.crash_at_write is not None:
            self.crash_at_write -= 1
            if self.crash_at_write <= 0:
                self.crash_at_write = None
                raise SimulatedCrash("simulated crash")
        self._writes += 1

    # -- devices and outcomes ---------------------------------------------
    async def lock_device(self, device_id: str, user_id: str) -> DeviceState:
        self._check()
        device = self._state.devices.get(device_id)
        if device is None:
            self._write()
            device = DeviceState(device_id, user_id)
            self._state.devices[device_id] = device
        return copy.deepcopy(device)

    async def get_device(self, device_id: str) -> tuple[DeviceState, bool] | None:
        self._check()
        device = self._state.devices.get(device_id)
        if device is None:
            return None
        return copy.deepcopy(device), (device_id, device.applied_seq + 1) in self._state.outcomes

    async def prefetch_outcomes(self, device_id: str, mutation_ids: Sequence[str], seqs: Sequence[int],
                                mutations: Sequence[object] = ()) -> None:
        self._check()  # everything is at hand already

    async def save_device(self, device: DeviceState) -> None:
        self._write()
        self._state.devices[device.device_id] = copy.deepcopy(device)

    async def get_outcome(self, mutation_id: str) -> Outcome | None:
        self._check()
        key = self._state.by_mutation.get(mutation_id)
        return copy.deepcopy(self._state.outcomes[key]) if key else None

    async def get_outcome_at(self, device_id: str, seq: int) -> Outcome | None:
        self._check()
        return copy.deepcopy(self._state.outcomes.get((device_id, seq)))

    async def save_outcome(self, outcome: Outcome) -> None:
        self._write()
        key = (outcome.device_id, outcome.seq)
        if outcome.mutation_id is not None:
            owner = self._state.by_mutation.get(outcome.mutation_id)
            if owner is not None and owner != key:
                raise RuntimeError("unique violation: mutation_id")  # as a UNIQUE index would
            self._state.by_mutation[outcome.mutation_id] = key
        self._state.outcomes[key] = copy.deepcopy(outcome)

    # -- records -----------------------------------------------------------
    async def load_record(self, entity: str, record_id: str, *, for_update: bool = False) -> Record | None:
        self._check()
        return copy.deepcopy(self._state.records.get((entity, record_id)))

    async def save_record(self, record: Record) -> None:
        self._write()
        self._state.records[(record.entity, record.id)] = copy.deepcopy(record)

    # -- change log --------------------------------------------------------
    async def append_change(self, record: Record, scopes: frozenset[str], mutation_id: str | None) -> int:
        self._write()
        seq = len(self._state.log) + 1
        self._state.log.append(
            ChangeEntry(seq, record.entity, record.id, record.version, frozenset(scopes), mutation_id, self._transactions)
        )
        return seq

    async def head_seq(self) -> int:
        self._check()
        return len(self._state.log)

    async def changes_since(self, after: int, upto: int, scopes: frozenset[str], limit: int) -> Sequence[ChangeRef]:
        self._check()
        latest: dict[tuple[str, str], ChangeEntry] = {}
        for entry in self._state.log[after:upto]:
            if entry.scopes & scopes:
                latest[(entry.entity, entry.id)] = entry
        ordered = sorted(latest.values(), key=lambda entry: entry.seq)[:limit]
        return [ChangeRef(entry.seq, entry.entity, entry.id, entry.version) for entry in ordered]

    async def read_page(self, after: int, scopes: frozenset[str], limit: int) -> Page:
        head = await self.head_seq()
        refs = list(await self.changes_since(after, head, scopes, limit)) if after < head else []
        return Page(head, refs)

    # -- inspection for tests (not part of the Store protocol) -------------
    def records(self) -> dict[tuple[str, str], Record]:
        return copy.deepcopy(self._state.records)

    def outcomes(self) -> list[Outcome]:
        return copy.deepcopy(list(self._state.outcomes.values()))

    def change_log(self) -> list[ChangeEntry]:
        return copy.deepcopy(self._state.log)

    def device(self, device_id: str) -> DeviceState | None:
        return copy.deepcopy(self._state.devices.get(device_id))
