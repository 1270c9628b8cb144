"""POST /api/sync end to end, through a proxy that loses, cuts, delays and duplicates requests, and across a
server killed with SIGKILL in the middle of a push (docs/sync.md §1, R1, R2, R3, R4, R7).

The devices below are HTTP clients written from docs/sync.md §7: an outbox of mutations numbered by seq,
one request in flight, everything resent after a failure, the cursor kept between rounds. The checks read the
result through the API (a fresh device's pull, GET /api/dossiers/{id}) and the database itself (outcomes,
change log), because "applied twice" is only visible there.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import sqlite3
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import OFFICER_PASSWORD, OFFICERS, VALID_FORM, VINH_YEN, Api, start_server, unique_phone
from tests.fault_proxy import Fault, FaultProxy

FINAL = frozenset({"applied", "merged", "conflict", "rejected", "lost"})
PASSWORD = "matkhau-an-toan"
PROCEDURE = "TEST.0001"


# -- the device -------------------------------------------------------------------------------------------
class Device:
    """One outbox: one account in one browser profile (docs/sync.md §2, §7)."""

    def __init__(self, base_url: str, phone: str, password: str, timeout: float = 10.0) -> None:
        self.api = Api(base_url)
        self.api.sign_in(phone, password)
        self.device_id = str(uuid.uuid4())
        self.timeout = timeout
        self.cursor: str | None = None
        self.positions: list[int] = []
        self.replica: dict[tuple[str, str], dict[str, Any]] = {}
        self.outbox: list[dict[str, Any]] = []
        self.next_seq = 1
        self.made: list[dict[str, Any]] = []
        self.heard: dict[str, dict[str, Any]] = {}  # mutation_id -> its final result
        self.failures = 0

    # local changes (§7.2): never edited once made
    def _new(self, **fields: Any) -> dict[str, Any]:
        mutation = {"mutation_id": str(uuid.uuid4()), "seq": self.next_seq, **fields}
        self.next_seq += 1
        self.outbox.append(mutation)
        self.made.append(mutation)
        return mutation

    def view(self, dossier_id: str) -> dict[str, Any]:
        """What the user sees: the replica with the outbox on top."""
        record = self.replica.get(("dossier", dossier_id))
        data = dict(record["data"]) if record else {}
        for mutation in self.outbox:
            if mutation["entity_id"] == dossier_id and mutation["op"] in ("create", "update"):
                data.update({name: change["value"] for name, change in mutation["changes"].items()})
        return data

    def create(self, dossier_id: str, form: dict[str, Any]) -> dict[str, Any]:
        changes = {"procedure_code": {"value": PROCEDURE}, "unit_code": {"value": VINH_YEN}}
        changes.update({f"form.{name}": {"value": value} for name, value in form.items()})
        return self._new(entity="dossier", entity_id=dossier_id, op="create", changes=changes)

    def edit(self, dossier_id: str, **form: Any) -> dict[str, Any]:
        seen = self.view(dossier_id)
        record = self.replica.get(("dossier", dossier_id))
        changes = {f"form.{name}": {"base": seen.get(f"form.{name}"), "value": value} for name, value in form.items()}
        return self._new(entity="dossier", entity_id=dossier_id, op="update",
                         base_version=record["version"] if record else 0, changes=changes)

    def command(self, dossier_id: str, command: str, **args: Any) -> dict[str, Any]:
        return self._new(entity="dossier", entity_id=dossier_id, op="command", command=command, args=args)

    def resolve(self, conflict_id: str, value: Any) -> dict[str, Any]:
        conflict = self.replica[("conflict", conflict_id)]["data"]
        base = self.view(conflict["entity_id"]).get(conflict["field"])
        return self._new(entity="conflict", entity_id=conflict_id, op="resolve",
                         changes={"value": {"base": base, "value": value}})

    # the wire (§7.4, §7.5)
    def round(self) -> dict[str, Any] | None:
        """One request; None when nothing is known (network error, cut or late answer, 5xx)."""
        body = {"device_id": self.device_id, "cursor": self.cursor, "limit": 200,
                "mutations": self.outbox[:500]}
        try:
            response = self.api.post("/api/sync", body, timeout=self.timeout,
                                     headers={"Accept-Encoding": "br, gzip"})
        except (httpx.TransportError, httpx.DecodingError):
            self.failures += 1
            return None
        if response.status_code >= 500:
            self.failures += 1
            return None
        assert response.status_code == 200, response.text
        answer = response.json()
        for result in answer["results"]:
            if result["status"] in FINAL:
                assert result["mutation_id"] not in self.heard or self.heard[result["mutation_id"]] == result, \
                    f"two different final results for {result['mutation_id']}"
                self.heard[result["mutation_id"]] = result
                self.outbox = [m for m in self.outbox if m["mutation_id"] != result["mutation_id"]]
        for change in answer["changes"]:
            key = (change["entity"], change["id"])
            if change["deleted"]:
                self.replica.pop(key, None)
            elif key not in self.replica or change["version"] >= self.replica[key]["version"]:
                self.replica[key] = {"version": change["version"], "data": change["data"]}
        position = int(base64.urlsafe_b64decode(answer["cursor"] + "==").decode()[3:])
        assert not self.positions or position >= self.positions[-1], "the cursor went backwards (R7)"
        self.positions.append(position)
        self.cursor = answer["cursor"]
        self.last = answer
        return answer

    def sync(self, max_rounds: int = 30) -> None:
        """Rounds until the outbox is empty and nothing more is to pull; failures are simply resent."""
        for _ in range(max_rounds):
            answer = self.round()
            if answer is not None and not self.outbox and not answer["more"]:
                return
        raise AssertionError(f"device {self.device_id} did not settle in {max_rounds} rounds: {self.outbox}")

    def result(self, mutation: dict[str, Any]) -> dict[str, Any]:
        return self.heard[mutation["mutation_id"]]

    def dossier(self, dossier_id: str) -> dict[str, Any]:
        return self.replica[("dossier", dossier_id)]

    def conflicts(self) -> dict[str, dict[str, Any]]:
        return {key[1]: record["data"] for key, record in self.replica.items() if key[0] == "conflict"}


# -- the database, read directly ----------------------------------------------------------------------------
class Database:
    """Read-only queries on the instance's database; SQL written with `?` placeholders."""

    def __init__(self, url: str) -> None:
        self.url = url

    def rows(self, sql: str, *params: Any) -> list[tuple]:
        if self.url.startswith("sqlite://"):
            connection = sqlite3.connect(self.url[len("sqlite://"):], timeout=30)
            try:
                return connection.execute(sql, params).fetchall()
            finally:
                connection.close()
        for number in range(1, len(params) + 1):
            sql = sql.replace("?", f"${number}", 1)
        return asyncio.run(self._pg_rows(sql, params))

    async def _pg_rows(self, sql: str, params: tuple) -> list[tuple]:
        import asyncpg

        connection = await asyncpg.connect(self.url.replace("postgresql://", "postgres://", 1))
        try:
            return [tuple(row) for row in await connection.fetch(sql, *params)]
        finally:
            await connection.close()

    def writing(self) -> bool:
        """Whether another connection holds a write transaction open right now (the server applying a push)."""
        if self.url.startswith("sqlite://"):
            connection = sqlite3.connect(self.url[len("sqlite://"):].split("?")[0], timeout=0, isolation_level=None)
            try:
                connection.execute("BEGIN IMMEDIATE")
                connection.execute("ROLLBACK")
                return False
            except sqlite3.OperationalError:  # locked: a writer is inside its transaction
                return True
            finally:
                connection.close()
        # A transaction that has written or locked a row holds a transaction id (the push locks its device row
        # first, then writes the dossiers; its outcomes are written last, so its current query says little).
        return bool(self.rows("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                              "AND pid <> pg_backend_pid() AND xact_start IS NOT NULL "
                              "AND backend_xid IS NOT NULL")[0][0])

    def outcomes(self, device_id: str) -> dict[str, tuple[str, dict]]:
        rows = self.rows("SELECT mutation_id, status, result FROM mutation_outcomes WHERE device_id = ?", device_id)
        return {row[0]: (row[1], json.loads(row[2]) if isinstance(row[2], str) else row[2]) for row in rows}

    def repeated_changes(self) -> list[tuple]:
        """A mutation writes a record at most once: (mutation, record) never appears twice in the change log."""
        return self.rows("SELECT mutation_id, entity, entity_id, COUNT(*) FROM change_log WHERE mutation_id IS NOT NULL "
                         "GROUP BY mutation_id, entity, entity_id HAVING COUNT(*) > 1")

    def logged_versions(self, dossier_id: str) -> list[int]:
        return [row[0] for row in self.rows(
            "SELECT version FROM change_log WHERE entity = 'dossier' AND entity_id = ? ORDER BY seq", dossier_id)]


