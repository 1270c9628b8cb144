"""The pull half of a round (rule 7): what changed since the cursor that
this actor may see, one entry per record with its current state."""

from __future__ import annotations

from typing import Any

from .cursor import encode_cursor
from .errors import BadCursor
from .model import Actor
from .reasons import reason
from .store import Store


async def pull(store: Store, actor: Actor, after: int, limit: int) -> tuple[list[dict[str, Any]], str, bool]:
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
