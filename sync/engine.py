"""One sync round: push the device's mutations in seq order, then pull (rule 8).

This module owns exactly-once (rule 1) and per-device order (rule 2); the
effect of each mutation is in ``apply.py``, the pull in ``pull.py``.

Transactions: one for the pre-check, one per mutation, one per lost seq, one
per held mutation that becomes applicable, one for the pull. A result is
returned only for work whose transaction committed; if the process dies in
between, the device resends and receives the stored receipts.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from .apply import Applier, Clock, rejected
from .cursor import decode_cursor
from .errors import BadCursor, Forbidden, MutationIdReused
from .model import Actor, Receipt
from .policy import Policy
from .protocol import MAX_SEQ_AHEAD, Envelope, SyncRequest, check_request_size, parse_envelope, parse_request
from .pull import pull
from .reasons import reason
from .store import Store


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


async def sync_round(
    store: Store,
    policy: Policy,
    actor: Actor,
    body: Any,
    *,
    body_bytes: int | None = None,
    clock: Clock = utc_now,
) -> dict[str, Any]:
    """Handle one ``POST /api/sync`` body (already decoded from JSON).

    Raises a :class:`~sync.errors.SyncRequestError` for a request that is
    refused as a whole (400, 403, 409, 413); otherwise returns the response
    object. ``body_bytes`` is the raw body length, when the caller has it.
    """
    if body_bytes is not None:
        check_request_size(body_bytes)
    request = parse_request(body, policy.entities)
    after = decode_cursor(request.cursor)
    round_ = _Round(store, policy, actor, request, clock)
    await round_.precheck(after)
    results = await round_.push()
    own = round_.own_writes if request.own == "version" else None
    changes, cursor, more = await pull(store, actor, after, request.limit, own=own)
    return {"results": results, "changes": changes, "cursor": cursor, "more": more, "lost": list(request.lost)}


def _held_result(mutation_id: str, expected: int) -> dict[str, Any]:
    return {"mutation_id": mutation_id, "status": "held", "code": "held", "reason": reason("held", expected=expected)}


def _lost_result(mutation_id: str | None) -> dict[str, Any]:
    return {"mutation_id": mutation_id, "status": "lost", "code": "lost", "reason": reason("lost")}


def _occupied(envelope: Envelope, slot: Receipt | None) -> dict[str, Any]:
    """A seq that is already taken: not stored, since it changes nothing."""
    if slot is not None and slot.mutation_id is None and slot.status == "lost":
        return rejected(envelope.mutation_id, "declared_lost", reason("declared_lost", seq=envelope.seq))
    return rejected(envelope.mutation_id, "seq_taken", reason("seq_taken", seq=envelope.seq))


class _Round:
    def __init__(self, store: Store, policy: Policy, actor: Actor, request: SyncRequest, clock: Clock) -> None:
        self.store = store
        self.policy = policy
        self.actor = actor
        self.request = request
        self.device_id = request.device_id
        self.applier = Applier(store, policy, actor, request.device_id, clock)
        self.drained: list[dict[str, Any]] = []
        self.own_writes: dict[tuple[int, str, str], tuple[str, int]] = {}  # committed sequential edits
        # Whether a held (or lost) receipt waits right after the applied seq: only then is a drain
        # transaction worth running. Set by the pre-check and after each applied mutation.
        self.maybe_waiting = True

    async def precheck(self, after: int) -> None:
        """Refuse the whole request before anything is applied (rule 1).

        A concurrent request could still store a receipt for one of these
        ids between this check and its turn; the per-mutation check then
        raises the same 409 after the earlier mutations committed (they are
        idempotent, so the device's retry is harmless).
        """
        reused: list[str] = []
        seen: dict[str, str] = {}
        async with self.store.transaction():
            device = await self.store.lock_device(self.device_id, self.actor.user_id)
            if device.user_id != self.actor.user_id:
                raise Forbidden("device_owner_mismatch", reason("device_owner_mismatch"))
            if after > await self.store.head_seq():
                raise BadCursor("cursor_ahead", reason("cursor_ahead"))
            self.maybe_waiting = await self.store.get_receipt_at(self.device_id, device.applied_seq + 1) is not None
            for envelope in self.request.envelopes:
                if not envelope.placeable:
                    continue
                assert envelope.mutation_id is not None and envelope.fingerprint is not None
                if seen.setdefault(envelope.mutation_id, envelope.fingerprint) != envelope.fingerprint:
                    reused.append(envelope.mutation_id)
                    continue
                receipt = await self.store.get_receipt(envelope.mutation_id)
                if receipt is not None and receipt.fingerprint != envelope.fingerprint:
                    reused.append(envelope.mutation_id)
        if reused:
            raise MutationIdReused(reused)

    async def push(self) -> list[dict[str, Any]]:
        """Results for the request's mutations in request order, then the
        final results of earlier-held mutations that this round applied."""
        if self.maybe_waiting:
            await self._drain()  # finishes work a killed process left behind
        for seq in self.request.lost:
            await self._declare_lost(seq)
        results: dict[int, dict[str, Any]] = {}
        placeable = [e for e in self.request.envelopes if e.placeable]
        for envelope in self.request.envelopes:
            if not envelope.placeable:
                results[envelope.index] = rejected(
                    envelope.mutation_id, "malformed", reason("malformed", detail=envelope.error or "?")
                )
        for envelope in sorted(placeable, key=lambda e: (e.seq, e.index)):
            results[envelope.index] = await self._process(envelope)
            if self.maybe_waiting:
                await self._drain()
        in_request = {e.mutation_id for e in self.request.envelopes}
        extra = [r for r in self.drained if r["mutation_id"] not in in_request]
        return [results[e.index] for e in self.request.envelopes] + extra

    async def _apply_envelope(self, envelope: Envelope) -> dict[str, Any]:
        if envelope.mutation is None:
            return rejected(envelope.mutation_id, "malformed", reason("malformed", detail=envelope.error or "?"))
        return await self.applier.apply(envelope.mutation)

    async def _process(self, envelope: Envelope) -> dict[str, Any]:
        self.applier.own_write = None
        result = await self._process_committed(envelope)
        if self.applier.own_write is not None and result.get("status") == "applied":
            seq, entity, record_id, version = self.applier.own_write
            self.own_writes[(seq, entity, record_id)] = (envelope.mutation_id or "", version)
        self.applier.own_write = None
        return result

    async def _process_committed(self, envelope: Envelope) -> dict[str, Any]:
        assert envelope.mutation_id is not None and envelope.seq is not None
        async with self.store.transaction():
            device = await self.store.lock_device(self.device_id, self.actor.user_id)
            existing = await self.store.get_receipt(envelope.mutation_id)
            if existing is not None:
                if existing.fingerprint != envelope.fingerprint:
                    raise MutationIdReused([envelope.mutation_id])
                return dict(existing.result)  # duplicate: the stored result, nothing changes
            slot = await self.store.get_receipt_at(self.device_id, envelope.seq)
            if envelope.seq <= device.applied_seq or slot is not None:
                return _occupied(envelope, slot)
            expected = device.applied_seq + 1
            if envelope.seq > expected:
                if envelope.seq > device.applied_seq + MAX_SEQ_AHEAD:
                    return rejected(
                        envelope.mutation_id,
                        "seq_too_far",
                        reason("seq_too_far", seq=envelope.seq, applied=device.applied_seq),
                    )
                result = _held_result(envelope.mutation_id, expected)
                await self.store.save_receipt(
                    Receipt(
                        self.device_id,
                        envelope.seq,
                        envelope.mutation_id,
                        envelope.fingerprint,
                        "held",
                        result,
                        payload=envelope.raw,
                    )
                )
                return dict(result)
            result = await self._apply_envelope(envelope)
            await self.store.save_receipt(
                Receipt(self.device_id, envelope.seq, envelope.mutation_id, envelope.fingerprint, result["status"], result)
            )
            device.applied_seq = envelope.seq
            await self.store.save_device(device)
            # A mutation held earlier may be next in line now: only then is a drain worth a transaction.
            self.maybe_waiting = await self.store.get_receipt_at(self.device_id, envelope.seq + 1) is not None
            return dict(result)

    async def _declare_lost(self, seq: int) -> None:
        async with self.store.transaction():
            device = await self.store.lock_device(self.device_id, self.actor.user_id)
            if seq <= device.applied_seq:
                return  # already final: applied, rejected or lost; nothing to undo
            slot = await self.store.get_receipt_at(self.device_id, seq)
            if slot is None:
                await self.store.save_receipt(Receipt(self.device_id, seq, None, None, "lost", _lost_result(None)))
            elif slot.status == "held":
                # The device gave it up before its turn came: it will never apply.
                slot.status, slot.result, slot.payload = "lost", _lost_result(slot.mutation_id), None
                await self.store.save_receipt(slot)
        await self._drain()

    async def _drain(self) -> None:
        """Apply held mutations (and skip lost seqs) that became contiguous."""
        while True:
            async with self.store.transaction():
                device = await self.store.lock_device(self.device_id, self.actor.user_id)
                slot = await self.store.get_receipt_at(self.device_id, device.applied_seq + 1)
                if slot is None:
                    self.maybe_waiting = False
                    return
                if slot.status == "held":
                    assert slot.payload is not None
                    envelope = parse_envelope(0, slot.payload, self.device_id, self.policy.entities)
                    result = await self._apply_envelope(envelope)
                    slot.status, slot.result, slot.payload = result["status"], result, None
                    await self.store.save_receipt(slot)
                    self.drained.append(dict(result))
                device.applied_seq += 1
                await self.store.save_device(device)
