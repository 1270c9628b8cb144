"""The Policy: the server's workflow, as the engine sees it (rule 5).

The engine knows how to order, merge and log; it does not know who may do
what. Every create, update, command and resolve is put to the Policy
*against the server's current state*, inside the mutation's transaction.
The server implements it with its workflow (statuses, roles, units); the
tests supply a small one (tests/test_sync_engine.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Protocol

from .model import Actor, Record
from .protocol import Mutation
from .reasons import Reason
from .store import Store


@dataclass(frozen=True)
class Rejection:
    """A refusal the device shows to its user: a code for programs and a
    Vietnamese/English reason for people."""

    code: str
    reason: Reason


class Policy(Protocol):
    # Entities devices may create and update ("conflict" is the engine's own).
    entities: frozenset[str]

    async def check_create(
        self, actor: Actor, entity: str, entity_id: str, values: Mapping[str, Any]
    ) -> Rejection | dict[str, Any]:
        """Refuse, or return the fields the server adds to the device's values
        (owner, initial status, unit). It must not drop device values: it
        refuses instead, so that nothing is lost silently."""
        ...

    async def check_update(self, actor: Actor, record: Record, changes: Mapping[str, Any]) -> Rejection | None:
        """May ``actor`` set these fields of ``record`` to these values (``changes``: field → new value) in its
        current state? The values are checked too: a record may be incomplete, never invalid.

        Also asked before a conflict resolution writes its field."""
        ...

    async def apply_command(
        self, actor: Actor, record: Record, command: str, args: Mapping[str, Any]
    ) -> Rejection | dict[str, Any]:
        """Refuse, or return the field changes the command makes
        (e.g. ``{"status": 1, "submitted_at": …}``). Never merged."""
        ...

    def scopes(self, record: Record) -> frozenset[str]:
        """Who may read ``record`` in its current state, as change-log tags."""
        ...

    async def after_write(
        self, store: Store, actor: Actor, before: Record | None, after: Record, mutation: Mutation
    ) -> None:
        """Called inside the same transaction after each accepted write of a
        device record, so the server can append its own rows atomically
        (processing-control events, notifications with their change-log
        entries). Do nothing if there is nothing to add."""
        ...
