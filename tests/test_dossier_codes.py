"""Dossier codes over HTTP (server/workflow/dossier_codes.py, docs/workflow.md "Dossier codes"), SQLite or PostgreSQL.

An intake officer's phone reserves blocks of numbers while online, receives dossiers offline with final codes
from them, and syncs later; a phone without numbers issues provisional codes that the server replaces. No two
dossiers ever share a code, however many phones and however many parallel requests.
"""

from __future__ import annotations

import re
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta

import httpx
import pytest

from tests.conftest import VALID_FORM, VINH_YEN, Api, officer_api
from tests.test_sync_http import Device, create_changes
from server.workflow.working_time import VIETNAM, WorkingCalendar

CODE = re.compile(r"^(?P<agency>[^-]+)-(?P<day>\d{6})-(?P<number>\d{4,})$")


@pytest.fixture(scope="module")
def intake(server) -> Api:
    """One sign-in for the module: sign-ins per account are rate limited (server/web/rate_limits.py)."""
    return officer_api(server, "intake")


def same_session(api: Api) -> Api:
    """Another client (its own connections) on the same signed-in session, as a second tab would be."""
    clone = Api.__new__(Api)
    clone.http = httpx.Client(base_url=api.http.base_url, cookies=api.http.cookies, timeout=30)
    clone.csrf = api.csrf
    return clone


def reserve(api: Api, device_id: str):
    return api.post("/api/code-blocks", {"device_id": device_id})


def now_vn() -> datetime:
    return datetime.now(VIETNAM).replace(microsecond=0)


def intake_create(device: Device, dossier_id: str, *, code: str | None, received_at: str | None = None) -> dict:
    changes = create_changes(**VALID_FORM)
    changes["channel"] = {"value": "field"}
    if code is not None:
        changes["code"] = {"value": code}
    changes["received_at"] = {"value": received_at or now_vn().isoformat()}
    response = device.sync([device.mutation("create", dossier_id, changes=changes)])
    assert response.status_code == 200, response.text
    return response.json()["results"][0]


def code_of(block: dict, number: int) -> str:
    day = date.fromisoformat(block["day"])
    return f"{block['agency_code']}-{day:%y%m%d}-{number:04d}"


def todays_block(blocks: list[dict]) -> dict:
    today = now_vn().date().isoformat()
    return next(block for block in blocks if block["day"] == today)


def test_an_intake_phone_reserves_blocks_for_today_and_the_next_working_days(intake):
    officer = intake
    device_id = f"field-{uuid.uuid4().hex[:12]}"
    response = reserve(officer, device_id)
    assert response.status_code == 200, response.text
    blocks = response.json()["blocks"]
    calendar = WorkingCalendar.from_json(officer.get("/api/calendar").json())
    today = now_vn().date()
    expected_days = [today]
    while len(expected_days) < 4:
        expected_days.append(calendar.next_working_day(expected_days[-1]))
    assert [block["day"] for block in blocks] == [day.isoformat() for day in expected_days]
    for block in blocks:
        assert block["last"] - block["first"] == 19 and block["used"] == []
        # The seeded unit has no official identifier code: a derived one, clearly not official.
        assert block["agency_code"] == f"MC.{VINH_YEN}"
    # Nothing used: asking again returns the same blocks, no new numbers are taken.
    assert reserve(officer, device_id).json()["blocks"] == blocks


def test_only_an_intake_officer_reserves_and_only_for_their_own_device(server, intake, citizen, api):
    device_id = f"field-{uuid.uuid4().hex[:12]}"
    assert reserve(api, device_id).status_code == 401
    assert reserve(citizen, device_id).status_code == 403
    assert reserve(officer_api(server, "leader"), device_id).status_code == 403
    owner = intake
    assert reserve(owner, device_id).status_code == 200
    stranger = reserve(officer_api(server, "intake_elsewhere"), device_id)
    assert stranger.status_code == 403 and stranger.json()["error"]["code"] == "device_owner_mismatch"
    bad = reserve(owner, "no spaces allowed")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_device_id"
    assert owner.post("/api/code-blocks", {}).status_code == 400


def test_a_dossier_received_offline_keeps_its_block_code_and_gets_its_appointment(intake):
    officer = intake
    phone = Device(officer)
    block = todays_block(reserve(officer, phone.device_id).json()["blocks"])
    received_at = max(now_vn() - timedelta(minutes=30), now_vn().replace(hour=0, minute=0, second=0))  # today
    code = code_of(block, block["first"])
    dossier_id = str(uuid.uuid4())
    result = intake_create(phone, dossier_id, code=code, received_at=received_at.isoformat())
    assert result["status"] == "applied", result
    record = phone.record(dossier_id)["data"]
    assert record["status"] == 2 and record["code"] == code and "code_provisional" not in record
    calendar = WorkingCalendar.from_json(officer.get("/api/calendar").json())
    assert datetime.fromisoformat(record["due_at"]) == calendar.due_at(received_at, 3)  # TEST.0001: 3 days
    assert datetime.fromisoformat(record["received_at"]) == received_at
    # The next reservation reports the number as used.
    again = todays_block(reserve(officer, phone.device_id).json()["blocks"])
    assert again["used"] == [block["first"]]


