"""The wire format of ``POST /api/sync``: limits, parsed types, validation.

Parsing is split in two levels, because the rules differ (docs/sync.md §5):
the *envelope* (device id, cursor, limit, lost, the mutations list) is
all-or-nothing — a bad envelope is a 400/413 for the whole request — while
each *mutation* is validated alone, so one malformed mutation is rejected by
itself and the others still apply (rule 6).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal, Mapping

from .errors import BadRequest, RequestTooLarge
from .fingerprint import fingerprint
from .reasons import reason
from .values import json_size, normalize

# Limits (docs/sync.md §6). A device splits its outbox to stay under them.
MAX_MUTATIONS = 500  # mutations per request
MAX_REQUEST_BYTES = 1024 * 1024  # 1 MiB of request body, checked by the server on the raw bytes
MAX_VALUE_BYTES = 64 * 1024  # canonical JSON of one field value, or of a command's args
MAX_FIELDS = 200  # fields changed by one mutation
MAX_LOST = MAX_MUTATIONS  # seqs declared lost per request
MAX_SEQ_AHEAD = 10_000  # how far past the last applied seq a mutation may be held
DEFAULT_PULL_LIMIT = 200
MAX_PULL_LIMIT = 500

# Ids are generated on devices: UUIDv7 (36 chars with hyphens) or ULID (26 chars) fit.
ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
# Room for "form." + a form field name (docs/forms.md: ^[a-z][a-z0-9_]{0,63}$).
FIELD_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]{0,127}$")
COMMAND_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
# Fields the engine owns; a mutation never names them.
RESERVED_FIELDS = frozenset({"id", "version"})
CONFLICT_ENTITY = "conflict"

Op = Literal["create", "update", "command", "resolve"]


@dataclass(frozen=True)
class FieldChange:
    """One field of a mutation: the value the device last saw, and its new value."""

    base: Any
    value: Any
    # Whether the device sent "base" at all: a resolve without it means
    # "the server value shown in the conflict".
    has_base: bool = True


@dataclass(frozen=True)
class Mutation:
    """A valid mutation, ready to apply.

    ``mutation_id`` is ``None`` (and ``seq`` 0) only for a change the server
    makes on a user's behalf, outside any device's outbox (a create or a step
    taken through the REST API): nobody resends it, so no outcome is stored."""

    mutation_id: str | None
    seq: int
    entity: str
    entity_id: str
    op: Op
    base_version: int | None
    changes: Mapping[str, FieldChange]
    command: str | None = None
    args: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Envelope:
    """One element of ``mutations`` as received.

    ``placeable`` means it has a usable mutation id and seq, so it takes part
    in per-device ordering and gets a stored outcome even if it is malformed
    (its seq is consumed by the rejection, so it never blocks later ones).
    ``raw`` is kept because held mutations are stored raw and parsed again
    when their turn comes.
    """

    index: int
    raw: Any
    mutation_id: str | None
    seq: int | None
    fingerprint: str | None
    mutation: Mutation | None
    error: str | None  # detail of the "malformed" rejection

    @property
    def placeable(self) -> bool:
        return self.mutation_id is not None and self.seq is not None and self.fingerprint is not None


@dataclass(frozen=True)
class SyncRequest:
    device_id: str
    cursor: str | None
    limit: int
    lost: tuple[int, ...]
    envelopes: tuple[Envelope, ...]
    # "version": the device's own sequential edits come back as their new version only (docs/sync.md §5.1).
    own: str = "full"


class Malformed(ValueError):
    """Raised inside mutation parsing; becomes a "malformed" result."""


def _is_int(value: Any) -> bool:
    # bool is an int in Python but not in JSON.
    return isinstance(value, int) and not isinstance(value, bool)


def _check_id(value: Any, what: str) -> str:
    if not isinstance(value, str) or not ID_PATTERN.match(value):
        raise Malformed(f"{what} must be 1–64 characters of A–Z a–z 0–9 _ -")
    return value


def _check_value(value: Any, what: str) -> Any:
    try:
        size = json_size(value)
    except (TypeError, ValueError):
        raise Malformed(f"{what} is not a JSON value") from None
    if size > MAX_VALUE_BYTES:
        raise Malformed(f"{what} is {size} bytes, more than {MAX_VALUE_BYTES}")
    return normalize(value)


def _parse_changes(raw: Any, op: str) -> dict[str, FieldChange]:
    if raw is None and op == "command":
        return {}
    if not isinstance(raw, dict):
        raise Malformed("changes must be an object")
    if op == "command":
        if raw:
            raise Malformed("a command carries args, not changes")
        return {}
    if len(raw) > MAX_FIELDS:
        raise Malformed(f"more than {MAX_FIELDS} fields changed")
    if op == "resolve" and set(raw) != {"value"}:
        raise Malformed('resolve changes must be exactly {"value": {"value": …}}')
    changes: dict[str, FieldChange] = {}
    for name, change in raw.items():
        if not FIELD_PATTERN.match(name) or name in RESERVED_FIELDS:
            raise Malformed(f"bad field name {name!r}")
        if not isinstance(change, dict) or "value" not in change or not set(change) <= {"base", "value"}:
            raise Malformed(f'field {name!r} must be {{"base": …, "value": …}}')
        if op == "update" and "base" not in change:
            raise Malformed(f"field {name!r} of an update needs its base")
        if op == "create" and change.get("base") is not None:
            raise Malformed(f"field {name!r} of a create has no base")
        value = _check_value(change["value"], f"value of {name!r}")
        base = _check_value(change.get("base"), f"base of {name!r}")
        changes[name] = FieldChange(base=base, value=value, has_base="base" in change)
    if op in ("create", "update") and not changes:
        raise Malformed("changes is empty")
    return changes


def parse_mutation(raw: Any, entities: frozenset[str]) -> Mutation:
    """Validate one mutation object; raise :class:`Malformed` with a detail."""
    if not isinstance(raw, dict):
        raise Malformed("a mutation must be an object")
    mutation_id = _check_id(raw.get("mutation_id"), "mutation_id")
    seq = raw.get("seq")
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1:
        raise Malformed("seq must be an integer ≥ 1")
    op = raw.get("op")
    if op not in ("create", "update", "command", "resolve"):  # a literal tuple: unhashable values compare safely
        raise Malformed("op must be create, update, command or resolve")
    entity = raw.get("entity")
    if op == "resolve":
        if entity != CONFLICT_ENTITY:
            raise Malformed('resolve applies to entity "conflict"')
    elif not isinstance(entity, str) or entity not in entities:
        raise Malformed(f"unknown entity {entity!r}")
    entity_id = _check_id(raw.get("entity_id"), "entity_id")
    base_version = raw.get("base_version")
    if base_version is not None and (not _is_int(base_version) or base_version < 0):
        raise Malformed("base_version must be an integer ≥ 0")
    if op == "update" and base_version is None:
        raise Malformed("an update needs base_version")
    if op == "create" and base_version not in (None, 0):
        raise Malformed("a create has no base_version")
    changes = _parse_changes(raw.get("changes"), op)
    command: str | None = None
    args: dict[str, Any] = {}
    if op == "command":
        command = raw.get("command")
        if not isinstance(command, str) or not COMMAND_PATTERN.match(command):
            raise Malformed("command must be a lower-case name")
        raw_args = raw.get("args", {})
        if raw_args is None:
            raw_args = {}
        if not isinstance(raw_args, dict):
            raise Malformed("args must be an object")
        args = _check_value(raw_args, "args")
    elif raw.get("command") is not None or raw.get("args") is not None:
        raise Malformed("only a command carries command and args")
    return Mutation(
        mutation_id=mutation_id,
        seq=seq,
        entity=entity,
        entity_id=entity_id,
        op=op,
        base_version=base_version,
        changes=changes,
        command=command,
        args=args,
    )


def parse_envelope(index: int, raw: Any, device_id: str, entities: frozenset[str]) -> Envelope:
    """Read what can be read of one mutation, even when it is malformed."""
    mutation_id = seq = fp = None
    if isinstance(raw, dict):
        if isinstance(raw.get("mutation_id"), str) and ID_PATTERN.match(raw["mutation_id"]):
            mutation_id = raw["mutation_id"]
        if _is_int(raw.get("seq")) and raw["seq"] >= 1:
            seq = raw["seq"]
        try:
            fp = fingerprint(device_id, raw)
        except (TypeError, ValueError):
            fp = None  # e.g. NaN in a value: no stable identity, so not placeable
    try:
        mutation = parse_mutation(raw, entities)
    except Malformed as problem:
        return Envelope(index, raw, mutation_id, seq, fp, None, str(problem))
    return Envelope(index, raw, mutation_id, seq, fp, mutation, None)


def check_request_size(body_bytes: int) -> None:
    """The server calls this with the raw body length before parsing JSON."""
    if body_bytes > MAX_REQUEST_BYTES:
        raise RequestTooLarge(
            "request_too_large", reason("request_too_large", size=body_bytes, limit=MAX_REQUEST_BYTES)
        )


def parse_request(body: Any, entities: frozenset[str]) -> SyncRequest:
    """Validate the envelope (raising) and each mutation (never raising)."""
    if not isinstance(body, dict):
        raise BadRequest.because("the body must be a JSON object")
    device_id = body.get("device_id")
    if not isinstance(device_id, str) or not ID_PATTERN.match(device_id):
        raise BadRequest.because("device_id must be 1–64 characters of A–Z a–z 0–9 _ -")
    cursor = body.get("cursor")
    if cursor is not None and not isinstance(cursor, str):
        raise BadRequest.because("cursor must be a string or null")
    limit = body.get("limit", DEFAULT_PULL_LIMIT)
    if limit is None:
        limit = DEFAULT_PULL_LIMIT
    if not _is_int(limit) or limit < 1:
        raise BadRequest.because("limit must be an integer ≥ 1")
    limit = min(limit, MAX_PULL_LIMIT)
    lost = body.get("lost")
    if lost is None:
        lost = []
    if not isinstance(lost, list) or not all(_is_int(s) and s >= 1 for s in lost):
        raise BadRequest.because("lost must be a list of integers ≥ 1")
    if len(lost) > MAX_LOST:
        raise RequestTooLarge(
            "too_many_mutations", reason("too_many_mutations", count=len(lost), limit=MAX_LOST)
        )
    mutations = body.get("mutations")
    if mutations is None:
        mutations = []
    if not isinstance(mutations, list):
        raise BadRequest.because("mutations must be a list")
    if len(mutations) > MAX_MUTATIONS:
        raise RequestTooLarge(
            "too_many_mutations", reason("too_many_mutations", count=len(mutations), limit=MAX_MUTATIONS)
        )
    envelopes = tuple(parse_envelope(i, raw, device_id, entities) for i, raw in enumerate(mutations))
    own = body.get("own", "full")
    if own not in ("full", "version"):
        raise BadRequest.because('own must be "full" or "version"')
    return SyncRequest(device_id, cursor, limit, tuple(sorted(set(lost))), envelopes, own)
