"""Shared pieces of the sync tests: a small dossier workflow Policy and a
simulated device (outbox + local replica) that speaks the wire protocol.

No tests here; the test modules import from it. The device is deliberately
written as a client would be from docs/sync.md alone.
"""

from __future__ import annotations

import hashlib
from typing import Any, Mapping

from sync.cursor import decode_cursor
from sync.model import Actor, Record
from sync.policy import Rejection
from sync.protocol import Mutation
from sync.store import Store

# Dossier statuses (national portal codes); 0 is the draft on the device.
DRAFT, SUBMITTED, RECEIVED, REFUSED, PROCESSING, SUPPLEMENT = 0, 1, 2, 3, 4, 5
WITHDRAWAL_REQUESTED = 7

CITIZEN_EDITABLE = frozenset({DRAFT, SUPPLEMENT})
OFFICER_EDITABLE = frozenset({SUBMITTED, RECEIVED, PROCESSING})


def citizen(user_id: str) -> Actor:
    return Actor(user_id=user_id, role="citizen", scopes=frozenset({f"user:{user_id}"}))


def officer(user_id: str, unit_id: str) -> Actor:
    return Actor(user_id=user_id, role="officer", scopes=frozenset({f"user:{user_id}", f"unit:{unit_id}"}), unit_id=unit_id)


def _no(code: str, vi: str, en: str) -> Rejection:
    return Rejection(code, {"vi": vi, "en": en})


class DossierPolicy:
    """A small, realistic one-stop workflow.

    A citizen edits the form (fields ``form.*``) of their own dossier only
    while it is a draft or a supplement was requested; an officer of the
    dossier's unit may correct the form during reception and processing.
    Commands move the status along the portal's codes. Every status change
    made by an officer leaves a notification for the citizen, written in the
    same transaction through ``after_write``.
    """

    entities = frozenset({"dossier"})

    async def check_create(
        self, actor: Actor, entity: str, entity_id: str, values: Mapping[str, Any]
    ) -> Rejection | dict[str, Any]:
        form_only = all(name.startswith("form.") for name in values if name not in ("unit_id", "owner_id"))
        if not form_only:
            return _no("field_readonly", "Không được đặt trường này khi tạo hồ sơ.", "This field cannot be set on create.")
        if not isinstance(values.get("unit_id"), str):
            return _no("unit_required", "Hãy chọn cơ quan tiếp nhận.", "Choose the receiving unit.")
        if actor.role == "citizen":
            if "owner_id" in values:
                return _no("field_readonly", "Không được đặt chủ hồ sơ.", "The owner cannot be set.")
            return {"owner_id": actor.user_id, "status": DRAFT}
        # Field intake (tiếp nhận lưu động): the officer files it for the citizen.
        if values.get("unit_id") != actor.unit_id or not isinstance(values.get("owner_id"), str):
            return _no("forbidden", "Cán bộ chỉ tiếp nhận cho đơn vị của mình.", "Officers file for their own unit only.")
        return {"status": SUBMITTED, "intake_by": actor.user_id}

    async def check_update(self, actor: Actor, record: Record, changes: Mapping[str, Any]) -> Rejection | None:
        fields = frozenset(changes)
        if not all(name.startswith("form.") for name in fields):
            return _no("field_readonly", "Chỉ được sửa nội dung tờ khai.", "Only the form may be edited.")
        status = record.data["status"]
        if actor.role == "citizen":
            if record.data["owner_id"] != actor.user_id:
                return _no("forbidden", "Đây không phải hồ sơ của bạn.", "This is not your dossier.")
            if status not in CITIZEN_EDITABLE:
                return _no(
                    "not_editable",
                    "Hồ sơ đã nộp, không thể sửa tờ khai (chỉ sửa khi là bản nháp hoặc được yêu cầu bổ sung).",
                    "The dossier was submitted; the form can be edited only as a draft or when a supplement is requested.",
                )
            return None
        if record.data["unit_id"] != actor.unit_id or status not in OFFICER_EDITABLE:
            return _no("not_editable", "Không thể sửa hồ sơ ở trạng thái này.", "The dossier cannot be edited in this state.")
        return None

    async def apply_command(
        self, actor: Actor, record: Record, command: str, args: Mapping[str, Any]
    ) -> Rejection | dict[str, Any]:
        status = record.data["status"]
        owner = record.data["owner_id"] == actor.user_id
        is_officer = actor.role == "officer" and record.data["unit_id"] == actor.unit_id
        moves: dict[tuple[str, int], tuple[bool, int]] = {
            ("submit", DRAFT): (owner, SUBMITTED),
            ("submit", SUPPLEMENT): (owner, PROCESSING),
            ("withdraw", SUBMITTED): (owner, WITHDRAWAL_REQUESTED),
            ("withdraw", RECEIVED): (owner, WITHDRAWAL_REQUESTED),
            ("withdraw", PROCESSING): (owner, WITHDRAWAL_REQUESTED),
            ("receive", SUBMITTED): (is_officer, RECEIVED),
            ("refuse", SUBMITTED): (is_officer, REFUSED),
            ("start", RECEIVED): (is_officer, PROCESSING),
            ("request_supplement", PROCESSING): (is_officer, SUPPLEMENT),
        }
        move = moves.get((command, status))
        if move is None:
            return _no(
                "command_not_allowed",
                f"Không thể thực hiện '{command}' khi hồ sơ ở trạng thái {status}.",
                f"'{command}' is not allowed while the dossier is in status {status}.",
            )
        allowed, new_status = move
        if not allowed:
            return _no("forbidden", "Bạn không có quyền thực hiện thao tác này.", "You are not allowed to do this.")
        return {"status": new_status}

    def scopes(self, record: Record) -> frozenset[str]:
        owner = f"user:{record.data['owner_id']}"
        if record.data["status"] == DRAFT:
            return frozenset({owner})  # a draft is the citizen's alone
        return frozenset({owner, f"unit:{record.data['unit_id']}"})

    async def after_write(
        self, store: Store, actor: Actor, before: Record | None, after: Record, mutation: Mutation
    ) -> None:
        if before is None or before.data["status"] == after.data["status"] or actor.role != "officer":
            return
        owner = after.data["owner_id"]
        notice_id = "nt-" + hashlib.sha256(mutation.mutation_id.encode()).hexdigest()[:24]
        notice = Record(
            "notification",
            notice_id,
            1,
            {"user_id": owner, "dossier_id": after.id, "status": after.data["status"]},
            frozenset({f"user:{owner}"}),
        )
        await store.save_record(notice)
        await store.append_change(notice, notice.scopes, mutation.mutation_id)


