"""What the engine stores, independent of any database.

These are plain values; a Store persists them (docs/sync.md §9 gives a
table layout). ``Record`` covers every synced entity, conflicts included,
so that one change log and one pull serve them all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Actor:
    """Who sends the request, as the server's authentication established it.

    ``scopes`` are the change-log tags this actor may read, e.g.
    ``{"user:42"}`` for a citizen, ``{"user:7", "unit:H57"}`` for an officer.
    ``role`` is interpreted by the Policy only.
    """

    user_id: str
    role: str
    scopes: frozenset[str]
    unit_id: str | None = None


@dataclass
class Record:
    entity: str
    id: str
    version: int
    data: dict[str, Any]
    # Who may see it: computed by the Policy at every write and stored, so
    # that reads never need the Policy.
    scopes: frozenset[str] = field(default_factory=frozenset)


@dataclass
class DeviceState:
    """Per device: the owner, and the highest seq applied contiguously."""

    device_id: str
    user_id: str
    applied_seq: int = 0


# Outcome statuses. "held" is the only one that is not final.
FINAL_STATUSES = frozenset({"applied", "merged", "conflict", "rejected", "lost"})


@dataclass
class Outcome:
    """What happened to one device seq.

    A outcome occupies ``(device_id, seq)``. ``mutation_id`` is ``None``
    only for a seq the device declared lost before any mutation with it
    arrived. ``payload`` is the raw mutation while it is held, and
    ``None`` once the outcome is final.
    """

    device_id: str
    seq: int
    mutation_id: str | None
    fingerprint: str | None
    status: str
    result: dict[str, Any]
    payload: dict[str, Any] | None = None


@dataclass(frozen=True)
class ChangeRef:
    """The latest change-log entry of one record, as returned to a pull."""

    seq: int
    entity: str
    id: str
    version: int | None = None  # the record's version that this change wrote, when the store knows it


@dataclass
class Page:
    """What a pull reads (``Store.read_page``): the head, the page of changes up to it, and the records of those
    changes that the store read along with them (a record missing here is loaded with ``load_record``)."""

    head: int
    refs: list[ChangeRef]
    records: dict[tuple[str, str], Record | None] = field(default_factory=dict)
