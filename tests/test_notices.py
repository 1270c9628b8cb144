"""The in-app inbox and the list of devices over HTTP: one's own notices and devices only."""

from __future__ import annotations

import uuid

from tests.conftest import VALID_FORM, VINH_YEN, Api, officer_api, unique_phone
from tests.push_service import PushService
from tests.test_sync_http import Device


def new_citizen(server) -> Api:
    api = Api(server.url)
    assert api.post("/api/accounts", {"phone": unique_phone(), "password": "matkhau-an-toan",
                                      "full_name": "Trần Văn Nam"}).status_code == 201
    return api


def file_and_receive(server, citizen: Api) -> str:
    response = citizen.post("/api/dossiers", {"procedure_code": "TEST.0001", "unit_code": VINH_YEN,
                                              "data": VALID_FORM, "submit": True})
    assert response.status_code == 201, response.text
    dossier_id = response.json()["id"]
    officer = Device(officer_api(server, "intake"))
    result = officer.sync([officer.mutation("command", dossier_id, command="receive", args={})]).json()["results"][0]
    assert result["status"] == "applied", result
    return dossier_id


def test_the_inbox_holds_ones_own_notices_and_marks_them_read(server):
    citizen, stranger = new_citizen(server), new_citizen(server)
    dossier_id = file_and_receive(server, citizen)
    inbox = citizen.get("/api/notices").json()
    assert inbox["unread"] == 1
    [notice] = inbox["items"]
    assert notice["title"] == "Hồ sơ đã được tiếp nhận" and "đã được tiếp nhận" in notice["body"]
    assert notice["url"] == f"/app#/d/{dossier_id}" and notice["dossier_id"] == dossier_id and notice["read_at"] is None

    # Another citizen neither sees nor marks it.
    assert stranger.get("/api/notices").json() == {"items": [], "unread": 0}
    assert stranger.post(f"/api/notices/{notice['id']}/read").status_code == 404
    assert citizen.get("/api/notices").json()["unread"] == 1

    read = citizen.post(f"/api/notices/{notice['id']}/read")
    assert read.status_code == 200 and read.json()["read_at"]
    assert citizen.get("/api/notices").json()["unread"] == 0
    # Marking again changes nothing.
    assert citizen.post(f"/api/notices/{notice['id']}/read").json()["read_at"] == read.json()["read_at"]


def test_the_units_intake_officer_hears_of_a_new_online_dossier_and_another_unit_does_not(server):
    here, elsewhere = officer_api(server, "intake"), officer_api(server, "intake_elsewhere")
    before_elsewhere = elsewhere.get("/api/notices?limit=200").json()["items"]
    citizen = new_citizen(server)
    response = citizen.post("/api/dossiers", {"procedure_code": "TEST.0001", "unit_code": VINH_YEN,
                                              "data": VALID_FORM, "submit": True})
    dossier_id = response.json()["id"]
    notices = [n for n in here.get("/api/notices?limit=200").json()["items"] if n["dossier_id"] == dossier_id]
    assert [n["kind"] for n in notices] == ["new_submission"] and notices[0]["title"] == "Hồ sơ trực tuyến mới"
    assert elsewhere.get("/api/notices?limit=200").json()["items"] == before_elsewhere
    # The citizen is not told of their own submission.
    assert citizen.get("/api/notices").json()["items"] == []


def test_a_refused_step_leaves_no_notice(server):
    citizen = new_citizen(server)
    response = citizen.post("/api/dossiers", {"procedure_code": "TEST.0001", "unit_code": VINH_YEN,
                                              "data": VALID_FORM, "submit": True})
    dossier_id = response.json()["id"]
    officer = Device(officer_api(server, "intake"))
    result = officer.sync([officer.mutation("command", dossier_id, command="refuse", args={})]).json()["results"][0]
    assert result["status"] == "rejected" and result["code"] == "reason_required"
    assert citizen.get("/api/notices").json()["items"] == []


def test_devices_are_listed_and_removed_by_their_owner_only(server):
    citizen, stranger = new_citizen(server), new_citizen(server)
    with PushService() as service:
        subscription = service.subscribe().to_json()
    https = {**subscription, "endpoint": f"https://push.example.net/send/{uuid.uuid4().hex}"}
    created = citizen.post("/api/push/subscriptions", {**https, "label": "Điện thoại của Nam", "device_id": "dev-x"})
    assert created.status_code == 201, created.text
    device = created.json()
    assert device["label"] == "Điện thoại của Nam" and device["device_id"] is None  # no such synced device
    # The same browser again: updated, not doubled.
    again = citizen.post("/api/push/subscriptions", {**https, "label": "Điện thoại của Nam (Chrome)"})
    assert again.status_code == 200 and again.json()["id"] == device["id"]
    assert [d["label"] for d in citizen.get("/api/push/subscriptions").json()["items"]] == ["Điện thoại của Nam (Chrome)"]
    assert stranger.get("/api/push/subscriptions").json()["items"] == []
    assert stranger.send("DELETE", f"/api/push/subscriptions/{device['id']}").status_code == 404
    assert citizen.send("DELETE", f"/api/push/subscriptions/{device['id']}").status_code == 200
    assert citizen.get("/api/push/subscriptions").json()["items"] == []
    assert citizen.send("DELETE", f"/api/push/subscriptions/{device['id']}").status_code == 404