def wait_for(condition, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.005)  # polling a condition, not waiting for a result


def register_citizen(base_url: str) -> str:
    phone = unique_phone()
    response = Api(base_url).post("/api/accounts", {"phone": phone, "password": PASSWORD, "full_name": "Trần Văn Hùng"})
    assert response.status_code == 201, response.text
    return phone


def check_invariants(db: Database, devices: list[Device], observers: dict[Device, Device]) -> None:
    """docs/sync.md: every mutation final exactly once with its stored result, nothing logged twice,
    versions 1..n without gaps, and a settled device's replica is the server's state for its user."""
    assert db.repeated_changes() == []
    for device in devices:
        assert device.outbox == []
        assert set(device.heard) == {m["mutation_id"] for m in device.made}
        outcomes = db.outcomes(device.device_id)
        assert set(outcomes) == set(device.heard)
        for mutation_id, (status, stored) in outcomes.items():
            assert (status, stored) == (device.heard[mutation_id]["status"], device.heard[mutation_id])
    for device, fresh in observers.items():
        fresh.sync()
        assert {key: record for key, record in device.replica.items()} == fresh.replica
        for (entity, record_id), record in fresh.replica.items():
            if entity == "dossier":
                assert db.logged_versions(record_id) == list(range(1, record["version"] + 1))
                shown = device.api.get(f"/api/dossiers/{record_id}").json()
                assert shown["version"] == record["version"]
                assert {f"form.{k}": v for k, v in shown["data"].items()} == \
                    {k: v for k, v in record["data"].items() if k.startswith("form.") and v is not None}