def test_a_code_is_never_used_twice_nor_taken_from_another_phones_block(intake):
    officer = intake
    first, second = Device(officer), Device(officer)
    block_a = todays_block(reserve(officer, first.device_id).json()["blocks"])
    block_b = todays_block(reserve(officer, second.device_id).json()["blocks"])
    # Two phones of one officer hold disjoint numbers.
    assert block_a["last"] < block_b["first"] or block_b["last"] < block_a["first"]
    code = code_of(block_a, block_a["first"] + 1)
    assert intake_create(first, str(uuid.uuid4()), code=code)["status"] == "applied"
    reused = intake_create(first, str(uuid.uuid4()), code=code)
    assert reused["status"] == "rejected" and reused["code"] == "code_used"
    assert "đã được dùng" in reused["reason"]["vi"]
    stolen = intake_create(second, str(uuid.uuid4()), code=code_of(block_a, block_a["first"] + 2))
    assert stolen["status"] == "rejected" and stolen["code"] == "code_not_reserved"
    # A code of the wrong day or office is refused, saying which form it must have.
    tomorrow_block = reserve(officer, first.device_id).json()["blocks"][1]
    wrong_day = intake_create(first, str(uuid.uuid4()), code=code_of(tomorrow_block, tomorrow_block["first"]))
    assert wrong_day["status"] == "rejected" and wrong_day["code"] == "invalid_code"
    wrong_office = intake_create(first, str(uuid.uuid4()), code="000.00.01.H57-" + code.split("-", 1)[1])
    assert wrong_office["status"] == "rejected" and wrong_office["code"] == "invalid_code"


def test_a_provisional_code_is_replaced_by_a_final_one_on_sync(intake):
    phone = Device(intake)  # never reserved a block
    dossier_id = str(uuid.uuid4())
    result = intake_create(phone, dossier_id, code=f"TAM-{phone.device_id[-8:]}-1")
    assert result["status"] == "applied", result
    record = phone.record(dossier_id)["data"]
    match = CODE.match(record["code"])
    assert match and match["agency"] == f"MC.{VINH_YEN}" and match["day"] == f"{now_vn():%y%m%d}"
    assert record["code_provisional"] is True  # the citizen's receipt carried a provisional code
    # A dossier taken at the desk with no code stated gets a final one too.
    desk = str(uuid.uuid4())
    assert intake_create(phone, desk, code=None)["status"] == "applied"
    assert CODE.match(phone.record(desk)["data"]["code"])
    assert phone.record(desk)["data"]["code"] != record["code"]


def test_a_receipt_time_in_the_future_or_long_ago_is_refused_and_citizens_state_none(intake, citizen):
    phone = Device(intake)
    future = intake_create(phone, str(uuid.uuid4()), code=None,
                           received_at=(now_vn() + timedelta(hours=2)).isoformat())
    assert future["status"] == "rejected" and future["code"] == "received_in_future"
    old = intake_create(phone, str(uuid.uuid4()), code=None, received_at=(now_vn() - timedelta(days=9)).isoformat())
    assert old["status"] == "rejected" and old["code"] == "received_too_long_ago"
    naive = intake_create(phone, str(uuid.uuid4()), code=None, received_at="2026-11-25T09:00:00")
    assert naive["status"] == "rejected" and naive["code"] == "invalid_received_at"
    own = Device(citizen)
    changes = {**create_changes(full_name="Nguyễn Văn An"), "code": {"value": "TAM-1"}}
    refused = own.sync([own.mutation("create", str(uuid.uuid4()), changes=changes)]).json()["results"][0]
    assert refused["status"] == "rejected" and refused["code"] == "field_readonly"


def test_many_parallel_reservations_and_receipts_never_share_a_number(intake):
    """On PostgreSQL the requests really run at once (SQLite serialises them): no number is handed out twice."""
    device_ids = [f"par-{uuid.uuid4().hex[:12]}" for _ in range(12)]
    clients = [same_session(intake) for _ in device_ids]
    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(pool.map(reserve, clients, device_ids))
    assert all(answer.status_code == 200 for answer in answers), [a.text for a in answers if a.status_code != 200]
    taken: dict[tuple[str, str], list[tuple[int, int]]] = {}
    for answer in answers:
        for block in answer.json()["blocks"]:
            taken.setdefault((block["agency_code"], block["day"]), []).append((block["first"], block["last"]))
    for ranges in taken.values():
        ranges.sort()
        assert all(earlier[1] < later[0] for earlier, later in zip(ranges, ranges[1:])), ranges
    # Phones with provisional codes syncing at once, while desk receipts take numbers too.
    phones = [Device(same_session(intake)) for _ in range(8)]
    ids = [str(uuid.uuid4()) for _ in phones]
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda pair: intake_create(pair[0], pair[1], code=f"TAM-{pair[1][:8]}"),
                                zip(phones, ids)))
    assert all(result["status"] == "applied" for result in results), results
    codes = [phone.record(dossier_id)["data"]["code"] for phone, dossier_id in zip(phones, ids)]
    assert len(set(codes)) == len(codes)
    reserved = {(agency, int(day.replace("-", "")[2:]), n) for (agency, day), ranges in taken.items()
                for first, last in ranges for n in range(first, last + 1)}
    for code in codes:
        match = CODE.match(code)
        assert (match["agency"], int(match["day"]), int(match["number"])) not in reserved


def test_the_calendar_is_public_and_cacheable(api):
    response = api.get("/api/calendar")
    assert response.status_code == 200
    body = response.json()
    assert body["working_hours"] == [["07:00", "11:30"], ["13:30", "17:00"]]
    assert body["timezone"] == "+07:00" and body["cutoff"] == "17:00"
    assert {"day": "2026-02-16", "kind": "holiday", "name": "Tết Nguyên đán Bính Ngọ"} in body["days"]
    assert {"day": "2026-01-10", "kind": "makeup", "name": "Làm bù cho thứ Sáu 2/1/2026"} in body["days"]
    assert "public" in response.headers["cache-control"]
    again = api.get("/api/calendar", headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304

