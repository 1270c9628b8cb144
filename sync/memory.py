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
from typing import AsyncIterator, Sequence

from .model import ChangeRef, DeviceState, Receipt, Record


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
    receipts: dict[tuple[str, int], Receipt] = field(default_factory=dict)
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

    def _snapshot(self) -> _State:
        # Stored objects are never mutated in place (copies go in and out),
        # so shallow copies of the containers are a full snapshot.
        state = self._state
        return _State(
            dict(state.devices), dict(state.receipts), dict(state.by_mutation), dict(state.records), list(state.log)
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

    # -- devices and receipts ---------------------------------------------
    async def lock_device(self, device_id: str, user_id: str) -> DeviceState:
        self._check()
        device = self._state.devices.get(device_id)
        if device is None:
            self._write()
            device = DeviceState(device_id, user_id)
            self._state.devices[device_id] = device
        return copy.deepcopy(device)

    async def save_device(self, device: DeviceState) -> None:
        self._write()
        self._state.devices[device.device_id] = copy.deepcopy(device)

    async def get_receipt(self, mutation_id: str) -> Receipt | None:
        self._check()
        key = self._state.by_mutation.get(mutation_id)
        return copy.deepcopy(self._state.receipts[key]) if key else None

    async def get_receipt_at(self, device_id: str, seq: int) -> Receipt | None:
        self._check()
        return copy.deepcopy(self._state.receipts.get((device_id, seq)))

    async def save_receipt(self, receipt: Receipt) -> None:
        self._write()
        key = (receipt.device_id, receipt.seq)
        if receipt.mutation_id is not None:
            owner = self._state.by_mutation.get(receipt.mutation_id)
            if owner is not None and owner != key:
                raise RuntimeError("unique violation: mutation_id")  # as a UNIQUE index would
            self._state.by_mutation[receipt.mutation_id] = key
        self._state.receipts[key] = copy.deepcopy(receipt)

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
        latest: dict[tuple[str, str], int] = {}
        for entry in self._state.log[after:upto]:
            if entry.scopes & scopes:
                latest[(entry.entity, entry.id)] = entry.seq
        ordered = sorted(latest.items(), key=lambda item: item[1])[:limit]
        return [ChangeRef(seq, entity, record_id) for (entity, record_id), seq in ordered]

    # -- inspection for tests (not part of the Store protocol) -------------
    def records(self) -> dict[tuple[str, str], Record]:
        return copy.deepcopy(self._state.records)

    def receipts(self) -> list[Receipt]:
        return copy.deepcopy(list(self._state.receipts.values()))

    def change_log(self) -> list[ChangeEntry]:
        return copy.deepcopy(self._state.log)

    def device(self, device_id: str) -> DeviceState | None:
        return copy.deepcopy(self._state.devices.get(device_id))