def test_bad_subscriptions_are_refused_with_a_reason(server):
    citizen = new_citizen(server)
    with PushService() as service:
        good = service.subscribe().to_json()
    https = f"https://push.example.net/send/{uuid.uuid4().hex}"
    cases = [
        ({**good}, "invalid_endpoint"),  # plain http: only https endpoints outside tests
        ({**good, "endpoint": "javascript:alert(1)"}, "invalid_endpoint"),
        ({**good, "endpoint": "https://push.example.net:99999/x"}, "invalid_endpoint"),
        ({**good, "endpoint": 42}, "invalid_endpoint"),
        ({"endpoint": https}, "invalid_key"),
        ({**good, "endpoint": https, "keys": {"p256dh": "AAAA", "auth": good["keys"]["auth"]}}, "invalid_key"),
        ({**good, "endpoint": https, "keys": {"p256dh": good["keys"]["p256dh"], "auth": "AAAA"}}, "invalid_key"),
        ({**good, "endpoint": https, "locale": "fr"}, "invalid_locale"),
    ]
    for body, code in cases:
        response = citizen.post("/api/push/subscriptions", body)
        assert response.status_code == 400 and response.json()["error"]["code"] == code, (body, response.text)
        assert response.json()["error"]["message"]
    assert citizen.get("/api/push/subscriptions").json()["items"] == []


def test_push_and_the_inbox_need_a_signed_in_user_and_the_csrf_token(server, api):
    assert api.get("/api/push/key").status_code == 200 and len(api.get("/api/push/key").json()["public_key"]) == 87
    assert api.get("/api/notices").status_code == 401
    assert api.get("/api/push/subscriptions").status_code == 401
    citizen = new_citizen(server)
    assert citizen.http.post("/api/notices/1/read").status_code == 403  # no X-CSRF-Token
    assert citizen.http.post("/api/push/subscriptions", json={}).status_code == 403
    assert citizen.get("/api/notices?limit=0").status_code == 400


def test_an_officer_hears_when_a_leader_gives_their_dossier_to_someone_else(server):
    from tests.conftest import OFFICER_PASSWORD, run_motcua

    specialists = []
    for name in ("Chuyên viên Một", "Chuyên viên Hai"):
        phone = unique_phone()
        run_motcua(["user", "add", "--phone", phone, "--name", name, "--role", "specialist", "--unit", VINH_YEN,
                    "--password", OFFICER_PASSWORD], server.env)
        api = Api(server.url)
        api.sign_in(phone, OFFICER_PASSWORD)
        specialists.append((api, api.get("/api/session").json()["user"]["id"]))
    citizen = new_citizen(server)
    dossier_id = file_and_receive(server, citizen)
    leader = Device(officer_api(server, "leader"))
    leader.catch_up()
    for _, officer_id in specialists:
        result = leader.sync([leader.mutation("command", dossier_id, command="assign",
                                              args={"officer_id": officer_id})]).json()["results"][0]
        assert result["status"] == "applied", result
    (first, _), (second, _) = specialists
    [notice] = [n for n in first.get("/api/notices").json()["items"] if n["dossier_id"] == dossier_id]
    assert notice["kind"] == "unassigned" and notice["title"] == "Hồ sơ đã được giao cho người khác"
    assert [n for n in second.get("/api/notices").json()["items"] if n["kind"] == "unassigned"] == []


def test_due_soon_reminds_the_units_officers_once_then_apology_and_result_reach_the_citizen(server):
    import asyncio
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from tortoise import Tortoise

    from server import db
    from server.notify.notices import notify_due_soon

    citizen = new_citizen(server)
    dossier_id = file_and_receive(server, citizen)
    due_at = citizen.get(f"/api/dossiers/{dossier_id}").json()["due_at"]
    assert due_at, "receiving sets the appointment"
    due = datetime.fromisoformat(due_at)

    class Settings:
        database_url = server.env["DATABASE_URL"]

    async def remind(now: datetime) -> int:
        await Tortoise.init(config=db.tortoise_config(Settings()))
        try:
            return await notify_due_soon(now)
        finally:
            await Tortoise.close_connections()

    leader_api = officer_api(server, "leader")
    assert asyncio.run(remind(due - timedelta(hours=2))) >= 1
    mine = [n for n in leader_api.get("/api/notices?limit=200").json()["items"] if n["dossier_id"] == dossier_id]
    assert [n["kind"] for n in mine] == ["due_soon"] and mine[0]["title"] == "Hồ sơ sắp đến hạn"
    asyncio.run(remind(due - timedelta(hours=1)))  # once per dossier
    assert len([n for n in leader_api.get("/api/notices?limit=200").json()["items"] if n["dossier_id"] == dossier_id]) == 1

    leader = Device(leader_api)
    leader.catch_up()
    new_due = due + timedelta(days=5)
    for name, args in (("start", {}), ("apologise", {"new_due_at": new_due.isoformat(), "reason": "Chờ xác minh"}),
                       ("finish", {})):
        result = leader.sync([leader.mutation("command", dossier_id, command=name, args=args)]).json()["results"][0]
        assert result["status"] == "applied", (name, result)
    notices = {n["kind"]: n for n in citizen.get("/api/notices").json()["items"]}
    assert set(notices) == {"received", "apology", "result_ready"}
    day = new_due.astimezone(ZoneInfo("Asia/Ho_Chi_Minh")).strftime("%d/%m/%Y")
    assert f"Ngày hẹn mới: {day}" in notices["apology"]["body"] and "Chờ xác minh" in notices["apology"]["body"]
    assert notices["result_ready"]["title"] == "Đã có kết quả"
