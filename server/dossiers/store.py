"""The sync engine's Store (sync/store.py) on tortoise-orm: SQLite and PostgreSQL.

Records the devices sync are rows of the server's own tables: a dossier is a Dossier row, a
conflict a Conflict row. On the wire a dossier is flat (docs/sync.md): its form values travel as
one field per form field, "form.<name>", so two people editing different fields merge cleanly.
"""

from __future__ import annotations

import copy
import json
import re
from contextlib import asynccontextmanager
from contextvars import ContextVar
from decimal import Decimal
from datetime import datetime, timezone
from typing import Any, AsyncIterator, Sequence

from tortoise.connection import get_connection
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.models import Model
from tortoise.transactions import in_transaction

from server.db.sql import Params, is_postgres, param
from server.vietnamese import normalize_phone
from server.payments.vietqr import account_of
from server.models import (
    AdministrativeUnit,
    Attachment,
    ChangeLogEntry,
    ChangeScope,
    Conflict,
    Device,
    Dossier,
    MutationOutcome,
    Procedure,
    ProcedureVersion,
    SyncCounter,
    User,
)
from server.accounts import access
from sync.model import ChangeRef, DeviceState, Outcome, Page, Record
from sync.protocol import Mutation

FORM_PREFIX = "form."
COUNTER = "changes"
PERSONAL_ID = re.compile(r"[0-9]{12}")  # số định danh cá nhân: 12 digits (docs/domain.md)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _parse_time(value: Any) -> datetime | None:
    """A record's time as the row stores it: in UTC whatever offset the record carries (a phone writes Vietnam
    time), since SQLite compares times as text — "17:45+07:00" would sort after "17:00+00:00"."""
    if not isinstance(value, str):
        return None
    moment = datetime.fromisoformat(value)
    return moment.astimezone(timezone.utc) if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


# Procedure versions and unit codes never change once written (a changed procedure becomes a new
# version), so every app instance may keep them for its lifetime: a sync round then costs no lookups.
_versions: dict[int, tuple[str, int, dict[str, Any]]] = {}  # id -> (procedure code, version number, content)
_version_ids: dict[tuple[str, int], int] = {}
_unit_codes: dict[int, str] = {}


async def procedure_version(version_id: int) -> tuple[str, int, dict[str, Any]]:
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
        _version_ids[(code, version)] = row.id
    return _version_ids[(code, version)]


async def unit_code(unit_id: int | None) -> str | None:
    if unit_id is None:
        return None
    if unit_id not in _unit_codes:
        unit = await AdministrativeUnit.get(id=unit_id)
        _unit_codes[unit_id] = unit.code
    return _unit_codes[unit_id]


class _Prefetched:
    """Rows a sync round's prefetch read for the Policy, and the dossier events it writes at its end, valid for that
    round's transaction only."""

    def __init__(self) -> None:
        self.procedures: dict[str, Procedure | None] = {}  # code -> row (None: no such procedure)
        self.units: dict[str, AdministrativeUnit | None] = {}  # code -> the unit in force (None: none)
        self.events: list[list[Any]] = []  # rows of dossier_events (EVENT_COLUMNS), written by the flush


_round: ContextVar[_Prefetched | None] = ContextVar("motcua_sync_round", default=None)


async def procedure_by_code(code: str) -> Procedure | None:
    """The procedure with this code: as the round's prefetch read it, else from the database."""
    known = _round.get()
    if known is not None and code in known.procedures:
        return known.procedures[code]
    return await Procedure.get_or_none(code=code)


async def unit_in_force(code: str) -> AdministrativeUnit | None:
    """The administrative unit in force with this code: as the round's prefetch read it, else from the database."""
    known = _round.get()
    if known is not None and code in known.units:
        return known.units[code]
    return await AdministrativeUnit.filter(code=code, valid_to__isnull=True).order_by("id").first()


def _json_columns(model: type[Model], alias: str, postgres: bool) -> str:
    """A JSON object of a row's columns, built by the database (json_build_object / json_object)."""
    parts = []
    for name, column in model._meta.fields_db_projection.items():
        value = f"{alias}.{column}"
        if not postgres and name in model._meta.fields_map and \
                model._meta.fields_map[name].__class__.__name__ == "JSONField":
            value = f"json({value})"  # SQLite keeps JSON as text: embed it as JSON
        parts.append(f"'{column}', {value}")
    return ("json_build_object(" if postgres else "json_object(") + ", ".join(parts) + ")"