@pytest.fixture
def proxy(server):
    port = int(server.url.rsplit(":", 1)[1])
    running = FaultProxy("127.0.0.1", port).start()
    yield running
    running.stop()


# -- the scenarios ------------------------------------------------------------------------------------------
def test_two_phones_and_an_officer_converge_through_every_fault(server, seeded_env, proxy):
    db = Database(seeded_env["DATABASE_URL"])
    phone = register_citizen(server.url)
    phone_a, phone_b = Device(proxy.url, phone, PASSWORD), Device(proxy.url, phone, PASSWORD)
    officer = Device(proxy.url, OFFICERS["intake"].phone, OFFICER_PASSWORD)

    # Phone A drafts two dossiers; the first request never reaches the server.
    filed, private = str(uuid.uuid4()), str(uuid.uuid4())
    partial = {key: VALID_FORM[key] for key in ("full_name", "birth_date", "sex")}
    phone_a.create(filed, partial)
    phone_a.create(private, {"full_name": "Bản nháp riêng"})
    proxy.add(Fault("drop_before"))
    phone_a.sync()
    assert phone_a.failures == 1 and phone_a.dossier(filed)["version"] == 1

    # The drafts follow the citizen to phone B (R7); the first answer is cut in its headers.
    proxy.add(Fault("cut", nbytes=40))
    phone_b.sync()
    assert phone_b.dossier(filed)["data"]["form.full_name"] == VALID_FORM["full_name"]

    # Different fields on the two phones merge; phone B's answer is lost after the server applied it.
    edit_a = phone_a.edit(filed, full_name="Nguyễn Thị Mai Anh")
    edit_b = phone_b.edit(filed, cccd=VALID_FORM["cccd"], phone=VALID_FORM["phone"])
    phone_a.sync()
    proxy.add(Fault("drop_after"))
    phone_b.sync()
    assert phone_a.result(edit_a)["status"] == "applied"
    assert phone_b.result(edit_b)["status"] == "merged"
    assert phone_b.failures == 2

    # The same field on both phones: a conflict both pull; phone B's request is duplicated on the way.
    phone_a.edit(filed, address=VALID_FORM["address"])
    phone_b.edit(filed, address={"commune_code": VINH_YEN, "detail": "Số 9, đường Mê Linh"})
    phone_a.sync()
    proxy.add(Fault("duplicate"))
    phone_b.sync()
    assert proxy.seen[-1].kind == "duplicate"
    (conflict_id, conflict), = phone_b.conflicts().items()
    assert conflict["server_value"] == VALID_FORM["address"] and conflict["status"] == "open"
    phone_a.sync()
    assert phone_a.conflicts()[conflict_id]["device_value"]["detail"] == "Số 9, đường Mê Linh"

    # Phone B keeps phone A's address; its first resolve is delayed past its timeout and arrives late.
    phone_b.resolve(conflict_id, VALID_FORM["address"])
    phone_b.timeout = 0.5
    proxy.add(Fault("delay", seconds=1.5))
    phone_b.sync()
    phone_b.timeout = 10.0
    wait_for(proxy.idle, "the delayed request to reach the server")
    phone_a.sync()
    assert phone_a.conflicts()[conflict_id]["status"] == "resolved"
    assert phone_a.dossier(filed)["data"]["form.address"] == VALID_FORM["address"]

    # Phone A completes and submits; the officer receives it and asks for a supplement.
    phone_a.edit(filed, members=VALID_FORM["members"])
    submit = phone_a.command(filed, "submit")
    proxy.add(Fault("cut", nbytes=-7))  # the body's last bytes never arrive
    phone_a.sync()
    assert phone_a.result(submit)["status"] == "applied"
    proxy.add(Fault("duplicate"), Fault("cut", nbytes=30))
    officer.sync()
    assert officer.dossier(filed)["data"]["status"] == 1
    assert ("dossier", private) not in officer.replica  # a draft is its owner's alone
    officer.command(filed, "receive")
    officer.command(filed, "request_supplement", reason="Thiếu số điện thoại liên hệ")
    proxy.add(Fault("drop_after"), Fault("duplicate"))
    officer.sync()
    phone_a.sync()
    phone_b.sync()
    assert phone_b.dossier(filed)["data"]["status"] == 5

    # The citizen supplements the phone number; the officer, offline, accepts the supplement and corrects the
    # phone (same field: conflict) and the name (another field: merged).
    phone_b.edit(filed, phone="0987 654 321")
    proxy.add(Fault("drop_after"))
    phone_b.sync()
    officer.command(filed, "accept_supplement")
    name_fix = officer.edit(filed, full_name="Nguyễn Thị Mai")
    phone_fix = officer.edit(filed, phone="0912 000 111")
    proxy.add(Fault("drop_before"), Fault("cut", nbytes=-1), Fault("duplicate"))
    officer.sync()
    assert officer.result(name_fix)["status"] == "merged"
    assert officer.result(phone_fix)["status"] == "conflict"
    (officer_conflict,) = officer.result(phone_fix)["conflicts"]
    phone_a.sync()
    seen_by_citizen = phone_a.conflicts()[officer_conflict]
    assert (seen_by_citizen["server_value"], seen_by_citizen["device_value"]) == ("0987 654 321", "0912 000 111")

    # The officer settles on the citizen's number; everybody sees it resolved.
    resolution = officer.resolve(officer_conflict, "0987 654 321")
    proxy.add(Fault("duplicate"), Fault("drop_after"))
    officer.sync()
    assert officer.result(resolution)["status"] == "applied"
    for device in (phone_a, phone_b, officer):
        device.sync()
        assert device.conflicts()[officer_conflict]["status"] == "resolved"
        data = device.dossier(filed)["data"]
        assert (data["status"], data["form.phone"], data["form.full_name"]) == (4, "0987 654 321", "Nguyễn Thị Mai")
    wait_for(proxy.idle, "the proxy to finish")
    assert {fault.kind for fault in proxy.seen} >= {"drop_before", "drop_after", "cut", "delay", "duplicate"}

    check_invariants(db, [phone_a, phone_b, officer], {
        phone_a: Device(server.url, phone, PASSWORD),
        phone_b: Device(server.url, phone, PASSWORD),
        officer: Device(server.url, OFFICERS["intake"].phone, OFFICER_PASSWORD),
    })


