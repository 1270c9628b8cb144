"""Pure parts of sync: the three-way merge (rule 3), value equality,
fingerprints (rule 1), cursors (rule 7) and wire validation (rule 6)."""

from __future__ import annotations

import pytest

from sync.cursor import decode_cursor, encode_cursor
from sync.errors import BadCursor, BadRequest, RequestTooLarge
from sync.fingerprint import fingerprint
from sync.conflicts import FieldConflict, merge_fields
from sync.protocol import (
    MAX_MUTATIONS,
    MAX_REQUEST_BYTES,
    MAX_VALUE_BYTES,
    FieldChange,
    check_request_size,
    parse_envelope,
    parse_request,
)
from sync.values import same_value

ENTITIES = frozenset({"dossier"})


# -- rule 3: three-way merge per field ------------------------------------


def test_server_unchanged_since_base_takes_device_value() -> None:
    outcome = merge_fields({"form.name": "Nguyễn Văn A"}, {"form.name": FieldChange("Nguyễn Văn A", "Nguyễn Văn B")})
    assert outcome.apply == {"form.name": "Nguyễn Văn B"}
    assert outcome.conflicts == ()


def test_both_sides_reached_same_value_is_not_a_conflict() -> None:
    outcome = merge_fields({"form.name": "B"}, {"form.name": FieldChange("A", "B")})
    assert outcome.apply == {}
    assert outcome.unchanged == ("form.name",)
    assert outcome.conflicts == ()


def test_both_sides_changed_differently_is_a_conflict_and_server_keeps_its_value() -> None:
    outcome = merge_fields({"form.name": "C"}, {"form.name": FieldChange("A", "B")})
    assert outcome.apply == {}
    assert outcome.conflicts == (FieldConflict("form.name", base="A", server_value="C", device_value="B"),)


def test_non_conflicting_fields_of_the_same_mutation_still_apply() -> None:
    current = {"form.name": "C", "form.address": "Xã X", "form.phone": "0912345678"}
    outcome = merge_fields(
        current,
        {
            "form.name": FieldChange("A", "B"),  # conflict
            "form.address": FieldChange("Xã X", "Xã Y"),  # take device
            "form.phone": FieldChange("0900000000", "0912345678"),  # already equal
        },
    )
    assert outcome.apply == {"form.address": "Xã Y"}
    assert [c.field for c in outcome.conflicts] == ["form.name"]
    assert outcome.unchanged == ("form.phone",)


def test_missing_field_counts_as_null() -> None:
    assert merge_fields({}, {"form.note": FieldChange(None, "x")}).apply == {"form.note": "x"}
    conflict = merge_fields({}, {"form.note": FieldChange("old", "x")}).conflicts[0]
    assert conflict.server_value is None


def test_merge_compares_json_values_not_python_ones() -> None:
    # true is not 1 in JSON, 1 equals 1.0 (JavaScript has one number type).
    assert merge_fields({"f": 1}, {"f": FieldChange(True, 2)}).conflicts
    assert merge_fields({"f": 1}, {"f": FieldChange(1.0, 2)}).apply == {"f": 2}
    assert same_value({"a": [1, {"b": 2.0}]}, {"a": [1, {"b": 2}]})
    assert not same_value(False, 0)


def test_merge_of_structured_values_compares_whole_value() -> None:
    outcome = merge_fields({"form.members": ["An", "Bình"]}, {"form.members": FieldChange(["An"], ["An", "Chi"])})
    assert outcome.conflicts[0].server_value == ["An", "Bình"]


# -- rule 1: fingerprints --------------------------------------------------


def _mutation(**overrides: object) -> dict:
    base = {
        "mutation_id": "01J9Z3K6Q4",
        "seq": 1,
        "entity": "dossier",
        "entity_id": "d1",
        "op": "update",
        "base_version": 3,
        "changes": {"form.name": {"base": "A", "value": "B"}},
    }
    base.update(overrides)
    return base


def test_fingerprint_ignores_key_order_transport_fields_and_null_keys() -> None:
    a = _mutation()
    b = dict(reversed(list(_mutation(sent_at="2026-01-01T00:00:00Z", attempt=3, command=None).items())))
    assert fingerprint("dev1", a) == fingerprint("dev1", b)


def test_fingerprint_changes_with_content_and_device() -> None:
    a = _mutation()
    assert fingerprint("dev1", a) != fingerprint("dev1", _mutation(changes={"form.name": {"base": "A", "value": "C"}}))
    assert fingerprint("dev1", a) != fingerprint("dev1", _mutation(seq=2))
    assert fingerprint("dev1", a) != fingerprint("dev2", a)


# -- rule 7: cursors ------------------------------------------------------


@pytest.mark.parametrize("seq", [0, 1, 7, 200, 10**12])
def test_cursor_round_trip(seq: int) -> None:
    assert decode_cursor(encode_cursor(seq)) == seq


def test_null_cursor_is_the_start() -> None:
    assert decode_cursor(None) == 0