def _from_json(model: type[Model], row: dict[str, Any]) -> Any:
    """A model instance from a row read as a JSON object (see _json_columns)."""
    values = {}
    for name, column in model._meta.fields_db_projection.items():
        value = row.get(column)
        values[column] = model._meta.fields_map[name].to_python_value(value) if value is not None else None
    return model._init_from_db(**values)


def _loads_json(value: Any) -> Any:
    """A JSON column's value inside a JSON object: embedded (PostgreSQL, SQLite's json()) or, if text, parsed."""
    return json.loads(value) if isinstance(value, str) else value


def _loads(value: Any, *, decimals: bool = False) -> Any:
    """A JSON array read by the prefetch (None: no rows; PostgreSQL's json_agg of nothing)."""
    if value is None:
        return []
    if not isinstance(value, (str, bytes)):
        return value
    return json.loads(value, parse_float=Decimal) if decimals else json.loads(value)


def _named(mutations: Sequence[Mutation], field: str) -> set[str]:
    """The string values the mutations give to ``field``."""
    values = set()
    for mutation in mutations:
        change = mutation.changes.get(field)
        if change is not None and isinstance(change.value, str):
            values.add(change.value)
    return values


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
        "original_due_at": _iso(dossier.original_due_at),  # hạn gốc, when an apology extended the appointment
        "finished_at": _iso(dossier.finished_at),  # processing ended (result ready): timeliness is decided by it
        # Its line in the receiving unit's register (docs/workflow.md "Register numbers"), set by the server.
        "register_year": dossier.register_year,
        "register_number": dossier.register_number,
        "approved_by": dossier.approved_by,  # the leader who signed the result (docs/workflow.md "Approval")
        "approved_at": _iso(dossier.approved_at),
        "returned_to": dossier.returned_to or None,  # who received the result
        # The fee fixed when payment was requested and the payment recorded (docs/payments.md).
        "fee_amount_vnd": dossier.fee_amount_vnd,
        "fee_fixed_at": _iso(dossier.fee_fixed_at),
        "payment_qr": dossier.payment_qr or None,
        # The account that text pays into, so the app builds it on the device (docs/payments.md "VietQR").
        "payment_account": account_of(dossier.payment_qr) if dossier.payment_qr else None,
        "paid_at": _iso(dossier.paid_at),
        "payment_channel": dossier.payment_channel or None,
        "payment_reference": dossier.payment_reference or None,
    }
    data.update({FORM_PREFIX + name: value for name, value in (dossier.data or {}).items()})
    data = {name: value for name, value in data.items() if value is not None}
    return Record("dossier", dossier.id, dossier.version, data,
                  access.dossier_scopes(dossier))  # who reads it: server/accounts/access.py


def applicant_numbers(form: dict[str, Any], values: dict[str, Any]) -> tuple[str | None, str | None]:
    """The applicant's mobile number ("0…") and 12-digit personal identification number (số định danh cá nhân) in a
    dossier's form values: its first field of type phone and of type cccd that holds one (an old 9-digit identity
    card number is not a personal identification number)."""
    fields = form.get("fields") or []
    phones = (normalize_phone(value) for value in (values.get(f["name"]) for f in fields if f.get("type") == "phone")
              if isinstance(value, str))
    numbers = (values.get(f["name"]) for f in fields if f.get("type") == "cccd")
    return (next((phone for phone in phones if phone), None),
            next((n for n in numbers if isinstance(n, str) and PERSONAL_ID.fullmatch(n)), None))


