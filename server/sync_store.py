"""The sync engine's Store (sync/store.py) on tortoise-orm: SQLite and PostgreSQL.

Records the devices sync are rows of the server's own tables: a dossier is a Dossier row, a
conflict a Conflict row. On the wire a dossier is flat (docs/sync.md): its form values travel as
one field per form field, "form.<name>", so two people editing different fields merge cleanly.
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any, AsyncIterator, Sequence

from tortoise.connection import get_connection
from tortoise.transactions import in_transaction

from server.models import (
    AdministrativeUnit,
    Attachment,
    ChangeLogEntry,
    ChangeScope,
    Conflict,
    Device,
    Dossier,
    MutationReceipt,
    ProcedureVersion,
    SyncCounter,
    User,
)
from sync.model import ChangeRef, DeviceState, Receipt, Record

FORM_PREFIX = "form."
COUNTER = "changes"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _parse_time(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


# Procedure versions and unit codes never change once written (a changed procedure becomes a new
# version), so every app instance may keep them for its lifetime: a sync round then costs no lookups.
_versions: dict[int, tuple[str, int, dict]] = {}  # id -> (procedure code, version number, content)
_version_ids: dict[tuple[str, int], int] = {}
_unit_codes: dict[int, str] = {}


async def procedure_version(version_id: int) -> tuple[str, int, dict]:
    if version_id not in _versions:
        row = await ProcedureVersion.get(id=version_id).select_related("procedure")
        _versions[version_id] = (row.procedure.code, row.version, row.content)
        _version_ids[(row.procedure.code, row.version)] = version_id
    return _versions[version_id]


async def procedure_version_id(code: str, version: int) -> int | None:
    if (code, version) not in _version_ids:
        row = await ProcedureVersion.get_or_none(procedure__code=code, version=version)
        if row is None:
            return None
        await procedure_version(row.id)
    return _version_ids[(code, version)]


async def unit_code(unit_id: int | None) -> str | None:
    if unit_id is None:
        return None
    if unit_id not in _unit_codes:
        unit = await AdministrativeUnit.get(id=unit_id)
        _unit_codes[unit_id] = unit.code
    return _unit_codes[unit_id]


def dossier_scopes(owner_id: int | None, unit_id: int | None, status: int,
                   handling_unit_id: int | None = None) -> frozenset[str]:
    """A draft is its owner's alone; once submitted the unit's officers see it too, and after a transfer
    (liên thông) the handling unit's officers as well (docs/access.md)."""
    scopes = {f"user:{owner_id}"} if owner_id else set()
    if status != 0 and unit_id:
        scopes.add(f"unit:{unit_id}")
    if status != 0 and handling_unit_id:
        scopes.add(f"unit:{handling_unit_id}")
    return frozenset(scopes)


async def dossier_record(dossier: Dossier) -> Record:
    """A dossier as devices sync it. Empty (null) fields are left out: on the wire, absent means null."""
    code, version, _ = await procedure_version(dossier.procedure_version_id)
    data: dict[str, Any] = {
        "procedure_code": code,
        "procedure_version": version,
        "unit_code": await unit_code(dossier.unit_id),
        "unit_id": dossier.unit_id,
        "owner_id": dossier.owner_id,
        "created_by": dossier.created_by_id,
        "status": dossier.status,
        "substatus": dossier.substatus,
        "channel": dossier.channel,
        "code": dossier.code,
        "assigned_to": dossier.assigned_to_id,
        "submitted_at": _iso(dossier.submitted_at),
        "received_at": _iso(dossier.received_at),
        "due_at": _iso(dossier.due_at),
        "returned_at": _iso(dossier.returned_at),
        # Transfer and postal channel (docs/workflow.md): absent when unused, so they cost nothing on the wire.
        "handling_unit_id": dossier.handling_unit_id,
        "handling_unit_code": await unit_code(dossier.handling_unit_id),
        "postal_submit": dossier.postal_submit or None,
        "postal_return": dossier.postal_return or None,
        "postal_consignment": dossier.postal_consignment or None,
        # Deadlines and codes (docs/workflow.md "Deadlines", "Dossier codes").
        "code_provisional": dossier.code_provisional or None,
        "clock_paused_at": _iso(dossier.clock_paused_at),
        "apology_sent_at": _iso(dossier.apology_sent_at),
    }
    data.update({FORM_PREFIX + name: value for name, value in (dossier.data or {}).items()})
    data = {name: value for name, value in data.items() if value is not None}
    return Record("dossier", dossier.id, dossier.version, data,
                  dossier_scopes(dossier.owner_id, dossier.unit_id, dossier.status, dossier.handling_unit_id))