def test_a_server_killed_during_a_push_loses_nothing_and_applies_nothing_twice(seeded_env, tmp_path):
    db = Database(seeded_env["DATABASE_URL"])
    data_dir = Path(seeded_env["MOTCUA_DATA_DIR"])
    running = start_server(seeded_env, cwd=data_dir.parent, data_dir=data_dir)
    proxy = FaultProxy("127.0.0.1", int(running.url.rsplit(":", 1)[1])).start()
    try:
        phone = register_citizen(running.url)
        device = Device(proxy.url, phone, PASSWORD, timeout=120)

        # Twenty drafts, acknowledged before the crash.
        early = [str(uuid.uuid4()) for _ in range(20)]
        for dossier_id in early:
            device.create(dossier_id, {"full_name": "Lê Văn Sáu"})
        device.sync()
        acknowledged = dict(device.heard)

        # One push of 300 mutations: 100 new drafts each edited twice; the server dies while applying it.
        late = [str(uuid.uuid4()) for _ in range(100)]
        for number, dossier_id in enumerate(late):
            device.create(dossier_id, {"full_name": f"Hồ sơ {number}"})
            device.edit(dossier_id, full_name=f"Hồ sơ số {number}")
            device.edit(dossier_id, email=f"hoso{number}@example.vn")
        assert len(device.outbox) == 300
        push = threading.Thread(target=device.round)
        push.start()
        # A push is applied in one transaction (docs/sync.md §8): the kill lands while it is open.
        wait_for(db.writing, "the push's transaction to be open", timeout=60)
        os.kill(running.process.pid, signal.SIGKILL)
        running.process.wait()
        push.join()
        applied_at_kill = len(db.outcomes(device.device_id)) - 20
        assert applied_at_kill in (0, 300), "all or nothing: one transaction"
        assert len(device.outbox) == 300 and device.failures == 1  # no answer: nothing known, all kept

        # Restarted on the same database, the device resends everything.
        running = start_server(seeded_env, cwd=data_dir.parent, data_dir=data_dir)
        proxy.retarget("127.0.0.1", int(running.url.rsplit(":", 1)[1]))
        device.sync()

        assert {m: device.heard[m] for m in acknowledged} == acknowledged
        statuses = [device.heard[m["mutation_id"]]["status"] for m in device.made]
        assert set(statuses) <= {"applied", "merged"}, statuses
        for number, dossier_id in enumerate(late):
            record = device.dossier(dossier_id)
            assert record["version"] == 3
            assert (record["data"]["form.full_name"], record["data"]["form.email"]) == \
                (f"Hồ sơ số {number}", f"hoso{number}@example.vn")
        check_invariants(db, [device], {device: Device(running.url, phone, PASSWORD)})
    finally:
        proxy.stop()
        running.stop()