async def save_dossier_record(record: Record, *, new: bool = False) -> None:
    data = record.data
    form = {name[len(FORM_PREFIX):]: value for name, value in data.items()
            if name.startswith(FORM_PREFIX) and value is not None}
    version_id = await procedure_version_id(data["procedure_code"], data["procedure_version"])
    # Copied from the form at every write, so the columns never disagree with it (docs/workflow.md "Desk and field
    # intake"): the dossier is found by them when its citizen signs in or claims it (server/dossiers/claims.py).
    phone, personal_id = applicant_numbers((await procedure_version(version_id))[2].get("form") or {}, form) \
        if version_id else (None, None)
    values = {
        "procedure_version_id": version_id,
        "applicant_phone": phone,
        "applicant_personal_id": personal_id,
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
        "original_due_at": _parse_time(data.get("original_due_at")),
        "finished_at": _parse_time(data.get("finished_at")),
        "register_year": data.get("register_year"),
        "register_number": data.get("register_number"),
        "approved_by": data.get("approved_by"),
        "approved_at": _parse_time(data.get("approved_at")),
        "returned_to": data.get("returned_to") or "",
        "fee_amount_vnd": data.get("fee_amount_vnd"),
        "fee_fixed_at": _parse_time(data.get("fee_fixed_at")),
        "payment_qr": data.get("payment_qr") or "",
        "paid_at": _parse_time(data.get("paid_at")),
        "payment_channel": data.get("payment_channel") or "",
        "payment_reference": data.get("payment_reference") or "",
        "data": form,
        "version": record.version,
    }
    # Plain SQL through the ORM's connection: the hot path of every sync write, one statement, no model built.
    now = datetime.now(timezone.utc)
    values.update(data=_dumps(form), updated_at=now)
    connection = get_connection("default")
    params = Params(connection)
    if not new:
        assignments = ", ".join(f"{name} = {params.add(value)}" for name, value in values.items())
        sql = f"UPDATE dossiers SET {assignments} WHERE id = {params.add(record.id)} RETURNING id"
        if await connection.execute_query_dict(sql, params.values):  # execute_query drops RETURNING rows on PostgreSQL
            return
        params = Params(connection)
    values.update(id=record.id, created_at=now)
    columns = ", ".join(values)  # field names are the columns (a foreign key "owner" is the column "owner_id")
    await connection.execute_query(f"INSERT INTO dossiers ({columns}) VALUES "
                                   f"({', '.join(params.add(value) for value in values.values())})", params.values)


# The columns of a dossier event, in the order record_event gives them (server/workflow/policy.py).
EVENT_COLUMNS = ("dossier_id", "at", "actor_id", "action", "from_status", "to_status", "from_unit_id", "to_unit_id",
                 "note")


async def write_events(rows: list[list[Any]], *, last_id: bool = False) -> int | None:
    """Dossier events (the processing-control record), in order; with `last_id`, the last one's id."""
    if not rows:
        return None
    connection = get_connection("default")
    params = Params(connection)
    values = ", ".join("(" + ", ".join(params.add(value) for value in row) + ")" for row in rows)
    sql = f"INSERT INTO dossier_events ({', '.join(EVENT_COLUMNS)}) VALUES {values}" + \
        (" RETURNING id" if last_id else "")
    if not last_id:
        await connection.execute_query(sql, params.values)
        return None
    found = await connection.execute_query_dict(sql, params.values)  # execute_query drops RETURNING rows (PostgreSQL)
    return int(max(row["id"] for row in found))


async def dossier_event(row: list[Any], *, needs_id: bool) -> int | None:
    """One dossier event. Inside a sync round's transaction and with no need of its id now (no notice refers to
    it), it is written with the round's last statement (TortoiseStore._flush); else now, after the round's
    waiting ones, so that ids keep the order the steps were taken in."""
    known = _round.get()
    if known is not None and not needs_id:
        known.events.append(row)
        return None
    if known is not None and known.events:
        await write_events(known.events)
        known.events.clear()
    return await write_events([row], last_id=True)



def attachment_data(attachment: Attachment) -> dict[str, Any]:
    """An attachment (one page of a document) as devices pull it: a record the server writes, devices only read."""
    return {"dossier_id": attachment.dossier_id, "document": attachment.document, "page": attachment.page,
            "sha256": attachment.sha256, "size": attachment.size, "content_type": attachment.content_type,
            "status": attachment.status, "reject_code": attachment.reject_code or None,
            "reject_reason": attachment.reject_reason or None, "reused_from": attachment.reused_from}


def attachment_scopes(dossier: Dossier) -> frozenset[str]:
    """An attachment is read by whoever reads its dossier."""
    return access.dossier_scopes(dossier)


async def attachment_record(attachment: Attachment, dossier: Dossier | None = None) -> Record:
    dossier = dossier or await Dossier.get(id=attachment.dossier_id)
    return Record("attachment", attachment.id, attachment.version, attachment_data(attachment),
                  attachment_scopes(dossier))


