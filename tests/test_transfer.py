"""Transfer between units (liên thông, docs/workflow.md "Transfer"): the commune office that received a dossier
forwards it to the province; both offices see it and where it is, the province processes it and attaches the
result, and an office of a third unit sees nothing."""

from __future__ import annotations

from tests.conftest import PHU_THO, VALID_FORM, VINH_YEN
from tests.test_assignment import command, officer, received_dossier, user_id
from tests.test_attachments_http import finalize, jpeg, put, register
from tests.test_sync_http import Device, edit, new_citizen


def test_a_commune_forwards_to_the_province_both_see_it_and_a_third_unit_sees_nothing(server):
    citizen = new_citizen(server)
    draft = citizen.post("/api/dossiers", {"procedure_code": "TEST.0001", "data": VALID_FORM, "unit_code": VINH_YEN})
    dossier_id = draft.json()["id"]
    photo = jpeg(seed=31)
    page = register(citizen, dossier_id, photo, document="Căn cước công dân").json()
    put(server.url, page["upload"], photo)
    assert finalize(citizen, page["attachment"]["id"]).json()["status"] == "verified"
    owner = Device(citizen)
    assert command(owner, dossier_id, "submit")["status"] == "applied"
    commune = Device(officer(server, "intake"))
    assert command(commune, dossier_id, "receive")["status"] == "applied"

    forwarded = command(commune, dossier_id, "forward", unit_code=PHU_THO,
                        reason="Thủ tục thuộc thẩm quyền cấp tỉnh")
    assert forwarded["status"] == "applied"

    province_api = officer(server, "province_leader")
    province = Device(province_api)
    province.catch_up()
    data = province.record(dossier_id)["data"]
    assert (data["handling_unit_code"], data["unit_code"], data["status"]) == (PHU_THO, VINH_YEN, 2)
    # The citizen's pages reach the province's devices too, though they were uploaded before the transfer.
    assert province.record(page["attachment"]["id"], "attachment")["data"]["status"] == "verified"
    assert province_api.get(f"/api/attachments/{page['attachment']['id']}").status_code == 200
    assert dossier_id in [d["id"] for d in province_api.get("/api/dossiers").json()["items"]]
    # The citizen reading the dossier over REST sees where it is now.
    shown = citizen.get(f"/api/dossiers/{dossier_id}").json()
    assert (shown["handling_unit"]["code"], shown["unit"]["code"], shown["received_at"] is not None) == (
        PHU_THO, VINH_YEN, True)
    commune.catch_up()
    assert commune.record(dossier_id)["data"]["handling_unit_code"] == PHU_THO
    owner.catch_up()
    assert owner.record(dossier_id)["data"]["handling_unit_code"] == PHU_THO

    elsewhere_api = officer(server, "intake_elsewhere")
    elsewhere = Device(elsewhere_api)
    elsewhere.catch_up()
    assert ("dossier", dossier_id) not in elsewhere.replica
    assert ("attachment", page["attachment"]["id"]) not in elsewhere.replica
    assert elsewhere_api.get(f"/api/dossiers/{dossier_id}").status_code == 404
    assert elsewhere_api.get(f"/api/dossiers/{dossier_id}/events").status_code == 404

    for viewer in (citizen, officer(server, "intake"), province_api):
        events = viewer.get(f"/api/dossiers/{dossier_id}/events").json()["items"]
        assert (events[-1]["action"], events[-1]["from_unit"], events[-1]["to_unit"], events[-1]["note"]) == (
            "forward", "Phường Vĩnh Yên", "Tỉnh Phú Thọ", "Thủ tục thuộc thẩm quyền cấp tỉnh")
        assert (events[-1]["from_status"], events[-1]["to_status"]) == (2, 2)


def test_the_handling_unit_processes_and_attaches_the_result_the_receiving_unit_only_follows(server):
    citizen, dossier_id = received_dossier(server)
    assert command(Device(officer(server, "intake")), dossier_id, "forward", unit_code=PHU_THO,
                   reason="Thẩm quyền cấp tỉnh")["status"] == "applied"
    # The commune's specialist can no longer process it.
    refused = command(Device(officer(server, "specialist")), dossier_id, "start")
    assert (refused["status"], refused["code"]) == ("rejected", "transferred")
    assert "đã được chuyển cho đơn vị khác" in refused["reason"]["vi"]
    commune_desk = Device(officer(server, "intake"))
    commune_desk.catch_up()
    correction = commune_desk.sync([edit(commune_desk, dossier_id, full_name="Nguyễn Thị Mai Anh")]).json()
    assert (correction["results"][0]["status"], correction["results"][0]["code"]) == ("rejected", "transferred")
    province_specialist = officer(server, "province_specialist")
    handler = Device(province_specialist)
    assert command(handler, dossier_id, "start")["status"] == "applied"
    handler.catch_up()
    assert handler.record(dossier_id)["data"]["assigned_to"] == user_id(province_specialist)
    # The result: attached by the handling unit only.
    result = jpeg(seed=41)
    for outsider in (officer(server, "intake"), citizen):
        attempt = register(outsider, dossier_id, result, document="Kết quả giải quyết")
        assert (attempt.status_code, attempt.json()["error"]["code"]) == (403, "not_result_maker")
    attached = register(province_specialist, dossier_id, result, document="Kết quả giải quyết")
    assert attached.status_code == 201, attached.text
    put(server.url, attached.json()["upload"], result)
    assert finalize(province_specialist, attached.json()["attachment"]["id"]).json()["status"] == "verified"
    assert command(handler, dossier_id, "finish")["status"] == "applied"
    # A leader of the handling (competent) body signs it (docs/workflow.md "Approval and return").
    assert command(Device(officer(server, "province_leader")), dossier_id, "approve")["status"] == "applied"
    # The receiving commune's desk returns the result to the citizen.
    assert command(Device(officer(server, "intake")), dossier_id, "return", received_by="Nguyễn Thị Mai")["status"] == \
        "applied"
    pages = citizen.get(f"/api/dossiers/{dossier_id}/attachments").json()["items"]
    assert [p["document"] for p in pages] == ["Kết quả giải quyết"]


def test_a_forward_needs_a_unit_in_force_a_reason_and_the_right_role(server):
    _, dossier_id = received_dossier(server)
    intake = Device(officer(server, "intake"))
    for args, code in (({"unit_code": "99999", "reason": "x"}, "unknown_unit"),
                       ({"unit_code": PHU_THO}, "reason_required"),
                       ({"unit_code": VINH_YEN, "reason": "x"}, "same_unit")):
        refused = command(intake, dossier_id, "forward", **args)
        assert (refused["status"], refused["code"]) == ("rejected", code), args
    as_specialist = command(Device(officer(server, "specialist")), dossier_id, "forward",
                            unit_code=PHU_THO, reason="x")
    assert as_specialist["code"] == "forbidden"
    as_stranger = command(Device(officer(server, "intake_elsewhere")), dossier_id, "forward",
                          unit_code=PHU_THO, reason="x")
    assert as_stranger["code"] == "not_found"