async def save_dossier_record(record: Record, *, new: bool = False) -> None:
    data = record.data
    form = {name[len(FORM_PREFIX):]: value for name, value in data.items()
            if name.startswith(FORM_PREFIX) and value is not None}
    values = {
        "procedure_version_id": await procedure_version_id(data["procedure_code"], data["procedure_version"]),
        "owner_id": data.get("owner_id"),
        "unit_id": data.get("unit_id"),
        "created_by_id": data.get("created_by"),
        "status": data["status"],
        "substatus": data.get("substatus"),
        "channel": data.get("channel") or "online",
        "code": data.get("code"),
        "assigned_to_id": data.get("assigned_to"),
        "submitted_at": _parse_time(data.get("submitted_at")),
        "received_at": _parse_time(data.get("received_at")),
        "due_at": _parse_time(data.get("due_at")),
        "returned_at": _parse_time(data.get("returned_at")),
        "handling_unit_id": data.get("handling_unit_id"),
        "postal_submit": bool(data.get("postal_submit")),
        "postal_return": bool(data.get("postal_return")),
        "postal_consignment": data.get("postal_consignment") or "",
        "code_provisional": bool(data.get("code_provisional")),
        "clock_paused_at": _parse_time(data.get("clock_paused_at")),
        "apology_sent_at": _parse_time(data.get("apology_sent_at")),
        "data": form,
        "version": record.version,
    }
    if new or not await Dossier.filter(id=record.id).update(**values):
        await Dossier.create(id=record.id, **values)


