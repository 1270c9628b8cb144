"""POST /api/sync against a real server on loopback, SQLite or PostgreSQL (docs/sync.md)."""

from __future__ import annotations

import gzip
import json
import uuid
from concurrent.futures import ThreadPoolExecutor

import brotli
import httpx

from tests.conftest import VALID_FORM, VIET_TRI, VINH_YEN, Api, officer_api, unique_phone


class Device:
    """A phone as docs/sync.md describes it: numbered mutations, a cursor, a replica of what it pulled."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.device_id = f"dev-{uuid.uuid4().hex[:12]}"
        self.seq = 0
        self.cursor: str | None = None
        self.replica: dict[tuple[str, str], dict] = {}

    def mutation(self, op: str, entity_id: str, entity: str = "dossier", **extra) -> dict:
        self.seq += 1
        return {"mutation_id": str(uuid.uuid4()), "seq": self.seq, "entity": entity, "entity_id": entity_id,
                "op": op, **extra}

    def sync(self, mutations: list[dict] | None = None, **options) -> httpx.Response:
        response = self.api.post("/api/sync", {"device_id": self.device_id, "cursor": self.cursor,
                                               "mutations": mutations or [], **options})
        if response.status_code == 200:
            body = response.json()
            self.cursor = body["cursor"]
            for change in body["changes"]:
                self.replica[(change["entity"], change["id"])] = change
        return response

    def catch_up(self) -> None:
        """Pull page after page until the server has nothing more: the suite's server is shared, so a unit may
        hold more dossiers than one page."""
        for _ in range(100):
            response = self.sync()
            assert response.status_code == 200, response.text
            if not response.json().get("more"):
                return
        raise AssertionError("the pull never caught up")

    def record(self, entity_id: str, entity: str = "dossier") -> dict:
        return self.replica[(entity, entity_id)]


def new_citizen(server) -> Api:
    api = Api(server.url)
    assert api.post("/api/accounts", {"phone": unique_phone(), "password": "mat-khau-dai",
                                      "full_name": "Người dùng thử"}).status_code == 201
    return api


def create_changes(**form) -> dict:
    return {"procedure_code": {"value": "TEST.0001"}, "unit_code": {"value": VINH_YEN},
            **{f"form.{name}": {"value": value} for name, value in form.items()}}


def edit(device: Device, dossier_id: str, **fields) -> dict:
    record = device.record(dossier_id)
    return device.mutation("update", dossier_id, base_version=record["version"],
                           changes={f"form.{name}": {"base": record["data"].get(f"form.{name}"), "value": value}
                                    for name, value in fields.items()})


def test_a_draft_is_created_offline_and_follows_the_citizen_to_a_second_phone(server):
    citizen = new_citizen(server)
    phone, tablet = Device(citizen), Device(citizen)
    dossier_id = str(uuid.uuid4())
    created = phone.sync([phone.mutation("create", dossier_id, changes=create_changes(full_name="Nguyễn Thị Mai"))])
    assert created.json()["results"][0]["status"] == "applied"
    assert phone.record(dossier_id)["data"]["form.full_name"] == "Nguyễn Thị Mai"
    assert phone.record(dossier_id)["data"]["status"] == 0
    tablet.sync()
    assert tablet.record(dossier_id)["data"]["form.full_name"] == "Nguyễn Thị Mai"
    # A draft is the citizen's alone: the unit's officers do not receive it.
    officer = Device(officer_api(server, "intake"))
    officer.sync()
    assert ("dossier", dossier_id) not in officer.replica


def test_edits_of_different_fields_merge_and_the_same_field_makes_a_conflict_both_see(server):
    citizen = new_citizen(server)
    phone, tablet = Device(citizen), Device(citizen)
    dossier_id = str(uuid.uuid4())
    phone.sync([phone.mutation("create", dossier_id, changes=create_changes(full_name="Nguyễn Thị Mai", phone="0912345678"))])
    tablet.sync()
    # Both edit offline from version 1.
    from_phone = [edit(phone, dossier_id, full_name="Nguyễn Thị Mai Anh"), ]
    from_tablet = [edit(tablet, dossier_id, phone="0987654321")]
    same_field = edit(tablet, dossier_id, full_name="Nguyễn Mai")
    assert phone.sync(from_phone).json()["results"][0]["status"] == "applied"
    results = tablet.sync(from_tablet + [same_field]).json()["results"]
    assert results[0]["status"] == "merged" and results[0]["edit"] == "parallel"
    assert results[1]["status"] == "conflict"
    conflict_id = results[1]["conflicts"][0]
    data = tablet.record(dossier_id)["data"]
    assert data["form.phone"] == "0987654321" and data["form.full_name"] == "Nguyễn Thị Mai Anh"
    conflict = tablet.record(conflict_id, "conflict")["data"]
    assert (conflict["server_value"], conflict["device_value"]) == ("Nguyễn Thị Mai Anh", "Nguyễn Mai")
    phone.sync()
    assert phone.record(conflict_id, "conflict")["data"]["status"] == "open"
    # The phone resolves it by choosing the tablet's value; both see it resolved.
    resolve = phone.mutation("resolve", conflict_id, entity="conflict", changes={"value": {"value": "Nguyễn Mai"}})
    assert phone.sync([resolve]).json()["results"][0]["status"] == "applied"
    tablet.sync()
    assert tablet.record(conflict_id, "conflict")["data"]["status"] == "resolved"
    assert tablet.record(dossier_id)["data"]["form.full_name"] == "Nguyễn Mai"


def test_a_repeated_request_changes_nothing_and_returns_the_stored_results(server):
    device = Device(new_citizen(server))
    dossier_id = str(uuid.uuid4())
    body = [device.mutation("create", dossier_id, changes=create_changes(full_name="Lê Văn Tám"))]
    first = device.sync(body).json()["results"]
    device.cursor = None
    again = device.sync(body).json()
    assert again["results"] == first
    assert device.record(dossier_id)["version"] == 1


def test_a_mutation_id_reused_with_other_content_is_refused_with_409(server):
    device = Device(new_citizen(server))
    dossier_id = str(uuid.uuid4())
    mutation = device.mutation("create", dossier_id, changes=create_changes(full_name="Lê Văn Tám"))
    device.sync([mutation])
    forged = {**mutation, "changes": create_changes(full_name="Người khác")}
    response = device.sync([forged])
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "mutation_id_reused"


def test_a_gap_holds_later_mutations_until_the_missing_one_arrives(server):
    device = Device(new_citizen(server))
    dossier_id = str(uuid.uuid4())
    create = device.mutation("create", dossier_id, changes=create_changes(full_name="Trần Văn Ba"))
    device.replica[("dossier", dossier_id)] = {"version": 1, "data": {"form.full_name": "Trần Văn Ba"}}
    second = edit(device, dossier_id, full_name="Trần Văn Bốn")
    held = device.sync([second]).json()["results"][0]
    assert held["status"] == "held"
    results = device.sync([create, second]).json()["results"]
    assert [r["status"] for r in results[:2]] == ["applied", "applied"]
    assert device.record(dossier_id)["data"]["form.full_name"] == "Trần Văn Bốn"


def test_submitting_validates_the_whole_form_and_then_the_citizen_cannot_edit(server):
    device = Device(new_citizen(server))
    dossier_id = str(uuid.uuid4())
    device.sync([device.mutation("create", dossier_id, changes=create_changes(full_name="Phạm Thị Hà"))])
    refused = device.sync([device.mutation("command", dossier_id, command="submit", args={})]).json()["results"][0]
    assert refused["status"] == "rejected" and refused["code"] == "invalid_form"
    assert "Vui lòng" in refused["reason"]["vi"]
    device.sync([edit(device, dossier_id, **{k: v for k, v in VALID_FORM.items() if k != "full_name"})])
    submitted = device.sync([device.mutation("command", dossier_id, command="submit", args={})]).json()["results"][0]
    assert submitted["status"] == "applied"
    assert device.record(dossier_id)["data"]["status"] == 1
    late = device.sync([edit(device, dossier_id, full_name="Sửa sau khi nộp")]).json()["results"][0]
    assert late["status"] == "rejected" and late["code"] == "not_editable"
    assert "bổ sung" in late["reason"]["vi"]
    # The unit's officer now receives it; an officer of another unit does not.
    here, elsewhere = Device(officer_api(server, "intake")), Device(officer_api(server, "intake_elsewhere"))
    here.catch_up(), elsewhere.catch_up()
    assert here.record(dossier_id)["data"]["form.full_name"] == "Phạm Thị Hà"
    assert ("dossier", dossier_id) not in elsewhere.replica
    # And only an officer may receive it.
    by_citizen = device.sync([device.mutation("command", dossier_id, command="receive", args={})]).json()["results"][0]
    assert by_citizen["code"] == "forbidden"
    received = here.sync([here.mutation("command", dossier_id, command="receive", args={})]).json()["results"][0]
    assert received["status"] == "applied" and here.record(dossier_id)["data"]["status"] == 2
    assert elsewhere.sync([elsewhere.mutation("command", dossier_id, command="start", args={})]
                          ).json()["results"][0]["code"] == "not_found"


def test_malformed_mutations_are_rejected_alone(server):
    device = Device(new_citizen(server))
    good = device.mutation("create", str(uuid.uuid4()), changes=create_changes(full_name="Hợp lệ"))
    bad = device.mutation("explode", "x")
    unknown = device.mutation("create", str(uuid.uuid4()), changes={"procedure_code": {"value": "9.999999"}})
    results = device.sync([good, bad, unknown]).json()["results"]
    assert [r["status"] for r in results] == ["applied", "rejected", "rejected"]
    assert results[1]["code"] == "malformed" and results[2]["code"] == "unknown_procedure"


def test_too_many_mutations_are_refused_with_413_saying_to_split(server):
    device = Device(new_citizen(server))
    mutations = [device.mutation("create", str(uuid.uuid4()), changes=create_changes(full_name="x")) for _ in range(501)]
    response = device.sync(mutations)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_many_mutations"
    assert "500" in response.json()["error"]["message"]


def test_responses_are_compressed_and_compressed_pushes_are_accepted(server):
    citizen = new_citizen(server)
    device = Device(citizen)
    for _ in range(3):
        device.sync([device.mutation("create", str(uuid.uuid4()), changes=create_changes(full_name="Nén dữ liệu"))])
    body = json.dumps({"device_id": device.device_id, "cursor": None, "mutations": []}).encode()
    headers = {"X-CSRF-Token": citizen.csrf, "content-type": "application/json"}
    for encoding in ("br", "gzip"):
        with httpx.stream("POST", f"{server.url}/api/sync", content=body, cookies=citizen.http.cookies,
                          headers={**headers, "accept-encoding": encoding}) as raw:
            wire = b"".join(raw.iter_raw())
        assert raw.headers["content-encoding"] == encoding
        plain = (brotli.decompress if encoding == "br" else gzip.decompress)(wire)
        assert len(json.loads(plain)["changes"]) == 3
        assert len(wire) < len(plain) / 2
    pushed = citizen.http.post("/api/sync", content=gzip.compress(body), headers={**headers, "content-encoding": "gzip"})
    assert pushed.status_code == 200 and len(pushed.json()["changes"]) == 3
    corrupt = citizen.http.post("/api/sync", content=b"not gzip", headers={**headers, "content-encoding": "gzip"})
    assert corrupt.status_code == 400


def test_sync_needs_a_signed_in_user_and_the_csrf_token(server, api):
    body = {"device_id": "dev-anon", "cursor": None, "mutations": []}
    assert api.post("/api/sync", body).status_code == 401
    citizen = new_citizen(server)
    assert citizen.http.post("/api/sync", json=body).status_code == 403


def test_a_device_id_belongs_to_one_account(server):
    first, second = Device(new_citizen(server)), Device(new_citizen(server))
    first.sync()
    second.device_id = first.device_id
    assert second.sync().status_code == 403


def test_concurrent_pushes_to_one_dossier_are_serialised_without_losing_an_edit(server):
    """Eight phones of one citizen edit different fields of the same dossier at the same moment."""
    citizen = new_citizen(server)
    owner = Device(citizen)
    dossier_id = str(uuid.uuid4())
    owner.sync([owner.mutation("create", dossier_id, changes=create_changes(full_name="Đồng thời"))])
    fields = ["phone", "email", "birth_date", "sex", "cccd", "full_name", "members", "address"]
    values = {"phone": "0912000111", "email": "a@b.vn", "birth_date": "2001-05-04", "sex": "female",
              "cccd": "026301123456", "full_name": "Đồng thời 2", "members": [{"full_name": "Con"}],
              "address": {"commune_code": VIET_TRI, "detail": "Số 2"}}
    phones = []
    for name in fields:
        phone = Device(Api(server.url))
        phone.api.http.cookies = citizen.http.cookies
        phone.api.csrf = citizen.csrf
        phone.sync()
        phones.append((phone, edit(phone, dossier_id, **{name: values[name]})))
    with ThreadPoolExecutor(max_workers=len(phones)) as pool:
        outcomes = list(pool.map(lambda pair: pair[0].sync([pair[1]]), phones))
    assert all(o.status_code == 200 for o in outcomes)
    statuses = [o.json()["results"][0]["status"] for o in outcomes]
    assert set(statuses) <= {"applied", "merged"} and statuses.count("applied") <= 1
    owner.sync()
    final = owner.record(dossier_id)
    assert final["version"] == 1 + len(fields)
    assert all(final["data"][f"form.{name}"] == values[name] for name in fields)


def test_the_status_timeline_records_every_step_for_those_who_may_see_it(server):
    citizen = new_citizen(server)
    device = Device(citizen)
    dossier_id = str(uuid.uuid4())
    device.sync([device.mutation("create", dossier_id, changes=create_changes(**VALID_FORM))])
    device.sync([device.mutation("command", dossier_id, command="submit", args={})])
    officer = Device(officer_api(server, "intake"))
    officer.sync()
    officer.sync([officer.mutation("command", dossier_id, command="request_supplement",
                                   args={"reason": "Thiếu bản sao giấy khai sinh"})])
    timeline = citizen.get(f"/api/dossiers/{dossier_id}/events").json()["items"]
    assert [(e["action"], e["from_status"], e["to_status"]) for e in timeline] == [
        ("create", None, 0), ("submit", 0, 1), ("request_supplement", 1, 5)]
    assert timeline[2]["note"] == "Thiếu bản sao giấy khai sinh" and timeline[2]["status_name"] == "Yêu cầu bổ sung"
    assert timeline[1]["to_unit"] == "Phường Vĩnh Yên"
    assert new_citizen(server).get(f"/api/dossiers/{dossier_id}/events").status_code == 404


def test_a_draft_edited_through_sync_may_be_incomplete_but_never_invalid(server):
    """docs/workflow.md: each changed field's value is validated as the form defines it."""
    phone = Device(new_citizen(server))
    dossier_id = str(uuid.uuid4())
    assert phone.sync([phone.mutation("create", dossier_id, changes=create_changes(full_name="Nguyễn Thị Mai"))]) \
        .json()["results"][0]["status"] == "applied"
    phone.sync()
    refused = phone.sync([edit(phone, dossier_id, phone="0123456789")]).json()["results"][0]
    assert refused["status"] == "rejected" and refused["code"] == "invalid_form", refused
    too_long = phone.sync([edit(phone, dossier_id, full_name="A" * 500)]).json()["results"][0]
    assert too_long["status"] == "rejected" and too_long["code"] == "invalid_form", too_long
    emptied = phone.sync([edit(phone, dossier_id, full_name=None)]).json()["results"][0]
    assert emptied["status"] == "applied", "a draft may be incomplete"
    phone.sync()
    assert phone.record(dossier_id)["data"].get("form.full_name") is None