class TortoiseStore:
    """One instance per request; every method runs inside `transaction()`."""

    def __init__(self) -> None:
        # Rows this transaction looked for and did not find: writing them is then one INSERT.
        self._absent: set[tuple[str, ...] | tuple[str, str, int]] = set()
        # Outcomes read by prefetch_outcomes (None: known absent), valid while the device row stays locked.
        self._by_mutation: dict[str, Outcome | None] = {}
        self._by_seq: dict[tuple[str, int], Outcome | None] = {}
        self._head: int | None = None  # read by prefetch_outcomes, for the pre-check's cursor check
        # Inside transaction(): the outcomes, the device and the change-log entries are written at its end,
        # in one statement on PostgreSQL, the change-log counter last (its lock is then held shortest).
        self._deferring = False
        self._outcomes: dict[tuple[str, int], Outcome] = {}
        self._device: DeviceState | None = None
        self._changes: list[tuple[str, str, int, list[str], str | None]] = []
        self._state: _Prefetched | None = None

    def _forget(self) -> None:
        self._head = None
        self._outcomes.clear()
        self._device = None
        self._changes.clear()
        self._absent.clear()
        self._by_mutation.clear()
        self._by_seq.clear()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        self._forget()
        self._state = _Prefetched()
        token = _round.set(self._state)
        self._deferring = True
        try:
            async with in_transaction():
                yield
                await self._flush()
        finally:
            self._deferring = False
            _round.reset(token)
            self._forget()

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[None]:
        """Committed data, read without a transaction: each statement takes a pooled connection."""
        yield

    async def get_device(self, device_id: str) -> tuple[DeviceState, bool] | None:
        connection = get_connection("default")
        sql = ("SELECT d.user_id AS user_id, d.applied_seq AS applied_seq, o.seq AS waiting FROM devices d "
               "LEFT JOIN mutation_outcomes o ON o.device_id = d.id AND o.seq = d.applied_seq + 1 "
               f"WHERE d.id = {param(1, connection)}")
        rows = await connection.execute_query_dict(sql, [device_id])
        if not rows:
            return None
        row = rows[0]
        return DeviceState(device_id, str(row["user_id"]), int(row["applied_seq"])), row["waiting"] is not None

    async def prefetch_outcomes(self, device_id: str, mutation_ids: Sequence[str], seqs: Sequence[int],
                                mutations: Sequence[Mutation] = ()) -> None:
        """One statement for what the round looks up first: the outcomes it will look at, the head, whether the
        dossiers it creates exist, and the procedures and units those creates name (for the Policy). The device
        row is locked, so its own outcomes cannot change under us (another device's outcome with one of these
        mutation ids would break the unique index on insert, and the round rolls back)."""
        connection = get_connection("default")
        postgres = is_postgres(connection)
        params = Params(connection)

        def among(values: Sequence[Any]) -> str:
            return ", ".join(params.add(value) for value in values)

        agg = "json_agg" if postgres else "json_group_array"
        creates = [m for m in mutations if m.op == "create" and m.entity == "dossier"]
        created = sorted({m.entity_id for m in creates})
        procedure_codes = sorted(code for code in _named(creates, "procedure_code") if len(code) <= 32)
        unit_codes = sorted(code for code in _named(creates, "unit_code") if len(code) <= 16)
        parts = [f"(SELECT head FROM sync_counter WHERE name = {params.add(COUNTER)}) AS head"]
        # Placeholders in the order they appear in the text (SQLite's are positional).
        where = f"o.mutation_id IN ({among(mutation_ids)}) OR " if mutation_ids else ""
        where += f"(o.device_id = {params.add(device_id)} AND o.seq IN ({among(seqs)}))" if seqs else "1 = 0"
        outcome_json = (("json_build_object(" if postgres else "json_object(") +
                   "'device_id', o.device_id, 'seq', o.seq, 'mutation_id', o.mutation_id, 'fingerprint', o.fingerprint, "
                   "'status', o.status, " +
                   ("'result', o.result, 'payload', o.payload)" if postgres else
                    "'result', json(o.result), 'payload', json(o.payload))"))
        parts.append(f"(SELECT {agg}({outcome_json}) FROM mutation_outcomes o WHERE {where}) AS outcomes")
        if created:
            parts.append(f"(SELECT {agg}(d.id) FROM dossiers d WHERE d.id IN ({among(created)})) AS dossiers")
        if procedure_codes:
            parts.append(f"(SELECT {agg}({_json_columns(Procedure, 'p', postgres)}) FROM procedures p "
                         f"WHERE p.code IN ({among(procedure_codes)})) AS procedures")
        if unit_codes:
            parts.append(f"(SELECT {agg}({_json_columns(AdministrativeUnit, 'u', postgres)}) FROM "
                         f"administrative_units u WHERE u.code IN ({among(unit_codes)}) AND u.valid_to IS NULL) AS units")
        rows = await connection.execute_query_dict("SELECT " + ", ".join(parts), params.values)
        row = rows[0]
        self._head = int(row["head"] or 0)
        for mutation_id in mutation_ids:
            self._by_mutation[mutation_id] = None
        for seq in seqs:
            self._by_seq[(device_id, seq)] = None
            self._absent.add(("outcome", device_id, seq))
        for found in _loads(row["outcomes"]):
            outcome = Outcome(found["device_id"], int(found["seq"]), found["mutation_id"], found["fingerprint"],
                              found["status"], _loads_json(found["result"]) or {}, _loads_json(found["payload"]))
            if outcome.mutation_id is not None and outcome.mutation_id in self._by_mutation:
                self._by_mutation[outcome.mutation_id] = outcome
            if outcome.device_id == device_id and (device_id, outcome.seq) in self._by_seq:
                self._by_seq[(device_id, outcome.seq)] = copy.deepcopy(outcome)
                self._absent.discard(("outcome", device_id, outcome.seq))
        if created:
            present = set(_loads(row["dossiers"]))
            self._absent.update(("dossier", dossier_id) for dossier_id in created if dossier_id not in present)
        known = _round.get()
        if known is not None:
            if procedure_codes:
                known.procedures.update({code: None for code in procedure_codes})
                for found in _loads(row["procedures"], decimals=True):
                    known.procedures[found["code"]] = _from_json(Procedure, found)
            if unit_codes:
                known.units.update({code: None for code in unit_codes})
                for found in sorted(_loads(row["units"], decimals=True), key=lambda unit: -int(unit["id"])):
                    known.units[found["code"]] = _from_json(AdministrativeUnit, found)  # the lowest id wins

    # -- devices and outcomes --------------------------------------------------------------
    async def lock_device(self, device_id: str, user_id: str) -> DeviceState:
        # Plain SQL (hot path). SQLite's BEGIN IMMEDIATE already holds the one write lock: no FOR UPDATE there.
        connection = get_connection("default")
        sql = f"SELECT user_id, applied_seq FROM devices WHERE id = {param(1, connection)}" + \
            (" FOR UPDATE" if is_postgres(connection) else "")
        rows = await connection.execute_query_dict(sql, [device_id])
        if not rows:
            await Device.get_or_create(id=device_id, defaults={"user_id": int(user_id)})
            rows = await connection.execute_query_dict(sql, [device_id])
        return DeviceState(device_id, str(rows[0]["user_id"]), int(rows[0]["applied_seq"]))

    async def save_device(self, device: DeviceState) -> None:
        if self._deferring:
            self._device = copy.deepcopy(device)
            return
        await Device.filter(id=device.device_id).update(applied_seq=device.applied_seq,
                                                         last_seen_at=datetime.now().astimezone())

    @staticmethod
    def _outcome(row: MutationOutcome) -> Outcome:
        return Outcome(row.device_id, row.seq, row.mutation_id, row.fingerprint, row.status, row.result, row.payload)

    async def get_outcome(self, mutation_id: str) -> Outcome | None:
        if mutation_id in self._by_mutation:
            known = self._by_mutation[mutation_id]
            return copy.deepcopy(known) if known else None
        row = await MutationOutcome.get_or_none(mutation_id=mutation_id)
        return self._outcome(row) if row else None

    async def get_outcome_at(self, device_id: str, seq: int) -> Outcome | None:
        if (device_id, seq) in self._by_seq:
            known = self._by_seq[(device_id, seq)]
            return copy.deepcopy(known) if known else None
        row = await MutationOutcome.get_or_none(device_id=device_id, seq=seq)
        if row is None:
            self._absent.add(("outcome", device_id, seq))
        return self._outcome(row) if row else None

    async def save_outcome(self, outcome: Outcome) -> None:
        # Every outcome saved is known from now on: later look-ups (and the deferred write) find it here.
        self._by_seq[(outcome.device_id, outcome.seq)] = copy.deepcopy(outcome)
        if outcome.mutation_id is not None:
            self._by_mutation[outcome.mutation_id] = copy.deepcopy(outcome)
        if self._deferring:
            self._outcomes[(outcome.device_id, outcome.seq)] = copy.deepcopy(outcome)
            return
        values: dict[str, Any] = {"mutation_id": outcome.mutation_id, "fingerprint": outcome.fingerprint,
                                  "status": outcome.status, "result": outcome.result, "payload": outcome.payload}
        if ("outcome", outcome.device_id, outcome.seq) in self._absent or \
                not await MutationOutcome.filter(device_id=outcome.device_id, seq=outcome.seq).update(**values):
            await MutationOutcome.create(device_id=outcome.device_id, seq=outcome.seq, **values)
            self._absent.discard(("outcome", outcome.device_id, outcome.seq))

    # -- records ---------------------------------------------------------------------------
    async def load_record(self, entity: str, record_id: str, *, for_update: bool = False) -> Record | None:
        if entity == "dossier":
            if ("dossier", record_id) in self._absent:
                return None  # looked for in this transaction (by prefetch_outcomes) and not found
            dossier = await (Dossier.select_for_update() if for_update else Dossier.all()).get_or_none(id=record_id)
            if dossier is None:
                self._absent.add(("dossier", record_id))
                return None
            return await dossier_record(dossier)
        if entity == "attachment":
            attachment = await Attachment.get_or_none(id=record_id)
            return await attachment_record(attachment) if attachment else None
        if entity == "conflict":
            conflict = await (Conflict.select_for_update() if for_update else Conflict.all()).get_or_none(id=record_id)
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
        if self._deferring:  # written by _flush, last in the transaction (docs/sync.md §9)
            self._changes.append((record.entity, record.id, record.version, sorted(scopes), mutation_id))
            return 0
        self._head = None
        return await append_change(record.entity, record.id, record.version, scopes, mutation_id)

    async def _flush(self) -> None:
        """The transaction's deferred writes: its outcomes, its device and its change-log entries, the counter's
        position taken last. PostgreSQL: one statement; SQLite (one writer at a time): one per table."""
        events = self._state.events if self._state is not None else []
        if not (self._outcomes or self._device or self._changes or events):
            return
        connection = get_connection("default")
        now = datetime.now(timezone.utc)
        outcomes = list(self._outcomes.values())
        if is_postgres(connection):
            await _flush_postgres(connection, outcomes, self._device, self._changes, events, now)
        else:
            await write_events(events)
            await _flush_sqlite(connection, outcomes, self._device, self._changes, now)
        events.clear()

    async def head_seq(self) -> int:
        if self._head is not None:
            return self._head
        counter = await SyncCounter.get_or_none(name=COUNTER)
        return counter.head if counter else 0

    async def changes_since(self, after: int, upto: int, scopes: frozenset[str], limit: int) -> Sequence[ChangeRef]:
        if not scopes:
            return []
        connection = get_connection("default")
        names = sorted(scopes)
        params = Params(connection)
        sql = ("SELECT c.entity AS entity, c.entity_id AS entity_id, MAX(c.seq) AS seq, MAX(c.version) AS version "
               "FROM change_log c JOIN change_scopes s ON s.seq = c.seq "
               f"WHERE s.scope IN ({', '.join(params.add(name) for name in names)}) "
               f"AND c.seq > {params.add(after)} AND c.seq <= {params.add(upto)} "
               f"GROUP BY c.entity, c.entity_id ORDER BY seq LIMIT {params.add(limit)}")
        rows = await connection.execute_query_dict(sql, params.values)
        return [ChangeRef(int(row["seq"]), row["entity"], row["entity_id"], int(row["version"])) for row in rows]

    async def read_page(self, after: int, scopes: frozenset[str], limit: int) -> Page:
        """The pull in one statement: the head, the page of changes up to it, and the dossiers among them.

        One statement reads one snapshot: every change up to the head it reads was committed in it (the head
        moves only under the counter's lock, held to commit)."""
        connection = get_connection("default")
        params = Params(connection)
        head_sql = f"SELECT COALESCE(MAX(head), 0) AS head FROM sync_counter WHERE name = {params.add(COUNTER)}"
        if not scopes or after < 0:
            rows = await connection.execute_query_dict(head_sql.replace("AS head", 'AS "_head"', 1), params.values)
            return Page(int(rows[0]["_head"]), [])
        names = sorted(scopes)
        sql = (f"WITH h AS ({head_sql}), "
               "p AS (SELECT c.entity AS entity, c.entity_id AS entity_id, MAX(c.seq) AS seq, MAX(c.version) AS version "
               "FROM change_log c JOIN change_scopes s ON s.seq = c.seq "
               f"WHERE s.scope IN ({', '.join(params.add(name) for name in names)}) "
               f"AND c.seq > {params.add(after)} AND c.seq <= (SELECT head FROM h) "
               f"GROUP BY c.entity, c.entity_id ORDER BY seq LIMIT {params.add(limit)}) "
               'SELECT h.head AS "_head", p.entity AS "_entity", p.entity_id AS "_entity_id", p.seq AS "_seq", '
               'p.version AS "_version", d.* FROM h LEFT JOIN p ON 1 = 1 '
               "LEFT JOIN dossiers d ON p.entity = 'dossier' AND d.id = p.entity_id ORDER BY p.seq")
        rows = await connection.execute_query_dict(sql, params.values)
        page = Page(int(rows[0]["_head"]), [])
        for row in rows:
            if row["_seq"] is None:
                continue  # no changes: the one row carries the head
            ref = ChangeRef(int(row["_seq"]), row["_entity"], row["_entity_id"], int(row["_version"]))
            page.refs.append(ref)
            if ref.entity == "dossier":
                page.records[("dossier", ref.id)] = \
                    await dossier_record(Dossier._init_from_db(**row)) if row["id"] is not None else None
        return page


