"""Appointments through the workflow over HTTP (server/workflow/deadlines.py, docs/workflow.md "Deadlines").

Receiving gives the dossier its code and appointment; a supplement stops the clock and resuming moves the
appointment by the working time waited; an apology sets a new appointment once. The server's clock is real, so
where a step's time matters the expected value is bracketed by the times before and after the request.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.conftest import VALID_FORM, VINH_YEN, Api, officer_api
from tests.test_sync_http import Device, create_changes
from server.workflow.working_time import WorkingCalendar

CODE = re.compile(rf"^MC\.{VINH_YEN}-\d{{6}}-\d{{4,}}$")


@pytest.fixture(scope="module")
def desk_api(server) -> Api:
    """One sign-in per officer for the module: sign-ins per account are rate limited."""
    return officer_api(server, "intake")


@pytest.fixture(scope="module")
def leader_api(server) -> Api:
    return officer_api(server, "leader")


def now() -> datetime:
    return datetime.now(timezone.utc)


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text)


def command(device: Device, dossier_id: str, name: str, **args) -> dict:
    response = device.sync([device.mutation("command", dossier_id, command=name, args=args)])
    assert response.status_code == 200, response.text
    return response.json()["results"][0]


def submitted_dossier(citizen) -> str:
    phone = Device(citizen)
    dossier_id = str(uuid.uuid4())
    phone.sync([phone.mutation("create", dossier_id, changes=create_changes(**VALID_FORM))])
    assert command(phone, dossier_id, "submit")["status"] == "applied"
    return dossier_id


def received_dossier(desk_api: Api, citizen) -> tuple[str, Device, WorkingCalendar]:
    dossier_id = submitted_dossier(citizen)
    desk = Device(desk_api)
    assert command(desk, dossier_id, "receive")["status"] == "applied"
    return dossier_id, desk, WorkingCalendar.from_json(desk.api.get("/api/calendar").json())


def test_receiving_gives_the_code_and_the_appointment_in_working_days(desk_api, citizen):
    dossier_id = submitted_dossier(citizen)
    desk = Device(desk_api)
    before = now().replace(microsecond=0)
    assert command(desk, dossier_id, "receive")["status"] == "applied"
    after = now()
    record = desk.record(dossier_id)["data"]
    assert CODE.match(record["code"]), record["code"]
    received_at = moment(record["received_at"])
    assert before <= received_at <= after
    calendar = WorkingCalendar.from_json(desk.api.get("/api/calendar").json())
    assert moment(record["due_at"]) == calendar.due_at(received_at, 3)  # TEST.0001 takes 3 working days
    assert calendar.working_seconds_between(calendar.counting_start(received_at), moment(record["due_at"])) == \
        3 * 8 * 3600


def test_a_supplement_stops_the_clock_and_resuming_moves_the_appointment(desk_api, leader_api, citizen):
    dossier_id, desk, calendar = received_dossier(desk_api, citizen)
    due = moment(desk.record(dossier_id)["data"]["due_at"])
    leader = Device(leader_api)
    assert command(leader, dossier_id, "start")["status"] == "applied"
    assert command(leader, dossier_id, "request_supplement", reason="Thiếu bản sao giấy khai sinh")["status"] == \
        "applied"
    paused = leader.record(dossier_id)["data"]
    assert paused["status"] == 5 and moment(paused["due_at"]) == due  # unchanged while waiting
    paused_at = moment(paused["clock_paused_at"])
    before = now()
    assert command(leader, dossier_id, "accept_supplement")["status"] == "applied"
    after = now()
    resumed = leader.record(dossier_id)["data"]
    assert "clock_paused_at" not in resumed
    new_due = moment(resumed["due_at"])
    earliest, latest = calendar.resume(due, paused_at, before), calendar.resume(due, paused_at, after)
    assert earliest - timedelta(seconds=1) <= new_due <= latest + timedelta(seconds=1)


def test_a_payment_request_stops_the_clock_too(desk_api, leader_api, citizen):
    dossier_id, desk, _ = received_dossier(desk_api, citizen)
    leader = Device(leader_api)
    command(leader, dossier_id, "start")
    assert command(leader, dossier_id, "request_payment", reason="Nộp lệ phí 20.000 đồng")["status"] == "applied"
    assert "clock_paused_at" in leader.record(dossier_id)["data"]
    assert command(leader, dossier_id, "payment_done")["status"] == "applied"
    assert "clock_paused_at" not in leader.record(dossier_id)["data"]


def test_an_apology_sets_a_later_appointment_once(desk_api, leader_api, citizen):
    dossier_id, desk, calendar = received_dossier(desk_api, citizen)
    due = moment(desk.record(dossier_id)["data"]["due_at"])
    leader = Device(leader_api)
    later = calendar.add_working_seconds(due, 2 * 8 * 3600).isoformat()
    by_intake = command(desk, dossier_id, "apologise", new_due_at=later, reason="Cần xác minh thêm")
    assert by_intake["status"] == "rejected" and by_intake["code"] == "forbidden"
    no_reason = command(leader, dossier_id, "apologise", new_due_at=later)
    assert no_reason["status"] == "rejected" and no_reason["code"] == "reason_required"
    earlier = command(leader, dossier_id, "apologise", new_due_at=(due - timedelta(hours=1)).isoformat(),
                      reason="Cần xác minh thêm")
    assert earlier["status"] == "rejected" and earlier["code"] == "new_due_not_later"
    assert "sau ngày hẹn hiện tại" in earlier["reason"]["vi"]
    applied = command(leader, dossier_id, "apologise", new_due_at=later, reason="Cần xác minh thêm với xã khác")
    assert applied["status"] == "applied", applied
    record = leader.record(dossier_id)["data"]
    assert moment(record["due_at"]) == moment(later) and record["status"] == 2 and "apology_sent_at" in record
    again = command(leader, dossier_id, "apologise",
                    new_due_at=calendar.add_working_seconds(due, 4 * 8 * 3600).isoformat(), reason="Lần hai")
    assert again["status"] == "rejected" and again["code"] == "apology_already_sent"
    timeline = leader.api.get(f"/api/dossiers/{dossier_id}/events").json()
    assert any(event.get("action") == "apologise" for event in timeline.get("events", timeline.get("items", [])))


def test_an_apology_with_extension_keeps_the_original_appointment(desk_api, leader_api, citizen, server):
    """Form 04 of Circular 03/2025 (văn bản xin lỗi và đề nghị gia hạn): the new date is the extended appointment,
    the original one (hạn gốc) stays on record and the dossier is judged against it (docs/domain.md "Timeliness");
    the tracking page shows both."""
    dossier_id, desk, calendar = received_dossier(desk_api, citizen)
    original = desk.record(dossier_id)["data"]["due_at"]
    leader = Device(leader_api)
    later = calendar.add_working_seconds(moment(original), 3 * 8 * 3600).isoformat()
    assert command(leader, dossier_id, "apologise", new_due_at=later, reason="Cần xác minh thêm")["status"] == "applied"
    record = leader.record(dossier_id)["data"]
    assert moment(record["due_at"]) == moment(later) and moment(record["original_due_at"]) == moment(original)
    details = leader.api.get(f"/api/dossiers/{dossier_id}").json()
    assert moment(details["original_due_at"]) == moment(original) and moment(details["due_at"]) == moment(later)
    # A supplement after the apology moves both dates by the time waited (the clock stops for both).
    command(leader, dossier_id, "start")
    assert command(leader, dossier_id, "request_supplement", reason="Bổ sung bản sao")["status"] == "applied"
    assert command(leader, dossier_id, "accept_supplement")["status"] == "applied"
    record = leader.record(dossier_id)["data"]
    assert moment(record["original_due_at"]) >= moment(original) and moment(record["due_at"]) >= moment(later)
    assert moment(record["original_due_at"]) < moment(record["due_at"])


def test_finish_records_when_processing_ended_and_return_does_not_change_it(desk_api, leader_api, citizen):
    """Timeliness is decided by the date processing ended (result ready), not by the citizen's collection:
    Decree 61/2018, docs/domain.md "Timeliness"."""
    dossier_id, desk, _ = received_dossier(desk_api, citizen)
    leader = Device(leader_api)
    command(leader, dossier_id, "start")
    before = now().replace(microsecond=0)
    assert command(leader, dossier_id, "finish")["status"] == "applied"
    finished = leader.record(dossier_id)["data"]["finished_at"]
    assert before <= moment(finished) <= now()
    assert command(desk, dossier_id, "return", received_by="Nguyễn Thị Mai")["status"] == "applied"
    record = desk.record(dossier_id)["data"]
    assert record["finished_at"] == finished and "returned_at" in record


def test_dossiers_due_within_a_working_day_are_listed_for_the_unit(server, desk_api, leader_api, citizen):
    dossier_id, desk, calendar = received_dossier(desk_api, citizen)
    due = moment(desk.record(dossier_id)["data"]["due_at"])
    soon = due - timedelta(minutes=30)
    long_before = calendar.counting_start(moment(desk.record(dossier_id)["data"]["received_at"]))
    assert dossier_id in due_soon_ids(server, soon)
    assert dossier_id in due_soon_ids(server, due + timedelta(days=1))  # already late and no apology yet
    assert dossier_id not in due_soon_ids(server, long_before)  # three working days ahead
    leader = Device(leader_api)
    later = calendar.add_working_seconds(due, 8 * 3600).isoformat()
    assert command(leader, dossier_id, "apologise", new_due_at=later, reason="Chậm xác minh")["status"] == "applied"
    assert dossier_id not in due_soon_ids(server, soon)  # apologised: no longer waiting for one


def due_soon_ids(server, at: datetime) -> list[str]:
    """server.workflow.deadlines.dossiers_due_soon against the running server's database, at a chosen instant."""
    from server import db
    from server.config import load_settings
    from server.workflow.deadlines import dossiers_due_soon
    from server.models import AdministrativeUnit

    async def go() -> list[str]:
        await db.connect(load_settings({**server.env, "MOTCUA_DATA_DIR": str(Path(server.data_dir))}, create=False))
        try:
            unit = await AdministrativeUnit.get(code=VINH_YEN, valid_to__isnull=True)
            return [dossier.id for dossier in await dossiers_due_soon(unit.id, at)]
        finally:
            await db.disconnect()

    return asyncio.run(go())


