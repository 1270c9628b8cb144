"""The engine over the in-memory store, rule by rule (docs/sync.md §3)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from sync.cursor import decode_cursor, encode_cursor
from sync.engine import sync_round
from sync.errors import BadCursor, Forbidden, MutationIdReused, RequestTooLarge
from sync.memory import MemoryStore, SimulatedCrash
from sync.model import Actor, Record
from sync.protocol import MAX_REQUEST_BYTES, MAX_SEQ_AHEAD
from tests.test_sync_support import DossierPolicy, SimDevice, citizen, officer

POLICY = DossierPolicy()
AN = citizen("an")  # Nguyễn Văn An, citizen
BINH = citizen("binh")
CUONG = officer("cuong", "H57")  # officer of the commune's one-stop unit


def clock() -> str:
    return "2026-03-02T08:00:00+07:00"


def run(store: MemoryStore, actor: Actor, body: dict[str, Any], policy: Any = POLICY, **kw: Any) -> dict[str, Any]:
    return asyncio.run(sync_round(store, policy, actor, body, clock=clock, **kw))


def sync(store: MemoryStore, device: SimDevice, start: int = 0) -> dict[str, Any]:
    request_id, body = device.request(start)
    response = run(store, device.actor, body)
    device.receive(request_id, response)
    return response


def pull_all(store: MemoryStore, device: SimDevice) -> None:
    while sync(store, device)["more"]:
        pass


def record(store: MemoryStore, entity: str, record_id: str) -> Record:
    return store.records()[(entity, record_id)]


def submitted_dossier(store: MemoryStore) -> tuple[SimDevice, SimDevice]:
    """An's phone files dossier d1 and submits it; Cường's tablet pulls it."""
    phone, tablet = SimDevice("an-phone", AN), SimDevice("cuong-tablet", CUONG)
    phone.create_dossier("d1", "H57", name="Nguyễn Văn An", address="Thôn 1")
    phone.command("d1", "submit")
    sync(store, phone)
    pull_all(store, tablet)
    return phone, tablet


# -- rule 1: exactly once ---------------------------------------------------


def test_a_repeated_request_returns_the_stored_results_and_changes_nothing() -> None:
    store = MemoryStore()
    phone = SimDevice("an-phone", AN)
    phone.create_dossier("d1", "H57", name="An")
    phone.edit("d1", "form.name", "Nguyễn Văn An")
    _, body = phone.request()
    first = run(store, AN, body)
    log, records, outcomes = store.change_log(), store.records(), store.outcomes()
    second = run(store, AN, body)
    assert second["results"] == first["results"]
    assert [r["status"] for r in first["results"]] == ["applied", "merged"]
    assert store.change_log() == log and store.records() == records and store.outcomes() == outcomes


def test_a_retry_that_only_changes_transport_fields_is_still_a_duplicate() -> None:
    store = MemoryStore()
    phone = SimDevice("an-phone", AN)
    phone.create_dossier("d1", "H57", name="An")
    _, body = phone.request()
    first = run(store, AN, body)
    body["mutations"][0]["attempt"] = 2
    assert run(store, AN, body)["results"] == first["results"]


def test_a_reused_mutation_id_with_other_content_refuses_the_whole_request() -> None:
    store = MemoryStore()
    phone = SimDevice("an-phone", AN)
    phone.create_dossier("d1", "H57", name="An")
    sync(store, phone)
    log = store.change_log()
    reused = dict(phone.made[0], changes={"unit_id": {"value": "H57"}, "form.name": {"value": "Bình"}})
    fresh = phone.create_dossier("d2", "H57", name="Chi")
    with pytest.raises(MutationIdReused) as raised:
        run(store, AN, {"device_id": "an-phone", "cursor": None, "mutations": [fresh, reused]})
    assert raised.value.http_status == 409
    assert raised.value.body()["error"]["details"] == {"mutation_ids": [reused["mutation_id"]]}
    assert raised.value.body()["error"]["code"] == "mutation_id_reused"
    assert "Không thay đổi nào" in raised.value.reason["vi"]
    assert store.change_log() == log  # d2 was not created either
    assert ("dossier", "d2") not in store.records()


def test_the_same_id_twice_in_one_request_with_different_content_is_a_409() -> None:
    store = MemoryStore()
    phone = SimDevice("an-phone", AN)
    first = phone.create_dossier("d1", "H57", name="An")
    twin = dict(first, changes={"unit_id": {"value": "H57"}, "form.name": {"value": "Ân"}})
    with pytest.raises(MutationIdReused):
        run(store, AN, {"device_id": "an-phone", "mutations": [first, twin]})
    assert store.records() == {}


def test_a_device_id_belongs_to_one_user() -> None:
    store = MemoryStore()
    sync(store, SimDevice("shared-phone", AN))
    with pytest.raises(Forbidden) as raised:
        run(store, BINH, {"device_id": "shared-phone"})
    assert raised.value.http_status == 403


def test_a_crash_mid_mutation_leaves_nothing_half_done_and_the_retry_applies_once() -> None:
    store = MemoryStore()
    phone, tablet = submitted_dossier(store)
    tablet.command("d1", "receive")  # writes the dossier, its log entry, a notification and an outcome
    request_id, body = tablet.request()
    store.crash_at_write = 3
    with pytest.raises(SimulatedCrash):
        run(store, CUONG, body)
    assert record(store, "dossier", "d1").data["status"] == 1
    assert not any(e.entity == "notification" for e in store.change_log())
    tablet.receive(request_id, run(store, CUONG, body))
    assert record(store, "dossier", "d1").data["status"] == 2
    assert sum(e.entity == "notification" for e in store.change_log()) == 1


# -- rule 2: per-device order ------------------------------------------------


def test_a_mutation_ahead_of_a_gap_is_held_then_applied_when_the_gap_fills() -> None:
    store = MemoryStore()
    phone = SimDevice("an-phone", AN)
    create = phone.create_dossier("d1", "H57", name="An")
    edit = phone.edit("d1", "form.name", "Nguyễn Văn An")
    held = run(store, AN, {"device_id": "an-phone", "mutations": [edit]})
    assert held["results"][0]["status"] == "held"
    assert "số 1" in held["results"][0]["reason"]["vi"]
    assert ("dossier", "d1") not in store.records()
    filled = run(store, AN, {"device_id": "an-phone", "mutations": [create]})
    # The held mutation's final result comes in the same response, after the request's own.
    assert [(r["mutation_id"], r["status"]) for r in filled["results"]] == [
        (create["mutation_id"], "applied"),
        (edit["mutation_id"], "merged"),
    ]
    assert record(store, "dossier", "d1").data["form.name"] == "Nguyễn Văn An"
    resent = run(store, AN, {"device_id": "an-phone", "mutations": [edit]})
    assert resent["results"] == [filled["results"][1]]
    state = store.device("an-phone")
    assert state is not None and state.applied_seq == 2


def test_mutations_of_one_request_apply_in_seq_order_whatever_their_order_in_the_list() -> None:
    store = MemoryStore()
    phone = SimDevice("an-phone", AN)
    create = phone.create_dossier("d1", "H57", name="An")
    submit = phone.command("d1", "submit")
    response = run(store, AN, {"device_id": "an-phone", "mutations": [submit, create]})
    assert [r["status"] for r in response["results"]] == ["applied", "applied"]
    assert record(store, "dossier", "d1").data["status"] == 1


def test_declared_lost_seqs_unblock_later_ones_and_are_never_applied() -> None:
    store = MemoryStore()
    phone = SimDevice("an-phone", AN)
    gone = phone.create_dossier("d1", "H57", name="An")
    phone.create_dossier("d2", "H57", name="Bình")
    phone.discard(gone["mutation_id"])
    response = sync(store, phone)
    assert response["lost"] == [1]
    assert [r["status"] for r in response["results"]] == ["applied"]
    assert {key[1] for key in store.records()} == {"d2"}
    late = run(store, AN, {"device_id": "an-phone", "mutations": [gone]})
    assert late["results"][0]["status"] == "rejected"
    assert late["results"][0]["code"] == "declared_lost"
    assert ("dossier", "d1") not in store.records()
    assert phone.settled()


def test_a_held_mutation_declared_lost_reports_lost_when_resent() -> None:
    store = MemoryStore()
    phone = SimDevice("an-phone", AN)
    phone.create_dossier("d1", "H57", name="An")
    second = phone.create_dossier("d2", "H57", name="Bình")
    run(store, AN, {"device_id": "an-phone", "mutations": [second]})  # held: seq 1 missing
    run(store, AN, {"device_id": "an-phone", "lost": [2]})
    again = run(store, AN, {"device_id": "an-phone", "mutations": [second]})
    assert again["results"][0]["status"] == "lost"
    assert "hủy" in again["results"][0]["reason"]["vi"]
    assert store.records() == {}


def test_declaring_an_applied_seq_lost_changes_nothing() -> None:
    store = MemoryStore()
    phone = SimDevice("an-phone", AN)
    phone.create_dossier("d1", "H57", name="An")
    sync(store, phone)
    response = run(store, AN, {"device_id": "an-phone", "lost": [1]})
    assert response["lost"] == [1]
    assert ("dossier", "d1") in store.records()
    assert store.outcomes()[0].status == "applied"


def test_a_seq_reused_for_another_mutation_is_rejected_without_effect() -> None:
    store = MemoryStore()
    phone = SimDevice("an-phone", AN)
    phone.create_dossier("d1", "H57", name="An")
    sync(store, phone)
    impostor = {**phone.made[0], "mutation_id": "other-id", "entity_id": "d9"}
    response = run(store, AN, {"device_id": "an-phone", "mutations": [impostor]})
    assert response["results"][0]["code"] == "seq_taken"
    assert ("dossier", "d9") not in store.records()


def test_a_seq_far_beyond_the_gap_is_not_stored() -> None:
    store = MemoryStore()
    phone = SimDevice("an-phone", AN)
    far = {**phone.create_dossier("d1", "H57", name="An"), "seq": MAX_SEQ_AHEAD + 1}
    response = run(store, AN, {"device_id": "an-phone", "mutations": [far]})
    assert response["results"][0]["code"] == "seq_too_far"
    assert store.outcomes() == []


# -- rule 3: merge, with the statuses a device sees ----------------------------


def test_sequential_parallel_and_conflicting_edits() -> None:
    store = MemoryStore()
    phone, tablet = SimDevice("an-phone", AN), SimDevice("an-tablet", AN)
    phone.create_dossier("d1", "H57", name="An", address="Thôn 1", phone="0912345678")
    sync(store, phone)
    pull_all(store, tablet)
    # Sequential: nobody wrote since version 1.
    phone.edit("d1", "form.address", "Thôn 2")
    assert sync(store, phone)["results"][0] | {} == {
        "mutation_id": phone.made[-1]["mutation_id"],
        "status": "applied",
        "edit": "sequential",
        "version": 2,
    }
    # Parallel on another field: the tablet still thinks version 1.
    tablet.edit("d1", "form.phone", "0987654321")
    merged = sync(store, tablet)["results"][0]
    assert (merged["status"], merged["edit"], merged["version"]) == ("merged", "parallel", 3)
    # Parallel on the same field with different values: conflict, server keeps its value.
    phone.edit("d1", "form.name", "Nguyễn Văn An")
    tablet.edit("d1", "form.name", "Nguyễn An")
    tablet.edit("d1", "form.note", "đã kiểm tra")
    sync(store, phone)
    response = sync(store, tablet)
    conflicted = response["results"][0]
    assert conflicted["status"] == "conflict"
    dossier = record(store, "dossier", "d1")
    assert dossier.data["form.name"] == "Nguyễn Văn An"
    conflict = record(store, "conflict", conflicted["conflicts"][0]).data
    assert conflict | {} == {
        "entity": "dossier",
        "entity_id": "d1",
        "field": "form.name",
        "base": "An",
        "server_value": "Nguyễn Văn An",
        "device_value": "Nguyễn An",
        "mutation_id": tablet.made[-2]["mutation_id"],
        "device_id": "an-tablet",
        "actor": "an",
        "status": "open",
        "created": clock(),
        "resolved_by": None,
        "resolution": None,
        "resolved_at": None,
    }
    # The tablet's next edit (another field) still applied.
    assert dossier.data["form.note"] == "đã kiểm tra"
    # The conflict reached the device that caused it in the same round (rule 8).
    assert ("conflict", conflicted["conflicts"][0]) in tablet.replica
    # The same value on both sides is no conflict.
    phone.edit("d1", "form.address", "Thôn 3")
    tablet.edit("d1", "form.address", "Thôn 3")
    sync(store, phone)
    assert sync(store, tablet)["results"][0]["status"] == "merged"


def test_a_conflict_between_officer_and_citizen_is_shown_to_both() -> None:
    store = MemoryStore()
    phone, tablet = submitted_dossier(store)
    desk = SimDevice("cuong-desk", CUONG)
    pull_all(store, desk)
    desk.command("d1", "receive")
    desk.command("d1", "start")
    sync(store, desk)
    pull_all(store, tablet)
    tablet.edit("d1", "form.address", "Thôn 1, xã Hùng Sơn")  # in the field, offline
    desk.command("d1", "request_supplement")
    sync(store, desk)
    pull_all(store, phone)
    phone.edit("d1", "form.address", "Thôn 2, xã Hùng Sơn")
    phone.command("d1", "submit")  # supplement sent: back to processing
    assert [r["status"] for r in sync(store, phone)["results"]] == ["applied", "applied"]
    conflicted = sync(store, tablet)["results"][0]
    assert conflicted["status"] == "conflict"
    assert record(store, "dossier", "d1").data["form.address"] == "Thôn 2, xã Hùng Sơn"
    pull_all(store, phone)
    for device in (phone, tablet):
        shown = device.replica[("conflict", conflicted["conflicts"][0])]["data"]
        assert (shown["server_value"], shown["device_value"]) == ("Thôn 2, xã Hùng Sơn", "Thôn 1, xã Hùng Sơn")


# -- rule 4: resolve ----------------------------------------------------------


def _conflicted(store: MemoryStore) -> tuple[SimDevice, SimDevice, str]:
    phone, tablet = SimDevice("an-phone", AN), SimDevice("an-tablet", AN)
    phone.create_dossier("d1", "H57", name="An")
    sync(store, phone)
    pull_all(store, tablet)
    phone.edit("d1", "form.name", "Nguyễn Văn An")
    tablet.edit("d1", "form.name", "Nguyễn An")
    sync(store, phone)
    conflict_id = sync(store, tablet)["results"][0]["conflicts"][0]
    pull_all(store, phone)
    return phone, tablet, conflict_id


def test_resolving_sets_the_field_and_both_sides_see_it_resolved() -> None:
    store = MemoryStore()
    phone, tablet, conflict_id = _conflicted(store)
    before = record(store, "dossier", "d1").version
    tablet.resolve(conflict_id, "Nguyễn An")
    result = sync(store, tablet)["results"][0]
    assert result["status"] == "applied" and result["conflicts"] == [conflict_id]
    dossier = record(store, "dossier", "d1")
    assert dossier.data["form.name"] == "Nguyễn An" and dossier.version == before + 1
    pull_all(store, phone)
    for device in (phone, tablet):
        seen = device.replica[("conflict", conflict_id)]["data"]
        assert (seen["status"], seen["resolved_by"], seen["resolution"]) == ("resolved", "an", "Nguyễn An")
        assert device.replica[("dossier", "d1")]["data"]["form.name"] == "Nguyễn An"


def test_resolving_a_resolved_conflict_is_rejected_with_who_resolved_it() -> None:
    store = MemoryStore()
    phone, tablet, conflict_id = _conflicted(store)
    tablet.resolve(conflict_id, "Nguyễn An")
    phone.resolve(conflict_id, "Nguyễn Văn An")
    sync(store, tablet)
    result = sync(store, phone)["results"][0]
    assert result["status"] == "rejected" and result["code"] == "already_resolved"
    assert "an" in result["reason"]["vi"]
    assert record(store, "dossier", "d1").data["form.name"] == "Nguyễn An"


def test_a_resolution_that_did_not_see_the_latest_value_is_rejected() -> None:
    store = MemoryStore()
    phone, tablet, conflict_id = _conflicted(store)
    tablet.resolve(conflict_id, "Nguyễn An")  # made while the name was "Nguyễn Văn An"
    phone.edit("d1", "form.name", "Nguyễn Văn Ân")
    sync(store, phone)
    result = sync(store, tablet)["results"][0]
    assert result["code"] == "stale_resolution"
    assert record(store, "dossier", "d1").data["form.name"] == "Nguyễn Văn Ân"
    assert record(store, "conflict", conflict_id).data["status"] == "open"


# -- rule 5: policy --------------------------------------------------------------


def test_a_citizen_cannot_edit_the_form_once_the_office_has_it() -> None:
    store = MemoryStore()
    phone, _ = submitted_dossier(store)
    phone.edit("d1", "form.address", "Thôn 9")
    result = sync(store, phone)["results"][0]
    assert (result["status"], result["code"]) == ("rejected", "not_editable")
    assert result["reason"]["vi"].startswith("Hồ sơ đã nộp")
    assert record(store, "dossier", "d1").data["form.address"] == "Thôn 1"


def test_a_command_that_no_longer_applies_is_rejected_with_a_reason() -> None:
    store = MemoryStore()
    phone, tablet = submitted_dossier(store)
    tablet.command("d1", "refuse")
    phone.command("d1", "withdraw")  # offline, before hearing of the refusal
    sync(store, tablet)
    result = sync(store, phone)["results"][0]
    assert (result["status"], result["code"]) == ("rejected", "command_not_allowed")
    assert "trạng thái 3" in result["reason"]["vi"]


def test_commands_run_against_the_current_state_and_notify_the_citizen() -> None:
    store = MemoryStore()
    phone, tablet = submitted_dossier(store)
    tablet.command("d1", "receive")
    result = sync(store, tablet)["results"][0]
    assert result["status"] == "applied"
    pull_all(store, phone)
    assert phone.replica[("dossier", "d1")]["data"]["status"] == 2
    notices = [data for (entity, _), data in phone.replica.items() if entity == "notification"]
    assert [n["data"]["status"] for n in notices] == [2]
    assert not any(entity == "notification" for entity, _ in tablet.replica)


def test_a_citizen_cannot_set_fields_the_server_owns() -> None:
    store = MemoryStore()
    phone = SimDevice("an-phone", AN)
    phone._new(entity="dossier", entity_id="d1", op="create", changes={"unit_id": {"value": "H57"}, "status": {"value": 9}})
    result = sync(store, phone)["results"][0]
    assert (result["status"], result["code"]) == ("rejected", "field_readonly")


def test_another_users_record_looks_like_it_does_not_exist() -> None:
    store = MemoryStore()
    an_phone, _ = submitted_dossier(store)
    binh = SimDevice("binh-phone", BINH)
    binh._new(entity="dossier", entity_id="d1", op="update", base_version=2, changes={"form.name": {"base": None, "value": "x"}})
    binh.command("d1", "withdraw")
    results = sync(store, binh)["results"]
    assert [r["code"] for r in results] == ["not_found", "not_found"]


# -- rule 6: validation one by one, limits -----------------------------------------


def test_a_malformed_mutation_is_rejected_alone() -> None:
    store = MemoryStore()
    phone = SimDevice("an-phone", AN)
    phone.create_dossier("d1", "H57", name="An")
    phone.edit("d1", "form.name", "Nguyễn Văn An")
    broken = phone._new(entity="dossier", entity_id="d1", op="update", base_version=1, changes="name=B")
    phone.edit("d1", "form.address", "Thôn 1")
    response = sync(store, phone)
    assert [r["status"] for r in response["results"]] == ["applied", "merged", "rejected", "merged"]
    assert response["results"][2]["code"] == "malformed"
    assert "changes must be an object" in response["results"][2]["reason"]["en"]
    assert record(store, "dossier", "d1").data["form.address"] == "Thôn 1"
    assert record(store, "dossier", "d1").data["form.name"] == "Nguyễn Văn An"
    assert phone.settled() and broken["mutation_id"] in phone.heard


def test_a_mutation_without_a_usable_id_is_rejected_in_its_place() -> None:
    store = MemoryStore()
    phone = SimDevice("an-phone", AN)
    create = phone.create_dossier("d1", "H57", name="An")
    response = run(store, AN, {"device_id": "an-phone", "mutations": [{"seq": "x"}, 42, create]})
    assert [(r["mutation_id"], r["status"]) for r in response["results"]] == [
        (None, "rejected"),
        (None, "rejected"),
        (create["mutation_id"], "applied"),
    ]


def test_the_server_refuses_an_oversized_request_before_applying_anything() -> None:
    store = MemoryStore()
    phone = SimDevice("an-phone", AN)
    phone.create_dossier("d1", "H57", name="An")
    _, body = phone.request()
    with pytest.raises(RequestTooLarge) as raised:
        run(store, AN, body, body_bytes=MAX_REQUEST_BYTES + 1)
    assert raised.value.http_status == 413
    assert store.records() == {}


# -- rule 7: change log, cursors, scopes --------------------------------------------


def test_pull_is_paged_deduplicated_and_in_change_order() -> None:
    store = MemoryStore()
    phone = SimDevice("an-phone", AN)
    for n in range(5):
        phone.create_dossier(f"d{n}", "H57", name=f"Người {n}")
    phone.edit("d0", "form.name", "Người 0 (sửa)")  # d0 changes last
    sync(store, phone)
    reader = SimDevice("an-tablet", AN, limit=2)
    pages = []
    while True:
        response = sync(store, reader)
        pages.append([(c["id"], c["version"]) for c in response["changes"]])
        if not response["more"]:
            break
    assert pages == [[("d1", 1), ("d2", 1)], [("d3", 1), ("d4", 1)], [("d0", 2)]]
    assert reader.positions == sorted(reader.positions)
    assert decode_cursor(reader.cursor) == len(store.change_log())


def test_an_empty_pull_keeps_the_cursor_moving_past_invisible_changes() -> None:
    store = MemoryStore()
    phone = SimDevice("an-phone", AN)
    phone.create_dossier("d1", "H57", name="An")
    sync(store, phone)
    binh = SimDevice("binh-phone", BINH)
    response = sync(store, binh)
    assert response["changes"] == [] and response["more"] is False
    assert decode_cursor(response["cursor"]) == len(store.change_log())


def test_drafts_follow_their_owner_to_a_second_device_and_nobody_else() -> None:
    store = MemoryStore()
    phone = SimDevice("an-phone", AN)
    phone.create_dossier("d1", "H57", name="An")
    sync(store, phone)
    tablet, officer_tablet, binh = SimDevice("an-tablet", AN), SimDevice("cuong-tablet", CUONG), SimDevice("binh-phone", BINH)
    for device in (tablet, officer_tablet, binh):
        pull_all(store, device)
    assert tablet.replica[("dossier", "d1")]["data"]["form.name"] == "An"
    assert officer_tablet.replica == {} and binh.replica == {}
    phone.command("d1", "submit")
    sync(store, phone)
    pull_all(store, officer_tablet)
    pull_all(store, binh)
    assert officer_tablet.replica[("dossier", "d1")]["data"]["status"] == 1
    assert binh.replica == {}


def test_a_record_that_leaves_a_scope_reaches_its_old_readers_as_a_tombstone() -> None:
    class TransferPolicy(DossierPolicy):
        async def apply_command(self, actor, record, command, args):  # type: ignore[no-untyped-def]
            if command == "transfer":
                return {"unit_id": args["to"]}
            return await super().apply_command(actor, record, command, args)

    store = MemoryStore()
    policy = TransferPolicy()
    phone, tablet = submitted_dossier(store)
    transfer = tablet._new(entity="dossier", entity_id="d1", op="command", command="transfer", args={"to": "H58"})
    response = run(store, CUONG, {"device_id": "cuong-tablet", "cursor": tablet.cursor, "mutations": [transfer]}, policy)
    assert response["changes"] == [{"entity": "dossier", "id": "d1", "version": 3, "data": None, "deleted": True}]
    other_unit = run(store, officer("dung", "H58"), {"device_id": "dung-tablet"}, policy)
    assert [c["data"]["unit_id"] for c in other_unit["changes"]] == ["H58"]


def test_bad_and_future_cursors_are_refused() -> None:
    store = MemoryStore()
    with pytest.raises(BadCursor):
        run(store, AN, {"device_id": "an-phone", "cursor": "not-a-cursor"})
    with pytest.raises(BadCursor) as raised:
        run(store, AN, {"device_id": "an-phone", "cursor": encode_cursor(99)})
    assert raised.value.code == "cursor_ahead"


def test_with_own_version_a_sequential_edit_comes_back_as_its_version_only() -> None:
    """§5.1: a phone on 2G need not download the dossier it has just edited itself."""
    store = MemoryStore()
    phone, tablet = SimDevice("an-phone", AN), SimDevice("an-tablet", AN)
    create = phone.create_dossier("d1", "H57", name="An", phone="0912345678")
    first = run(store, AN, {"device_id": "an-phone", "mutations": [create]})
    version = first["changes"][0]["version"]
    phone.replica[("dossier", "d1")] = {"version": version, "data": first["changes"][0]["data"]}
    edit = phone.edit("d1", "form.name", "Nguyễn Văn An")
    answer = run(store, AN, {"device_id": "an-phone", "cursor": first["cursor"], "own": "version", "mutations": [edit]})
    assert answer["results"][0]["status"] == "applied"
    assert answer["changes"] == [{"entity": "dossier", "id": "d1", "version": version + 1, "own": edit["mutation_id"]}]
    # What the phone then holds (its replica plus its own change) is exactly the server's record.
    assert record(store, "dossier", "d1").data == {**first["changes"][0]["data"], "form.name": "Nguyễn Văn An"}
    # Without the option, and for anyone else, the whole record travels.
    again = run(store, AN, {"device_id": "an-tablet", "mutations": []})
    assert again["changes"][0]["data"]["form.name"] == "Nguyễn Văn An"
    # A parallel edit (the record moved since the phone's base) comes back whole: the phone lacks the other change.
    tablet.replica[("dossier", "d1")] = {"version": version + 1, "data": again["changes"][0]["data"]}
    other = tablet.edit("d1", "form.phone", "0987654321")
    run(store, AN, {"device_id": "an-tablet", "mutations": [other]})
    stale = phone.edit("d1", "form.name", "An")
    merged = run(store, AN, {"device_id": "an-phone", "cursor": answer["cursor"], "own": "version", "mutations": [stale]})
    assert merged["results"][0]["status"] == "merged"
    assert merged["changes"][0]["data"]["form.phone"] == "0987654321"
    bad = run_error(store, AN, {"device_id": "an-phone", "own": "none", "mutations": []})
    assert bad == 400


def run_error(store: MemoryStore, actor: Actor, body: dict[str, Any]) -> int:
    from sync.errors import SyncRequestError

    try:
        run(store, actor, body)
    except SyncRequestError as error:
        return error.http_status
    return 200