def _dumps(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, separators=(",", ":"))


_OUTCOME_UPSERT = ("ON CONFLICT (device_id, seq) DO UPDATE SET mutation_id = EXCLUDED.mutation_id, "
                   "fingerprint = EXCLUDED.fingerprint, status = EXCLUDED.status, result = EXCLUDED.result, "
                   "payload = EXCLUDED.payload")


async def _flush_postgres(connection: BaseDBAsyncClient, outcomes: list[Outcome], device: DeviceState | None,
                          changes: list[tuple[str, str, int, list[str], str | None]], events: list[list[Any]],
                          now: datetime) -> None:
    params = Params(connection)
    parts: list[str] = []
    if events:  # in the order they were taken (ORDINALITY): ids follow it
        columns = list(zip(*events))
        parts.append(
            f"e AS (INSERT INTO dossier_events ({', '.join(EVENT_COLUMNS)}) SELECT x.dossier_id, x.at, x.actor_id, "
            "x.action, x.from_status, x.to_status, x.from_unit_id, x.to_unit_id, x.note FROM unnest("
            f"{params.add(list(columns[0]))}::text[], {params.add(list(columns[1]))}::timestamptz[], "
            f"{params.add(list(columns[2]))}::int[], {params.add(list(columns[3]))}::text[], "
            f"{params.add(list(columns[4]))}::smallint[], {params.add(list(columns[5]))}::smallint[], "
            f"{params.add(list(columns[6]))}::int[], {params.add(list(columns[7]))}::int[], "
            f"{params.add(list(columns[8]))}::text[]) WITH ORDINALITY AS x(dossier_id, at, actor_id, action, "
            "from_status, to_status, from_unit_id, to_unit_id, note, i) ORDER BY x.i)")
    if outcomes:
        parts.append(
            "o AS (INSERT INTO mutation_outcomes (device_id, seq, mutation_id, fingerprint, status, result, payload, "
            "created_at) SELECT x.d, x.s, x.m, x.f, x.st, x.r::jsonb, x.p::jsonb, "
            f"{params.add(now)}::timestamptz FROM unnest({params.add([o.device_id for o in outcomes])}::text[], "
            f"{params.add([o.seq for o in outcomes])}::bigint[], {params.add([o.mutation_id for o in outcomes])}::text[], "
            f"{params.add([o.fingerprint for o in outcomes])}::text[], {params.add([o.status for o in outcomes])}::text[], "
            f"{params.add([_dumps(o.result) for o in outcomes])}::text[], "
            f"{params.add([_dumps(o.payload) for o in outcomes])}::text[]) AS x(d, s, m, f, st, r, p) "
            f"{_OUTCOME_UPSERT})")
    if device is not None:
        parts.append(f"d AS (UPDATE devices SET applied_seq = {params.add(device.applied_seq)}, "
                     f"last_seen_at = {params.add(now)} WHERE id = {params.add(device.device_id)})")
    log = _log_parts(params, changes, now)
    sql = "WITH " + ", ".join(parts + log) + \
        (" SELECT (SELECT count(*) FROM l) AS logged" if changes else " SELECT 0 AS logged")
    rows = await connection.execute_query_dict(sql, params.values)
    if changes and not int(rows[0]["logged"]):  # the first write ever: no counter row yet
        await SyncCounter.get_or_create(name=COUNTER, defaults={"head": 0})
        params = Params(connection)
        log = _log_parts(params, changes, now)
        await connection.execute_query_dict("WITH " + ", ".join(log) + " SELECT 1", params.values)


