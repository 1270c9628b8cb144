"""The effect of one valid mutation on the records (rules 3, 4, 5).

Runs inside the mutation's transaction, after the engine has decided that
this mutation's turn has come (rule 2). Returns the result the device will
see; the engine stores it as the outcome.
"""

from __future__ import annotations

import copy
from typing import Any, Callable

from .conflicts import FieldConflict, conflict_id, merge_fields, open_conflict_data
from .model import Actor, Record
from .policy import Policy, Rejection
from .protocol import CONFLICT_ENTITY, Mutation
from .reasons import reason
from .store import Store
from .values import same_value

Clock = Callable[[], str]


def rejected(mutation_id: str | None, code: str, message: Any) -> dict[str, Any]:
    return {"mutation_id": mutation_id, "status": "rejected", "code": code, "reason": message}


def _from_rejection(mutation: Mutation, rejection: Rejection) -> dict[str, Any]:
    return rejected(mutation.mutation_id, rejection.code, dict(rejection.reason))


def visible(record: Record | None, actor: Actor) -> bool:
    return record is not None and bool(record.scopes & actor.scopes)


class Applier:
    """Applies mutations for one actor and device with one store and policy."""

    def __init__(self, store: Store, policy: Policy, actor: Actor, device_id: str, clock: Clock) -> None:
        self.store = store
        self.policy = policy
        self.actor = actor
        self.device_id = device_id
        self.clock = clock
        # The last write of a sequential update: (entity, id, version). The engine keeps it once the
        # mutation's transaction has committed, so the pull can tell the device "your own edit, now version n".
        self.own_write: tuple[str, str, int] | None = None

    async def apply(self, mutation: Mutation) -> dict[str, Any]:
        handler = {
            "create": self._create,
            "update": self._update,
            "command": self._command,
            "resolve": self._resolve,
        }[mutation.op]
        return await handler(mutation)

    async def _write(
        self, record: Record, mutation: Mutation, before: Record | None, scopes: frozenset[str] | None = None
    ) -> None:
        """Bump the version, recompute scopes, save, log, and let the server add its rows.

        ``scopes`` is given for conflicts, which take their record's audience
        (the Policy knows device entities only)."""
        old_scopes = before.scopes if before else frozenset()
        record.version += 1
        record.scopes = frozenset(self.policy.scopes(record)) if scopes is None else scopes
        await self.store.save_record(record)
        # Old readers hear of the change too, so a record that leaves their
        # scope reaches them as a tombstone instead of staying stale.
        await self.store.append_change(record, record.scopes | old_scopes, mutation.mutation_id)
        if record.entity != CONFLICT_ENTITY:
            await self.policy.after_write(self.store, self.actor, before, record, mutation)

    async def _create(self, m: Mutation) -> dict[str, Any]:
        existing = await self.store.load_record(m.entity, m.entity_id, for_update=True)
        if existing is not None:
            return rejected(m.mutation_id, "exists", reason("exists"))
        values = {name: change.value for name, change in m.changes.items()}
        verdict = await self.policy.check_create(self.actor, m.entity, m.entity_id, values)
        if isinstance(verdict, Rejection):
            return _from_rejection(m, verdict)
        record = Record(m.entity, m.entity_id, 0, {**values, **verdict})
        await self._write(record, m, None)
        return {"mutation_id": m.mutation_id, "status": "applied", "version": record.version, "edit": "sequential"}

    async def _load_visible(self, entity: str, record_id: str) -> Record | None:
        record = await self.store.load_record(entity, record_id, for_update=True)
        return record if visible(record, self.actor) else None

    async def _update(self, m: Mutation) -> dict[str, Any]:
        record = await self._load_visible(m.entity, m.entity_id)
        if record is None:
            return rejected(m.mutation_id, "not_found", reason("not_found"))
        assert m.base_version is not None  # parse_mutation requires it for updates
        if m.base_version > record.version:
            return rejected(
                m.mutation_id,
                "bad_base_version",
                reason("bad_base_version", base_version=m.base_version, version=record.version),
            )
        verdict = await self.policy.check_update(self.actor, record, {f: c.value for f, c in m.changes.items()})
        if isinstance(verdict, Rejection):
            return _from_rejection(m, verdict)
        sequential = record.version == m.base_version
        merged = merge_fields(record.data, m.changes)
        if merged.apply:
            before = copy.deepcopy(record)
            record.data.update(merged.apply)
            await self._write(record, m, before)
        conflict_ids = [await self._open_conflict(m, record, c) for c in merged.conflicts]
        result: dict[str, Any] = {"mutation_id": m.mutation_id, "version": record.version}
        if conflict_ids:
            result.update(status="conflict", edit="parallel", conflicts=conflict_ids)
        elif sequential:
            result.update(status="applied", edit="sequential")
            if merged.apply:
                self.own_write = (record.entity, record.id, record.version)
        else:
            result.update(status="merged", edit="parallel")
        return result

    async def _open_conflict(self, m: Mutation, record: Record, c: FieldConflict) -> str:
        assert m.mutation_id is not None  # only a device's update can conflict
        conflict = Record(
            CONFLICT_ENTITY,
            conflict_id(m.mutation_id, c.field),
            0,
            open_conflict_data(record.entity, record.id, c, m.mutation_id, self.device_id, self.actor.user_id,
                               self.clock()),
        )
        # Both sides see it: whoever may read the record.
        await self._write(conflict, m, None, scopes=record.scopes)
        return conflict.id

    async def _command(self, m: Mutation) -> dict[str, Any]:
        record = await self._load_visible(m.entity, m.entity_id)
        if record is None:
            return rejected(m.mutation_id, "not_found", reason("not_found"))
        assert m.command is not None
        verdict = await self.policy.apply_command(self.actor, record, m.command, m.args)
        if isinstance(verdict, Rejection):
            return _from_rejection(m, verdict)
        before = copy.deepcopy(record)
        record.data.update(verdict)
        await self._write(record, m, before)
        return {"mutation_id": m.mutation_id, "status": "applied", "version": record.version, "edit": "sequential"}

    async def _resolve(self, m: Mutation) -> dict[str, Any]:
        conflict = await self._load_visible(CONFLICT_ENTITY, m.entity_id)
        if conflict is None:
            return rejected(m.mutation_id, "not_found", reason("not_found"))
        info = conflict.data
        if info["status"] != "open":
            return rejected(
                m.mutation_id, "already_resolved", reason("already_resolved", resolved_by=info["resolved_by"])
            )
        target = await self._load_visible(info["entity"], info["entity_id"])
        if target is None:
            return rejected(m.mutation_id, "not_found", reason("not_found"))
        field = info["field"]
        change = m.changes["value"]
        seen = change.base if change.has_base else info["server_value"]
        current = target.data.get(field)
        if not same_value(current, seen) and not same_value(current, change.value):
            # Overwriting a value the resolver never saw would drop it silently.
            return rejected(m.mutation_id, "stale_resolution", reason("stale_resolution"))
        verdict = await self.policy.check_update(self.actor, target, {field: change.value})
        if isinstance(verdict, Rejection):
            return _from_rejection(m, verdict)
        if not same_value(current, change.value):
            before = copy.deepcopy(target)
            target.data[field] = change.value
            await self._write(target, m, before)
        info.update(
            status="resolved",
            resolved_by=self.actor.user_id,
            resolution=change.value,
            resolved_at=self.clock(),
            resolved_mutation_id=m.mutation_id,
        )
        await self._write(conflict, m, copy.deepcopy(conflict), scopes=target.scopes)
        return {
            "mutation_id": m.mutation_id,
            "status": "applied",
            "version": target.version,
            "edit": "sequential",
            "conflicts": [conflict.id],
        }