@pytest.mark.parametrize("bad", ["", "12", "abc", "YzE6LTE", "YzI6MQ", encode_cursor(5) + "=", "!!!!", "x" * 65])
def test_malformed_cursor_is_refused(bad: str) -> None:
    with pytest.raises(BadCursor) as raised:
        decode_cursor(bad)
    assert raised.value.http_status == 400
    assert "cursor = null" in raised.value.reason["vi"]


def test_cursor_is_opaque_text() -> None:
    token = encode_cursor(42)
    assert "42" not in token and token.isascii()


# -- rule 6: validation ---------------------------------------------------


def _problem(raw: object) -> str | None:
    return parse_envelope(0, raw, "dev1", ENTITIES).error


@pytest.mark.parametrize(
    "raw, words",
    [
        ("not an object", "object"),
        (_mutation(mutation_id=None), "mutation_id"),
        (_mutation(mutation_id="has space"), "mutation_id"),
        (_mutation(mutation_id="x" * 65), "mutation_id"),
        (_mutation(seq=0), "seq"),
        (_mutation(seq="1"), "seq"),
        (_mutation(seq=True), "seq"),
        (_mutation(op="delete"), "op"),
        (_mutation(op=["update"]), "op"),
        (_mutation(entity="user"), "entity"),
        (_mutation(entity_id="../etc"), "entity_id"),
        (_mutation(base_version=None), "base_version"),
        (_mutation(base_version=-1), "base_version"),
        (_mutation(changes=[1, 2]), "changes must be an object"),
        (_mutation(changes={}), "empty"),
        (_mutation(changes={"form.name": "B"}), "form.name"),
        (_mutation(changes={"form.name": {"value": "B"}}), "base"),
        (_mutation(changes={"version": {"base": 1, "value": 2}}), "field name"),
        (_mutation(changes={"form.name": {"base": "A", "value": "B", "extra": 1}}), "form.name"),
        (_mutation(changes={"form.photo": {"base": None, "value": "x" * MAX_VALUE_BYTES}}), "bytes"),
        (_mutation(changes={"form.n": {"base": None, "value": float("nan")}}), "JSON"),
        (_mutation(op="create", base_version=None, changes={"form.name": {"base": "A", "value": "B"}}), "no base"),
        (_mutation(op="command", changes=None, command="Submit!"), "command"),
        (_mutation(op="command", changes=None, command="submit", args=[1]), "args"),
        (_mutation(command="submit"), "only a command"),
        (_mutation(op="resolve", entity="conflict", changes={"other": {"value": 1}}), "resolve"),
        (_mutation(op="resolve", entity="dossier", changes={"value": {"value": 1}}), "conflict"),
    ],
)
def test_malformed_mutation_is_described(raw: object, words: str) -> None:
    problem = _problem(raw)
    assert problem is not None and words in problem


def test_valid_mutations_parse() -> None:
    assert _problem(_mutation()) is None
    assert _problem(_mutation(op="create", base_version=None, changes={"form.name": {"value": "B"}})) is None
    assert _problem(_mutation(op="command", changes=None, command="submit", args={"note": "x"})) is None
    assert _problem(_mutation(op="resolve", entity="conflict", changes={"value": {"value": "B"}})) is None


def test_malformed_mutation_with_usable_id_and_seq_is_placeable() -> None:
    envelope = parse_envelope(0, _mutation(op="delete"), "dev1", ENTITIES)
    assert envelope.placeable and envelope.mutation is None
    envelope = parse_envelope(0, _mutation(seq="one"), "dev1", ENTITIES)
    assert not envelope.placeable


@pytest.mark.parametrize(
    "body",
    [
        [],
        {"cursor": None},
        {"device_id": "a b"},
        {"device_id": "dev1", "cursor": 5},
        {"device_id": "dev1", "limit": 0},
        {"device_id": "dev1", "limit": "200"},
        {"device_id": "dev1", "lost": [0]},
        {"device_id": "dev1", "lost": "7"},
        {"device_id": "dev1", "mutations": {}},
    ],
)
def test_bad_envelope_is_a_400(body: object) -> None:
    with pytest.raises(BadRequest) as raised:
        parse_request(body, ENTITIES)
    assert raised.value.http_status == 400


def test_limits_refuse_the_whole_request_with_413() -> None:
    with pytest.raises(RequestTooLarge) as raised:
        parse_request({"device_id": "dev1", "mutations": [_mutation(seq=i + 1) for i in range(MAX_MUTATIONS + 1)]}, ENTITIES)
    assert raised.value.http_status == 413
    assert "chia nhỏ" in raised.value.reason["vi"]
    with pytest.raises(RequestTooLarge):
        check_request_size(MAX_REQUEST_BYTES + 1)
    check_request_size(MAX_REQUEST_BYTES)
    assert MAX_MUTATIONS == 500 and MAX_REQUEST_BYTES == 1024 * 1024


def test_pull_limit_is_capped_and_defaults() -> None:
    assert parse_request({"device_id": "dev1"}, ENTITIES).limit == 200
    assert parse_request({"device_id": "dev1", "limit": 10**6}, ENTITIES).limit == 500