class TortoiseStore:
    """One instance per request; every method runs inside `transaction()`."""

    def __init__(self) -> None:
        # Rows this transaction looked for and did not find: writing them is then one INSERT.
        self._absent: set[tuple] = set()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        self._absent.clear()
        try:
            async with in_transaction():
                yield
        finally:
            self._absent.clear()

    # -- devices and receipts --------------------------------------------------------------
    async def lock_device(self, device_id: str, user_id: str) -> DeviceState:
        device = await Device.select_for_update().get_or_none(id=device_id)
        if device is None:
            await Device.get_or_create(id=device_id, defaults={"user_id": int(user_id)})
            device = await Device.select_for_update().get(id=device_id)
        return DeviceState(device.id, str(device.user_id), device.applied_seq)

    async def save_device(self, device: DeviceState) -> None:
        await Device.filter(id=device.device_id).update(applied_seq=device.applied_seq,
                                                         last_seen_at=datetime.now().astimezone())

    @staticmethod
    def _receipt(row: MutationReceipt) -> Receipt:
        return Receipt(row.device_id, row.seq, row.mutation_id, row.fingerprint, row.status, row.result, row.payload)

    async def get_receipt(self, mutation_id: str) -> Receipt | None:
        row = await MutationReceipt.get_or_none(mutation_id=mutation_id)
        return self._receipt(row) if row else None

    async def get_receipt_at(self, device_id: str, seq: int) -> Receipt | None:
        row = await MutationReceipt.get_or_none(device_id=device_id, seq=seq)
        if row is None:
            self._absent.add(("receipt", device_id, seq))
        return self._receipt(row) if row else None

    async def save_receipt(self, receipt: Receipt) -> None:
        values = {"mutation_id": receipt.mutation_id, "fingerprint": receipt.fingerprint, "status": receipt.status,
                  "result": receipt.result, "payload": receipt.payload}
        if ("receipt", receipt.device_id, receipt.seq) in self._absent or \
                not await MutationReceipt.filter(device_id=receipt.device_id, seq=receipt.seq).update(**values):
            await MutationReceipt.create(device_id=receipt.device_id, seq=receipt.seq, **values)
            self._absent.discard(("receipt", receipt.device_id, receipt.seq))

    # -- records ---------------------------------------------------------------------------
    async def load_record(self, entity: str, record_id: str, *, for_update: bool = False) -> Record | None:
        if entity == "dossier":
            query = Dossier.select_for_update() if for_update else Dossier
            dossier = await query.get_or_none(id=record_id)
            if dossier is None:
                self._absent.add(("dossier", record_id))
                return None
            return await dossier_record(dossier)
        if entity == "attachment":
            from server.attachments import attachment_record

            attachment = await Attachment.get_or_none(id=record_id)
            return await attachment_record(attachment) if attachment else None
        if entity == "conflict":
            query = Conflict.select_for_update() if for_update else Conflict
            conflict = await query.get_or_none(id=record_id)
            if conflict is None:
                return None
            return Record("conflict", conflict.id, conflict.version, conflict.data, frozenset(conflict.scopes))
        return None

    async def save_record(self, record: Record) -> None:
        if record.entity == "dossier":
            await save_dossier_record(record, new=("dossier", record.id) in self._absent)
            self._absent.discard(("dossier", record.id))
        elif record.entity == "conflict":
            values = {"entity": record.data["entity"], "entity_id": record.data["entity_id"],
                      "status": record.data["status"], "version": record.version, "data": record.data,
                      "scopes": sorted(record.scopes)}
            if not await Conflict.filter(id=record.id).update(**values):
                await Conflict.create(id=record.id, **values)
        else:
            raise ValueError(f"no table for entity {record.entity!r}")

    # -- change log ------------------------------------------------------------------------
    async def append_change(self, record: Record, scopes: frozenset[str], mutation_id: str | None) -> int:
        return await append_change(record.entity, record.id, record.version, scopes, mutation_id)

    async def head_seq(self) -> int:
        counter = await SyncCounter.get_or_none(name=COUNTER)
        return counter.head if counter else 0

    async def changes_since(self, after: int, upto: int, scopes: frozenset[str], limit: int) -> Sequence[ChangeRef]:
        if not scopes:
            return []
        connection = get_connection("default")
        postgres = connection.capabilities.dialect == "postgres"
        names = sorted(scopes)
        if postgres:
            placeholders = ", ".join(f"${i}" for i in range(1, len(names) + 1))
            n = len(names)
            tail = f"${n + 1} AND c.seq <= ${n + 2} GROUP BY c.entity, c.entity_id ORDER BY seq LIMIT ${n + 3}"
        else:
            placeholders = ", ".join("?" for _ in names)
            tail = "? AND c.seq <= ? GROUP BY c.entity, c.entity_id ORDER BY seq LIMIT ?"
        sql = ("SELECT c.entity AS entity, c.entity_id AS entity_id, MAX(c.seq) AS seq "
               "FROM change_log c JOIN change_scopes s ON s.seq = c.seq "
               f"WHERE s.scope IN ({placeholders}) AND c.seq > {tail}")
        rows = await connection.execute_query_dict(sql, [*names, after, upto, limit])
        return [ChangeRef(int(row["seq"]), row["entity"], row["entity_id"]) for row in rows]


async def append_change(entity: str, entity_id: str, version: int, scopes: frozenset[str],
                        mutation_id: str | None) -> int:
    """Take the next position under the counter's row lock (held to commit), so that a reader never sees
    position n + 1 committed while n is not (docs/sync.md §9). Must run inside a transaction."""
    connection = get_connection("default")
    mark = "$1" if connection.capabilities.dialect == "postgres" else "?"
    sql = f"UPDATE sync_counter SET head = head + 1 WHERE name = {mark} RETURNING head"
    rows = await connection.execute_query_dict(sql, [COUNTER])
    if not rows:  # the first write ever
        await SyncCounter.get_or_create(name=COUNTER, defaults={"head": 0})
        rows = await connection.execute_query_dict(sql, [COUNTER])
    seq = int(rows[0]["head"])
    await ChangeLogEntry.create(seq=seq, entity=entity, entity_id=entity_id, version=version, mutation_id=mutation_id)
    await ChangeScope.bulk_create([ChangeScope(seq=seq, scope=scope) for scope in sorted(scopes)])
    return seq


async def user_for(user_id: str) -> User | None:
    return await User.get_or_none(id=int(user_id))
