"""Assignment (docs/workflow.md "Assignment"): a specialist who starts a dossier takes it, a leader reassigns it,
and the work the old assignee did offline comes back to their device refused with `not_assigned` and why."""

from __future__ import annotations

from tests.conftest import VALID_FORM, VINH_YEN, Api, officer_api
from tests.test_sync_http import Device, edit, new_citizen


_signed_in: dict[tuple[str, str], Api] = {}


def officer(server, key: str) -> Api:
    """One signed-in client per officer for the whole run: sign-ins are rate-limited per account."""
    if (server.url, key) not in _signed_in:
        _signed_in[(server.url, key)] = officer_api(server, key)
    return _signed_in[(server.url, key)]


def user_id(api: Api) -> int:
    return api.get("/api/session").json()["user"]["id"]


def command(device: Device, dossier_id: str, name: str, **args) -> dict:
    """Send one command from a device, as the app does when back online; the server's result for it."""
    response = device.sync([device.mutation("command", dossier_id, command=name, args=args)])
    assert response.status_code == 200, response.text
    return response.json()["results"][0]


def submitted_dossier(server, **body) -> tuple[Api, str]:
    citizen = new_citizen(server)
    response = citizen.post("/api/dossiers", {"procedure_code": "TEST.0001", "data": VALID_FORM,
                                              "unit_code": VINH_YEN, "submit": True, **body})
    assert response.status_code == 201, response.text
    return citizen, response.json()["id"]


def received_dossier(server) -> tuple[Api, str]:
    citizen, dossier_id = submitted_dossier(server)
    assert command(Device(officer(server, "intake")), dossier_id, "receive")["status"] == "applied"
    return citizen, dossier_id


def test_a_specialist_who_starts_a_dossier_takes_it_and_another_specialist_is_refused(server):
    _, dossier_id = received_dossier(server)
    first, second = officer(server, "specialist"), officer(server, "specialist2")
    first_device = Device(first)
    assert command(first_device, dossier_id, "start")["status"] == "applied"
    first_device.catch_up()
    assert first_device.record(dossier_id)["data"]["assigned_to"] == user_id(first)
    refused = command(Device(second), dossier_id, "finish")
    assert refused["status"] == "rejected" and refused["code"] == "not_assigned"
    assert "đã được giao cho cán bộ khác" in refused["reason"]["vi"]
    # The assignee goes on; the leader, who is not bound by the assignment, can too.
    assert command(first_device, dossier_id, "request_payment", reason="Lệ phí 50.000 đồng")["status"] == "applied"
    assert command(Device(officer(server, "leader")), dossier_id, "payment_done")["status"] == "applied"


def test_a_leader_reassigns_and_the_old_assignees_offline_edit_and_command_come_back_refused(server):
    _, dossier_id = received_dossier(server)
    leader = Device(officer(server, "leader"))
    old_api, new_api = officer(server, "specialist"), officer(server, "specialist2")
    assert command(leader, dossier_id, "assign", officer_id=user_id(old_api))["status"] == "applied"
    old = Device(old_api)
    assert command(old, dossier_id, "start")["status"] == "applied"
    old.catch_up()
    # The old assignee goes offline and keeps working: a correction of the form and a step, both queued.
    queued = [edit(old, dossier_id, full_name="Nguyễn Thị Mai Hương"),
              old.mutation("command", dossier_id, command="finish", args={})]
    assert command(leader, dossier_id, "assign", officer_id=user_id(new_api),
                   reason="Chuyên viên Một đi công tác")["status"] == "applied"
    results = old.sync(queued).json()["results"]
    assert [(r["status"], r["code"]) for r in results] == [("rejected", "not_assigned"), ("rejected", "not_assigned")]
    assert all("Nội dung đã nhập vẫn được giữ trên máy" in r["reason"]["vi"] for r in results)
    assert all(r["reason"]["en"].startswith("The dossier has been assigned to another officer") for r in results)
    # Nothing of it reached the server; the device now holds the server's state with the new assignee.
    record = old.record(dossier_id)["data"]
    assert record["form.full_name"] == VALID_FORM["full_name"] and record["status"] == 4
    assert record["assigned_to"] == user_id(new_api)
    # The new assignee can act.
    new = Device(new_api)
    new.catch_up()
    assert new.sync([edit(new, dossier_id, full_name="Nguyễn Thị Mai Hương")]).json()["results"][0]["status"] == "applied"
    assert command(new, dossier_id, "finish")["status"] == "applied"
    timeline = new_api.get(f"/api/dossiers/{dossier_id}/events").json()["items"]
    notes = [event["note"] for event in timeline if event["action"] == "assign"]
    assert notes == ["Giao cho Chuyên viên Vĩnh Yên Một",
                     "Giao cho Chuyên viên Vĩnh Yên Hai (thay Chuyên viên Vĩnh Yên Một): Chuyên viên Một đi công tác"]


def test_only_a_leader_assigns_and_only_to_a_specialist_of_the_handling_unit(server):
    _, dossier_id = received_dossier(server)
    specialist = officer(server, "specialist")
    as_specialist = command(Device(specialist), dossier_id, "assign", officer_id=user_id(specialist))
    assert (as_specialist["status"], as_specialist["code"]) == ("rejected", "forbidden")
    leader = Device(officer(server, "leader"))
    for officer_id in (user_id(officer(server, "intake")), user_id(officer(server, "province_specialist")),
                       "abc", 999999999):
        refused = command(leader, dossier_id, "assign", officer_id=officer_id)
        assert (refused["status"], refused["code"]) == ("rejected", "invalid_officer"), officer_id
    assert command(leader, dossier_id, "assign", officer_id=user_id(specialist))["status"] == "applied"
    again = command(leader, dossier_id, "assign", officer_id=user_id(specialist))
    assert again["code"] == "already_assigned" and "Chuyên viên Vĩnh Yên Một" in again["reason"]["vi"]
