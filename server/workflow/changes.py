"""The one write path: every change a user makes to a dossier goes through the sync engine's apply step.

A phone's mutation arrives by POST /api/sync (server/dossiers/sync_routes.py → sync.engine.sync_round); every
other change made on a user's behalf — the REST create (POST /api/dossiers), an officer's step taken online —
is a mutation too, applied here by the same `sync.apply.Applier`, with the workflow as its Policy
(server/workflow/policy.py) and the tortoise Store (server/dossiers/store.py). So each change is checked by the
Policy, gets its new version, its change-log entry (for its old and new readers) and its processing-control
event in one place, whichever door it came in by (docs/architecture.md "One write path").

Records the server writes itself and devices only read (attachments: docs/sync.md §11) are logged by
`attachment_written`, the one place besides the engine that appends to the change log.

Changes applied here carry no mutation id and no device: nobody resends them, so no outcome is stored for
exactly-once (docs/sync.md R1); the caller receives the outcome and answers with it.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Mapping, Sequence

from server.accounts.access import actor_for, claimant
from server.dossiers.store import TortoiseStore, attachment_record
from server.models import Attachment, Dossier, User
from server.workflow.policy import DossierPolicy
from sync.apply import Applier
from sync.protocol import FieldChange, Mutation


class Refused(Exception):
    """A change the Policy (or the engine) refused: `outcome` is the sync engine's rejection."""

    def __init__(self, outcome: dict[str, Any]) -> None:
        super().__init__(outcome["code"])
        self.outcome = outcome
        self.code: str = outcome["code"]
        self.reason: dict[str, str] = outcome["reason"]


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def create(entity_id: str, values: Mapping[str, Any], entity: str = "dossier") -> Mutation:
    """A "create" mutation made on the server, as a device would send it (docs/sync.md §4.1)."""
    return Mutation(None, 0, entity, entity_id, "create", None,
                    {name: FieldChange(None, value, has_base=False) for name, value in values.items()})


def command(entity_id: str, name: str, args: Mapping[str, Any] | None = None, entity: str = "dossier") -> Mutation:
    """A "command" mutation made on the server (a workflow step: submit, receive, forward, …)."""
    return Mutation(None, 0, entity, entity_id, "command", None, {}, command=name, args=dict(args or {}))


async def apply(user: User, mutations: Sequence[Mutation], *, commune_codes: set[str],
                device_id: str | None = None) -> list[dict[str, Any]]:
    """Apply `mutations` in order on behalf of `user`, all in one transaction, through the sync engine's apply
    step: all of them or none. Returns their outcomes; the first refusal rolls everything back and raises
    :class:`Refused` with its outcome."""
    store = TortoiseStore()
    applier = Applier(store, DossierPolicy(commune_codes, device_id), actor_for(user), device_id or "", _now)
    outcomes: list[dict[str, Any]] = []
    async with store.transaction():
        for mutation in mutations:
            outcome = await applier.apply(mutation)
            if outcome["status"] == "rejected":
                raise Refused(outcome)
            outcomes.append(outcome)
    return outcomes


async def claim(user: User, dossier: Dossier, proof: Mapping[str, Any]) -> dict[str, Any]:
    """Make a walk-in dossier `user`'s (the `claim` step, server/workflow/ownership.py) with `proof`: through the
    apply step, as the claimant (accounts/access.py `claimant`), so the change log, the event and the new owner's
    next pull come as for any step. Raises :class:`Refused` when the Policy says no."""
    store = TortoiseStore()
    applier = Applier(store, DossierPolicy(set()), claimant(user, dossier), "", _now)
    async with store.transaction():
        outcome = await applier.apply(command(dossier.id, "claim", proof))
        if outcome["status"] == "rejected":
            raise Refused(outcome)
    return outcome


async def attachment_written(attachment: Attachment, dossier: Dossier) -> int:
    """Log a write of an attachment row (registered, verified, rejected, renumbered, reused) so that the devices
    that may read its dossier pull it (docs/sync.md §11). Call it in the transaction that wrote the row, after the
    row's version was bumped; returns the change-log position."""
    record = await attachment_record(attachment, dossier)
    return await TortoiseStore().append_change(record, record.scopes, None)