def _log_parts(params: Params, changes: list[tuple[str, str, int, list[str], str | None]], now: datetime) -> list[str]:
    """The change-log entries and their scopes (PostgreSQL), their positions taken from the counter's row."""
    if not changes:
        return []
    count = params.add(len(changes))
    scope_index = [i for i, change in enumerate(changes, 1) for _ in change[3]]
    return [
        f"c AS (UPDATE sync_counter SET head = head + {count} WHERE name = {params.add(COUNTER)} RETURNING head)",
        "l AS (INSERT INTO change_log (seq, entity, entity_id, version, mutation_id, at) "
        f"SELECT c.head - {count}::bigint + x.i, x.entity, x.entity_id, x.version, x.mutation_id, "
        f"{params.add(now)}::timestamptz FROM c, unnest({params.add([c[0] for c in changes])}::text[], "
        f"{params.add([c[1] for c in changes])}::text[], {params.add([c[2] for c in changes])}::int[], "
        f"{params.add([c[4] for c in changes])}::text[]) WITH ORDINALITY AS x(entity, entity_id, version, "
        "mutation_id, i) RETURNING seq)",
        f"s AS (INSERT INTO change_scopes (seq, scope) SELECT c.head - {count}::bigint + x.i, x.scope FROM c, "
        f"unnest({params.add(scope_index)}::bigint[], {params.add([s for c in changes for s in c[3]])}::text[]) "
        "AS x(i, scope))",
    ]


