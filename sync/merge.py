"""Three-way merge per field (rule 3): a pure function, no storage.

For each changed field, compare the server's current value with the
device's base (what it last saw) and its new value:

* current == base   → the server did not move: take the device's value;
* current == value  → both ended at the same value: nothing to do;
* otherwise         → both moved differently: a conflict; the server keeps
  its value and the caller stores both in a conflict record.

A field missing from the record counts as ``null``.
"""

from __future__ import annotations

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
class MergeOutcome:
    apply: dict[str, Any] = field(default_factory=dict)  # fields to write
    unchanged: tuple[str, ...] = ()  # fields already equal to the device's value
    conflicts: tuple[FieldConflict, ...] = ()


def merge_fields(current: Mapping[str, Any], changes: Mapping[str, FieldChange]) -> MergeOutcome:
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
    return MergeOutcome(apply, tuple(unchanged), tuple(conflicts))
