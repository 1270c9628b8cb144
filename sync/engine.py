"""One sync round: push the device's mutations in seq order, then pull (rule 8).

This module owns exactly-once (rule 1) and per-device order (rule 2); the
effect of each mutation is in ``apply.py``, the pull in ``pull.py``.

Transactions: a round with something to push (mutations or lost seqs) runs
the pre-check and the whole push in ONE transaction, with the device row
locked from its first statement to the commit. The pull comes after, in
``store.reading()`` (no transaction on a server database: it reads committed
data only). A no-op round (nothing to push) reads the device without a
transaction, and opens one only when a held mutation waits to be drained or
the device row does not exist yet. A result is returned only for work whose
transaction committed; if the process dies in between, the device resends and
receives the stored outcomes.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from .apply import Applier, Clock, rejected
from .cursor import decode_cursor
from .errors import BadCursor, Forbidden, MutationIdReused
from .model import Actor, DeviceState, Outcome
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
    results: list[dict[str, Any]] = []
    if request.envelopes or request.lost or not await round_.quick_check(after):
        async with store.transaction():
            await round_.precheck(after)
            results = await round_.push()
    own = round_.own_writes if request.own == "version" else None
    changes, cursor, more = await pull(store, actor, after, request.limit, own=own)
    return {"results": results, "changes": changes, "cursor": cursor, "more": more, "lost": list(request.lost)}


def _held_result(mutation_id: str, expected: int) -> dict[str, Any]:
    return {"mutation_id": mutation_id, "status": "held", "code": "held", "reason": reason("held", expected=expected)}


def _lost_result(mutation_id: str | None) -> dict[str, Any]:
    return {"mutation_id": mutation_id, "status": "lost", "code": "lost", "reason": reason("lost")}


def _occupied(envelope: Envelope, slot: Outcome | None) -> dict[str, Any]:
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
        self.own_writes: dict[tuple[str, str], tuple[str, int]] = {}  # committed sequential edits
        # Whether a held (or lost) outcome waits right after the applied seq: only then is a drain
        # transaction worth running. Set by the pre-check and after each applied mutation.
        self.maybe_waiting = True
        self.device: DeviceState  # locked by the pre-check for the whole push
        self.device_moved = False  # applied_seq changed: saved once, at the end of the push

    async def precheck(self, after: int) -> None:
        """Refuse the whole request before anything is applied (rule 1).

        A concurrent request could still store an outcome for one of these
        ids between this check and its turn; the per-mutation check then
        raises the same 409 after the earlier mutations committed (they are
        idempotent, so the device's retry is harmless).
        """
        reused: list[str] = []
        seen: dict[str, str] = {}
        device = self.device = await self.store.lock_device(self.device_id, self.actor.user_id)
        if device.user_id != self.actor.user_id:
            raise Forbidden("device_owner_mismatch", reason("device_owner_mismatch"))
        placeable = [e for e in self.request.envelopes if e.placeable]
        # One query for every outcome this round may look at (the device row is locked: they stay put), the
        # head, and what the mutations will look up first.
        seqs = {device.applied_seq + 1, *self.request.lost}
        for envelope in placeable:
            assert envelope.seq is not None
            seqs.update((envelope.seq, envelope.seq + 1))
        await self.store.prefetch_outcomes(self.device_id, [e.mutation_id for e in placeable if e.mutation_id],
                                           sorted(seqs), [e.mutation for e in placeable if e.mutation is not None])
        if after > 0 and after > await self.store.head_seq():
            raise BadCursor("cursor_ahead", reason("cursor_ahead"))
        self.maybe_waiting = await self.store.get_outcome_at(self.device_id, device.applied_seq + 1) is not None
        for envelope in placeable:
            assert envelope.mutation_id is not None and envelope.fingerprint is not None
            if seen.setdefault(envelope.mutation_id, envelope.fingerprint) != envelope.fingerprint:
                reused.append(envelope.mutation_id)
                continue
            outcome = await self.store.get_outcome(envelope.mutation_id)
            if outcome is not None and outcome.fingerprint != envelope.fingerprint:
                reused.append(envelope.mutation_id)
        if reused:
            raise MutationIdReused(reused)

    async def quick_check(self, after: int) -> bool:
        """A round with nothing to push, without a transaction: True when it needs none (the device
        exists, belongs to the actor, and no held or lost outcome waits to be drained)."""
        async with self.store.reading():
            found = await self.store.get_device(self.device_id)
        if found is None:
            return False  # created (and locked) by the pre-check's transaction
        device, waiting = found
        if device.user_id != self.actor.user_id:
            raise Forbidden("device_owner_mismatch", reason("device_owner_mismatch"))
        # A cursor ahead of the head is refused by the pull, before anything is answered: nothing is pushed.
        return not waiting

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
        if self.device_moved:
            await self.store.save_device(self.device)
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
            entity, record_id, version = self.applier.own_write
            self.own_writes[(entity, record_id)] = (envelope.mutation_id or "", version)
        self.applier.own_write = None
        return result

    async def _process_committed(self, envelope: Envelope) -> dict[str, Any]:
        assert envelope.mutation_id is not None and envelope.seq is not None
        # Inside the round's transaction, the device row locked by the pre-check.
        device = self.device
        existing = await self.store.get_outcome(envelope.mutation_id)
        if existing is not None:
            if existing.fingerprint != envelope.fingerprint:
                raise MutationIdReused([envelope.mutation_id])
            return dict(existing.result)  # duplicate: the stored result, nothing changes
        slot = await self.store.get_outcome_at(self.device_id, envelope.seq)
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
            await self.store.save_outcome(
                Outcome(
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
        await self.store.save_outcome(
            Outcome(self.device_id, envelope.seq, envelope.mutation_id, envelope.fingerprint, result["status"], result)
        )
        device.applied_seq = envelope.seq
        self.device_moved = True
        # A mutation held earlier may be next in line now: only then is a drain worth running.
        self.maybe_waiting = await self.store.get_outcome_at(self.device_id, envelope.seq + 1) is not None
        return dict(result)

    async def _declare_lost(self, seq: int) -> None:
        # Inside the round's transaction.
        device = self.device
        if seq <= device.applied_seq:
            return  # already final: applied, rejected or lost; nothing to undo
        slot = await self.store.get_outcome_at(self.device_id, seq)
        if slot is None:
            await self.store.save_outcome(Outcome(self.device_id, seq, None, None, "lost", _lost_result(None)))
        elif slot.status == "held":
            # The device gave it up before its turn came: it will never apply.
            slot.status, slot.result, slot.payload = "lost", _lost_result(slot.mutation_id), None
            await self.store.save_outcome(slot)
        await self._drain()

    async def _drain(self) -> None:
        """Apply held mutations (and skip lost seqs) that became contiguous."""
        while True:
            # Inside the round's transaction.
            device = self.device
            slot = await self.store.get_outcome_at(self.device_id, device.applied_seq + 1)
            if slot is None:
                self.maybe_waiting = False
                return
            if slot.status == "held":
                assert slot.payload is not None
                envelope = parse_envelope(0, slot.payload, self.device_id, self.policy.entities)
                result = await self._apply_envelope(envelope)
                slot.status, slot.result, slot.payload = result["status"], result, None
                await self.store.save_outcome(slot)
                self.drained.append(dict(result))
            device.applied_seq += 1
            self.device_moved = True