async def _insert_rows(connection: BaseDBAsyncClient, head: str, rows: list[list[Any]], tail: str = "") -> None:
    """A multi-row INSERT (SQLite), in chunks that stay under its parameter limit."""
    if not rows:
        return
    width = len(rows[0])
    chunk = max(1, 900 // width)
    for start in range(0, len(rows), chunk):
        part = rows[start:start + chunk]
        values = ", ".join("(" + ", ".join("?" * width) + ")" for _ in part)
        await connection.execute_query(f"{head} VALUES {values} {tail}", [v for row in part for v in row])


async def _flush_sqlite(connection: BaseDBAsyncClient, outcomes: list[Outcome], device: DeviceState | None,
                        changes: list[tuple[str, str, int, list[str], str | None]], now: datetime) -> None:
    await _insert_rows(
        connection,
        "INSERT INTO mutation_outcomes (device_id, seq, mutation_id, fingerprint, status, result, payload, created_at)",
        [[o.device_id, o.seq, o.mutation_id, o.fingerprint, o.status, _dumps(o.result), _dumps(o.payload),
          now] for o in outcomes], _OUTCOME_UPSERT)
    if device is not None:
        await connection.execute_query("UPDATE devices SET applied_seq = ?, last_seen_at = ? WHERE id = ?",
                                       [device.applied_seq, now, device.device_id])
    if not changes:
        return
    sql = "UPDATE sync_counter SET head = head + ? WHERE name = ? RETURNING head"
    rows = await connection.execute_query_dict(sql, [len(changes), COUNTER])
    if not rows:  # the first write ever
        await SyncCounter.get_or_create(name=COUNTER, defaults={"head": 0})
        rows = await connection.execute_query_dict(sql, [len(changes), COUNTER])
    first = int(rows[0]["head"]) - len(changes) + 1
    await _insert_rows(connection, "INSERT INTO change_log (seq, entity, entity_id, version, mutation_id, at)",
                       [[first + i, c[0], c[1], c[2], c[4], now] for i, c in enumerate(changes)])
    await _insert_rows(connection, "INSERT INTO change_scopes (seq, scope)",
                       [[first + i, scope] for i, c in enumerate(changes) for scope in c[3]])


async def append_change(entity: str, entity_id: str, version: int, scopes: frozenset[str],
                        mutation_id: str | None) -> int:
    """Take the next position under the counter's row lock (held to commit), so that a reader never sees
    position n + 1 committed while n is not (docs/sync.md §9). Must run inside a transaction."""
    connection = get_connection("default")
    if is_postgres(connection):
        # One statement, one round trip: the position, the entry and its scopes.
        sql = ("WITH c AS (UPDATE sync_counter SET head = head + 1 WHERE name = $1 RETURNING head), "
               "l AS (INSERT INTO change_log (seq, entity, entity_id, version, mutation_id, at) "
               "SELECT head, $2, $3, $4, $5, $6 FROM c RETURNING seq), "
               "s AS (INSERT INTO change_scopes (seq, scope) SELECT l.seq, x FROM l, unnest($7::text[]) AS x) "
               "SELECT seq FROM l")
        values = [COUNTER, entity, entity_id, version, mutation_id, datetime.now(timezone.utc), sorted(scopes)]
        rows = await connection.execute_query_dict(sql, values)
        if rows:
            return int(rows[0]["seq"])
        await SyncCounter.get_or_create(name=COUNTER, defaults={"head": 0})  # the first write ever
        rows = await connection.execute_query_dict(sql, values)
        return int(rows[0]["seq"])
    sql = f"UPDATE sync_counter SET head = head + 1 WHERE name = {param(1, connection)} RETURNING head"
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