def test_holidays_are_imported_from_a_file_and_corrected_by_date(tmp_path, fresh_database):
    from tests.conftest import motcua_env, run_motcua

    env = motcua_env(tmp_path / "data", fresh_database())
    run_motcua(["migrate"], env)
    shipped = run_motcua(["holidays", "import"], env)
    assert re.search(r"\b(\d+) new, 0 changed", shipped.stdout)
    announced = tmp_path / "2028.json"
    announced.write_text('{"days": [{"day": "2028-01-26", "kind": "holiday", "name": "Tết Mậu Thân"},'
                         ' {"day": "2028-02-05", "kind": "makeup", "name": "Làm bù"}]}', encoding="utf-8")
    assert "2 new, 0 changed, 0 unchanged" in run_motcua(["holidays", "import", str(announced)], env).stdout
    announced.write_text('{"days": [{"day": "2028-01-26", "kind": "holiday", "name": "Tết Nguyên đán Mậu Thân"}]}',
                         encoding="utf-8")
    assert "0 new, 1 changed, 0 unchanged" in run_motcua(["holidays", "import", str(announced)], env).stdout
    announced.write_text('{"days": [{"day": "2028-01-27", "kind": "nghỉ"}]}', encoding="utf-8")
    refused = run_motcua(["holidays", "import", str(announced)], env, check=False)
    assert refused.returncode == 1 and 'kind must be "holiday" or "makeup"' in refused.stderr


def test_malformed_working_hours_stop_the_server_with_one_line(tmp_path):
    from tests.conftest import motcua_env, run_motcua

    env = motcua_env(tmp_path / "data", None, MOTCUA_WORKING_HOURS="7h-11h30")
    refused = run_motcua(["serve", "--port", "1"], env, check=False)
    assert refused.returncode == 2 and "MOTCUA_WORKING_HOURS" in refused.stderr
    env = motcua_env(tmp_path / "data", None, MOTCUA_DEADLINE_CUTOFF="ba giờ chiều")
    refused = run_motcua(["serve", "--port", "1"], env, check=False)
    assert refused.returncode == 2 and "MOTCUA_DEADLINE_CUTOFF" in refused.stderr
