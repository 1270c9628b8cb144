"""Conflicts (rules 3 and 4): detecting them by a three-way merge per field, and the conflict record's id and
data. Pure functions, no storage; sync/apply.py writes the records and applies resolutions.

For each changed field, compare the server's current value with the
device's base (what it last saw) and its new value:

* current == base   → the server did not move: take the device's value;
* current == value  → both ended at the same value: nothing to do;
* otherwise         → both moved differently: a conflict; the server keeps
  its value and the caller stores both in a conflict record.

A field missing from the record counts as ``null``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Mapping

from .protocol import FieldChange
from .values import same_value


@dataclass(frozen=True)
class FieldConflict:
    field: str
    base: Any
    server_value: Any
    device_value: Any


@dataclass(frozen=True)
class FieldMerge:
    apply: dict[str, Any] = field(default_factory=dict)  # fields to write
    unchanged: tuple[str, ...] = ()  # fields already equal to the device's value
    conflicts: tuple[FieldConflict, ...] = ()


def merge_fields(current: Mapping[str, Any], changes: Mapping[str, FieldChange]) -> FieldMerge:
    apply: dict[str, Any] = {}
    unchanged: list[str] = []
    conflicts: list[FieldConflict] = []
    for name, change in changes.items():
        server_value = current.get(name)
        if same_value(server_value, change.value):
            unchanged.append(name)
        elif same_value(server_value, change.base):
            apply[name] = change.value
        else:
            conflicts.append(FieldConflict(name, change.base, server_value, change.value))
    return FieldMerge(apply, tuple(unchanged), tuple(conflicts))


def conflict_id(mutation_id: str, field: str) -> str:
    """Derived, not random: a retried transaction creates the same conflict."""
    digest = hashlib.sha256(f"{mutation_id}\0{field}".encode("utf-8")).hexdigest()
    return f"cf-{digest[:32]}"


def open_conflict_data(entity: str, entity_id: str, conflict: FieldConflict, mutation_id: str, device_id: str,
                       actor: str, created: str) -> dict[str, Any]:
    """The data of a new conflict record (docs/sync.md R3): both values, who and when, still open."""
    return {
        "entity": entity,
        "entity_id": entity_id,
        "field": conflict.field,
        "base": conflict.base,
        "server_value": conflict.server_value,
        "device_value": conflict.device_value,
        "mutation_id": mutation_id,
        "device_id": device_id,
        "actor": actor,
        "status": "open",
        "created": created,
        "resolved_by": None,
        "resolution": None,
        "resolved_at": None,
    }