FINAL = frozenset({"applied", "merged", "conflict", "rejected", "lost"})


class SimDevice:
    """A client as docs/sync.md describes it.

    ``replica`` holds the server's state as last pulled; the outbox holds the
    device's mutations, never edited once created; the local view overlays
    the outbox on the replica (optimistic UI). Only one request is awaited
    at a time; a response to any other request is ignored.
    """

    def __init__(self, device_id: str, actor: Actor, batch: int = 50, limit: int = 200) -> None:
        self.device_id = device_id
        self.actor = actor
        self.batch = batch
        self.limit = limit
        self.cursor: str | None = None
        self.replica: dict[tuple[str, str], dict[str, Any]] = {}  # (entity, id) -> {"version", "data"}
        self.outbox: list[dict[str, Any]] = []
        self.next_seq = 1
        self.lost_pending: set[int] = set()
        self.awaiting: int | None = None
        self.requests_sent = 0
        self.made: list[dict[str, Any]] = []  # every mutation ever created
        self.discarded: set[str] = set()
        self.heard: dict[str, dict[str, Any]] = {}  # final results received
        self.received: list[dict[str, Any]] = []  # every change accepted from a pull
        self.positions: list[int] = []  # decoded cursors accepted, in order (test-only knowledge)
        self.counter = 0

    # -- local edits ------------------------------------------------------
    def _new(self, **fields: Any) -> dict[str, Any]:
        self.counter += 1
        mutation = {"mutation_id": f"{self.device_id}-m{self.counter:04d}", "seq": self.next_seq, **fields}
        self.next_seq += 1
        self.outbox.append(mutation)
        self.made.append(mutation)
        return mutation

    def unique_value(self) -> str:
        self.counter += 1
        return f"{self.device_id}-v{self.counter:04d}"

    def view(self) -> dict[tuple[str, str], dict[str, Any]]:
        """The local state: replica plus the outbox applied optimistically."""
        local = {key: {"version": rec["version"], "data": dict(rec["data"])} for key, rec in self.replica.items()}
        for m in self.outbox:
            if not isinstance(m.get("changes"), dict):
                continue  # a broken mutation (tests make some) shows nothing locally
            key = (m["entity"], m["entity_id"])
            if m["op"] == "create":
                local[key] = {"version": 0, "data": {k: c["value"] for k, c in m["changes"].items()}}
            elif m["op"] == "update" and key in local:
                local[key]["data"].update({k: c["value"] for k, c in m["changes"].items()})
            elif m["op"] == "resolve" and key in local:
                local[key]["data"]["status"] = "resolved"
        return local

    def create_dossier(self, dossier_id: str, unit_id: str, owner_id: str | None = None, **form: Any) -> dict[str, Any]:
        changes = {"unit_id": {"value": unit_id}}
        if owner_id is not None:
            changes["owner_id"] = {"value": owner_id}
        changes.update({f"form.{k}": {"value": v} for k, v in form.items()})
        return self._new(entity="dossier", entity_id=dossier_id, op="create", changes=changes)

    def edit(self, dossier_id: str, field: str, value: Any) -> dict[str, Any]:
        local = self.view()[("dossier", dossier_id)]
        confirmed = self.replica.get(("dossier", dossier_id))
        return self._new(
            entity="dossier",
            entity_id=dossier_id,
            op="update",
            base_version=confirmed["version"] if confirmed else 0,
            changes={field: {"base": local["data"].get(field), "value": value}},
        )

    def command(self, dossier_id: str, command: str) -> dict[str, Any]:
        confirmed = self.replica.get(("dossier", dossier_id))
        return self._new(
            entity="dossier",
            entity_id=dossier_id,
            op="command",
            command=command,
            args={},
            base_version=confirmed["version"] if confirmed else None,
        )

    def resolve(self, conflict_id: str, value: Any) -> dict[str, Any]:
        conflict = self.view()[("conflict", conflict_id)]["data"]
        target = self.view().get((conflict["entity"], conflict["entity_id"]))
        base = target["data"].get(conflict["field"]) if target else conflict["server_value"]
        return self._new(
            entity="conflict",
            entity_id=conflict_id,
            op="resolve",
            base_version=self.replica[("conflict", conflict_id)]["version"],
            changes={"value": {"base": base, "value": value}},
        )

    def discard(self, mutation_id: str) -> dict[str, Any]:
        """The user throws away a change still in the outbox (sent or not):
        it leaves the outbox and its seq is declared lost until acknowledged."""
        mutation = next(m for m in self.outbox if m["mutation_id"] == mutation_id)
        self.outbox.remove(mutation)
        self.lost_pending.add(mutation["seq"])
        self.discarded.add(mutation_id)
        return mutation

    # -- the wire ---------------------------------------------------------
    def request(self, start: int = 0) -> tuple[int, dict[str, Any]]:
        """Build the next request; it becomes the one awaited."""
        self.requests_sent += 1
        self.awaiting = self.requests_sent
        body = {
            "device_id": self.device_id,
            "cursor": self.cursor,
            "limit": self.limit,
            "lost": sorted(self.lost_pending),
            "mutations": [dict(m) for m in self.outbox[start : start + self.batch]],
        }
        return self.requests_sent, body

    def receive(self, request_id: int, response: dict[str, Any]) -> bool:
        if request_id != self.awaiting:
            return False  # a late answer to an abandoned request
        self.awaiting = None
        for result in response["results"]:
            if result["status"] in FINAL and result["mutation_id"] is not None:
                self.heard[result["mutation_id"]] = result
                self.outbox = [m for m in self.outbox if m["mutation_id"] != result["mutation_id"]]
        self.lost_pending -= set(response["lost"])
        for change in response["changes"]:
            self.received.append(change)
            key = (change["entity"], change["id"])
            if change["deleted"]:
                self.replica.pop(key, None)
            elif key not in self.replica or change["version"] >= self.replica[key]["version"]:
                self.replica[key] = {"version": change["version"], "data": change["data"]}
        self.cursor = response["cursor"]
        self.positions.append(decode_cursor(self.cursor))
        return True

    def settled(self) -> bool:
        return not self.outbox and not self.lost_pending
