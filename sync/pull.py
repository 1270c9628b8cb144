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
               own: dict[tuple[str, str], tuple[str, int]] | None = None) -> tuple[list[dict[str, Any]], str, bool]:
    """Return ``(changes, cursor, more)``.

    The page ends at the head read at the start, so every entry up to the
    returned cursor was committed when it was read (the store guarantees
    ordered visibility). A record that no longer admits the actor comes as
    a tombstone: ``deleted: true`` and no data.
    """
    async with store.reading():  # committed data only: no transaction needed
        page = await store.read_page(after, actor.scopes, limit + 1)
        head = page.head
        if after > head:
            raise BadCursor("cursor_ahead", reason("cursor_ahead"))
        refs = list(page.refs)
        more = len(refs) > limit
        refs = refs[:limit]
        changes: list[dict[str, Any]] = []
        for ref in refs:
            mine = own.get((ref.entity, ref.id)) if own else None
            if mine is not None and ref.version is not None and mine[1] == ref.version:
                # The record's latest change is this device's own sequential edit, committed in this round:
                # it already holds the data, so only the new version travels.
                changes.append({"entity": ref.entity, "id": ref.id, "version": mine[1], "own": mine[0]})
                continue
            key = (ref.entity, ref.id)
            record = page.records[key] if key in page.records else await store.load_record(ref.entity, ref.id)
            if record is not None and record.scopes & actor.scopes:
                changes.append(
                    {"entity": record.entity, "id": record.id, "version": record.version, "data": record.data, "deleted": False}
                )
            else:
                gone_version = record.version if record is not None else None
                changes.append({"entity": ref.entity, "id": ref.id, "version": gone_version, "data": None, "deleted": True})
    position = refs[-1].seq if more else head
    return changes, encode_cursor(max(position, after)), more
