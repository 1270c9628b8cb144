"""The pull half of a round (rule 7): what changed since the cursor that
this actor may see, one entry per record with its current state."""

from __future__ import annotations

from typing import Any

from .cursor import encode_cursor
from .errors import BadCursor
from .model import Actor
from .reasons import reason
from .store import Store


async def pull(store: Store, actor: Actor, after: int, limit: int,
               own: dict[tuple[int, str, str], tuple[str, int]] | None = None) -> tuple[list[dict[str, Any]], str, bool]:
    """Return ``(changes, cursor, more)``.

    The page ends at the head read at the start, so every entry up to the
    returned cursor was committed when it was read (the store guarantees
    ordered visibility). A record that no longer admits the actor comes as
    a tombstone: ``deleted: true`` and no data.
    """
    async with store.transaction():
        head = await store.head_seq()
        if after > head:
            raise BadCursor("cursor_ahead", reason("cursor_ahead"))
        refs = list(await store.changes_since(after, head, actor.scopes, limit + 1))
        more = len(refs) > limit
        refs = refs[:limit]
        changes: list[dict[str, Any]] = []
        for ref in refs:
            if own and (ref.seq, ref.entity, ref.id) in own:
                # The record's latest change is this device's own sequential edit, committed in this round:
                # it already holds the data, so only the new version travels.
                mutation_id, version = own[(ref.seq, ref.entity, ref.id)]
                changes.append({"entity": ref.entity, "id": ref.id, "version": version, "own": mutation_id})
                continue
            record = await store.load_record(ref.entity, ref.id)
            if record is not None and record.scopes & actor.scopes:
                changes.append(
                    {"entity": record.entity, "id": record.id, "version": record.version, "data": record.data, "deleted": False}
                )
            else:
                version = record.version if record is not None else None
                changes.append({"entity": ref.entity, "id": ref.id, "version": version, "data": None, "deleted": True})
    position = refs[-1].seq if more else head
    return changes, encode_cursor(max(position, after)), more
