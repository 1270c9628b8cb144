"""The officers' queue, further steps (docs/pwa.md "Officers", docs/workflow.md): the supplement's two sub-states,
the apology with a new appointment, a step the server refused kept with what the officer typed (copy, discard),
returning the result by post and forwarding to another office.

Real Chromium at a phone's size (tests/test_pwa.py fixtures) against a real server on loopback; no fixed sleeps.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

from playwright.sync_api import expect

from tests.conftest import OFFICER_PASSWORD, OFFICERS, VALID_FORM, VIET_TRI
from tests.test_assignment import command
from tests.test_postal import postal_dossier
from tests.test_pwa import browser, context, open_app, phone, sign_in  # noqa: F401
from tests.test_pwa_queue import card, go_to_queue, leader_command, officer, redraw_queue, submitted_online, wait_status
from tests.test_sync_http import Device, create_changes, new_citizen

VIETNAM = timezone(timedelta(hours=7))


def open_queue_as(page, server, role: str) -> None:
    open_app(page, server)
    sign_in(page, OFFICERS[role].phone, OFFICER_PASSWORD)
    go_to_queue(page)


def pull_now(page) -> None:
    """Sync now rather than at the next timer (another device changed the dossier on the server)."""
    page.get_by_role("button", name="Gửi ngay").click()


def user_id(server, role: str) -> int:
    return officer(server, role).get("/api/session").json()["user"]["id"]


def on_server(server, dossier_id: str, role: str = "leader") -> dict:
    """The server's record of a dossier as an officer's device pulls it (every field, the assignment included)."""
    device = Device(officer(server, role))
    while device.sync(limit=1000).json()["more"]:
        pass
    return device.record(dossier_id)["data"]


def citizen_dossier(server) -> tuple[Device, str]:
    """A citizen drafts and submits from their phone (sync), so that they can send a supplement later."""
    owner = Device(new_citizen(server))
    dossier_id = str(uuid.uuid4())
    created = owner.sync([owner.mutation("create", dossier_id, changes=create_changes(**VALID_FORM))])
    assert created.json()["results"][0]["status"] == "applied"
    assert command(owner, dossier_id, "submit")["status"] == "applied"
    return owner, dossier_id


def test_a_supplement_is_awaited_then_asked_again_or_accepted(server, context, phone):
    first_owner, to_ask_again = citizen_dossier(server)
    second_owner, to_accept = citizen_dossier(server)
    for dossier_id in (to_ask_again, to_accept):
        assert leader_command(server, dossier_id, "receive")["status"] == "applied"
        assert leader_command(server, dossier_id, "request_supplement",
                              reason="Thiếu bản sao giấy khai sinh.")["status"] == "applied"
    open_queue_as(phone, server, "intake")
    wait_status(phone, to_ask_again, 5)

    # Waiting for the citizen: said so, and no second request until they answer.
    waiting = card(phone, to_ask_again).locator(".supplement-state")
    expect(waiting).to_have_text("Đang chờ công dân bổ sung")
    expect(card(phone, to_ask_again).get_by_role("button", name="Yêu cầu bổ sung")).to_have_count(0)

    # The citizen sends both supplements from their phone; the queue shows it after the next sync.
    for owner, dossier_id in ((first_owner, to_ask_again), (second_owner, to_accept)):
        sent = command(owner, dossier_id, "send_supplement")
        assert sent["status"] == "applied", sent
    pull_now(phone)
    for dossier_id in (to_ask_again, to_accept):
        expect(card(phone, dossier_id).locator(".supplement-state")).to_have_text("Công dân đã gửi bổ sung")

    # Still incomplete: asked again, with what is still missing.
    card(phone, to_ask_again).get_by_role("button", name="Yêu cầu bổ sung").click()
    card(phone, to_ask_again).get_by_label("Giấy tờ, thông tin còn thiếu").fill("Ảnh giấy khai sinh bị mờ; hãy chụp lại.")
    card(phone, to_ask_again).get_by_role("button", name="Xác nhận").click()
    expect(card(phone, to_ask_again).locator(".supplement-state")).to_have_text("Đang chờ công dân bổ sung")
    assert on_server(server, to_ask_again)["substatus"] == "requested"
    intake = officer(server, "intake")
    events = intake.get(f"/api/dossiers/{to_ask_again}/events").json()["items"]
    assert (events[-1]["action"], events[-1]["note"]) == ("request_supplement", "Ảnh giấy khai sinh bị mờ; hãy chụp lại.")

    # Complete: accepted, and processing goes on.
    card(phone, to_accept).get_by_role("button", name="Đã nhận bổ sung").click()
    wait_status(phone, to_accept, 4)
    assert intake.get(f"/api/dossiers/{to_accept}").json()["status"] == 4


def test_an_apology_sets_a_later_appointment_once(server, context, phone):
    dossier_id = submitted_online(server, "Trịnh Văn Quang")
    assert leader_command(server, dossier_id, "receive")["status"] == "applied"
    leader = officer(server, "leader")
    due = datetime.fromisoformat(leader.get(f"/api/dossiers/{dossier_id}").json()["due_at"])
    open_queue_as(phone, server, "leader")
    wait_status(phone, dossier_id, 2)
    # Far from the appointment: no apology offered.
    expect(card(phone, dossier_id).get_by_role("button", name="Xin lỗi, hẹn lại ngày trả")).to_have_count(0)

    # Two hours before the appointment (the phone's clock): due soon, the apology is offered.
    phone.clock.set_system_time(due.astimezone(timezone.utc) - timedelta(hours=2))
    redraw_queue(phone)
    phone.locator(f"li.queue-item.due-soon[data-id='{dossier_id}']").wait_for()
    card(phone, dossier_id).get_by_role("button", name="Xin lỗi, hẹn lại ngày trả").click()
    form = card(phone, dossier_id).locator("form.step-form")
    form.get_by_label("Lý do chậm trả kết quả").fill("Cần xác minh thêm thông tin nhân khẩu với công an phường.")
    form.get_by_role("button", name="Xác nhận").click()
    form.get_by_text("Hãy chọn ngày hẹn mới, sau ngày hẹn hiện tại.").wait_for()  # no date yet: nothing sent
    due_day = due.astimezone(VIETNAM).date()
    form.get_by_label("Ngày hẹn trả mới").fill(due_day.isoformat())  # the same day is not later
    form.get_by_role("button", name="Xác nhận").click()
    form.get_by_text("Hãy chọn ngày hẹn mới, sau ngày hẹn hiện tại.").wait_for()
    new_day = due_day + timedelta(days=3)
    form.get_by_label("Ngày hẹn trả mới").fill(new_day.isoformat())
    form.get_by_role("button", name="Xác nhận").click()

    # Once made: the card shows the new date, and the action is gone.
    shown = f"{new_day.day:02d}/{new_day.month:02d}/{new_day.year}"
    card(phone, dossier_id).locator(".apology-sent").wait_for()
    expect(card(phone, dossier_id).locator(".queue-status")).to_contain_text(shown)
    expect(card(phone, dossier_id).get_by_role("button", name="Xin lỗi, hẹn lại ngày trả")).to_have_count(0)
    server_copy = leader.get(f"/api/dossiers/{dossier_id}").json()
    closing = leader.get("/api/calendar").json()["working_hours"][-1][1]
    assert datetime.fromisoformat(server_copy["due_at"]) == \
        datetime.combine(new_day, datetime.strptime(closing, "%H:%M").time(), VIETNAM)
    assert server_copy["status"] == 2
    events = leader.get(f"/api/dossiers/{dossier_id}/events").json()["items"]
    assert events[-1]["action"] == "apologise" and "xác minh" in events[-1]["note"]


def test_a_refused_step_keeps_what_the_officer_typed_to_copy_or_discard(server, context, phone):
    dossier_id = submitted_online(server, "Ngô Thị Thu")
    assert leader_command(server, dossier_id, "receive")["status"] == "applied"
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    open_queue_as(phone, server, "specialist")
    wait_status(phone, dossier_id, 2)
    card(phone, dossier_id).get_by_role("button", name="Bắt đầu xử lý").click()
    wait_status(phone, dossier_id, 4)
    officer(server, "leader")  # the leader signs in: the assignment stands
    assert on_server(server, dossier_id)["assigned_to"] == user_id(server, "specialist")

    # Offline, the specialist asks for a supplement; meanwhile the leader gives the dossier to a colleague.
    typed = "Thiếu xác nhận của công an xã về nơi cư trú của thành viên hộ."
    context.set_offline(True)
    card(phone, dossier_id).get_by_role("button", name="Yêu cầu bổ sung").click()
    card(phone, dossier_id).get_by_label("Giấy tờ, thông tin còn thiếu").fill(typed)
    card(phone, dossier_id).get_by_role("button", name="Xác nhận").click()
    card(phone, dossier_id).get_by_text("Chờ gửi: Yêu cầu bổ sung").wait_for()
    colleague = user_id(server, "specialist2")
    assert leader_command(server, dossier_id, "assign", officer_id=colleague)["status"] == "applied"
    context.set_offline(False)
    pull_now(phone)

    # Refused: the reason and what was typed, kept on the phone (a redraw, a new visit).
    problem = card(phone, dossier_id).locator(".problem")
    problem.wait_for()
    assert "Máy chủ không thực hiện «Yêu cầu bổ sung»" in problem.inner_text()
    assert "giao cho cán bộ khác" in problem.inner_text()
    box = problem.get_by_label("Nội dung đã nhập")
    assert typed in box.input_value() and "Yêu cầu bổ sung" in box.input_value()
    redraw_queue(phone)
    problem.wait_for()
    assert typed in problem.get_by_label("Nội dung đã nhập").input_value()

    # Copy: the text reaches the clipboard.
    problem.get_by_role("button", name="Sao chép").click()
    expect(problem.locator(".copy-note")).to_have_text("Đã sao chép vào bộ nhớ tạm.")
    assert typed in phone.evaluate("navigator.clipboard.readText()")

    # Discard: gone, and the server kept the leader's assignment, nothing of the refused step.
    problem.get_by_role("button", name="Bỏ qua").click()
    problem.wait_for(state="detached")
    data = on_server(server, dossier_id)
    assert (data["status"], data["assigned_to"]) == (4, colleague)


def test_the_result_is_returned_by_post_with_its_consignment_number(server, context, phone):
    _, dossier_id = postal_dossier(server)
    for step in ("receive", "start", "finish"):
        assert leader_command(server, dossier_id, step)["status"] == "applied"
    open_queue_as(phone, server, "intake")
    wait_status(phone, dossier_id, 9)
    card(phone, dossier_id).get_by_role("button", name="Trả kết quả").click()
    form = card(phone, dossier_id).locator("form.step-form")
    expect(form.get_by_label("Trả qua bưu chính công ích")).to_be_checked()  # the citizen chose the post
    form.get_by_role("button", name="Xác nhận").click()
    form.get_by_text("Hãy ghi số hiệu bưu gửi.").wait_for()
    form.get_by_label("Số hiệu bưu gửi (nếu gửi qua bưu điện)").fill("EL123456789VN")
    form.get_by_role("button", name="Xác nhận").click()
    wait_status(phone, dossier_id, 10)
    expect(card(phone, dossier_id).locator(".consignment")).to_have_text("Số hiệu bưu gửi: EL123456789VN")
    data = on_server(server, dossier_id, "intake")
    assert (data["status"], data["postal_consignment"]) == (10, "EL123456789VN")


def test_a_dossier_is_forwarded_to_another_office(server, context, phone):
    dossier_id = submitted_online(server, "Bùi Văn Đức")
    assert leader_command(server, dossier_id, "receive")["status"] == "applied"
    open_queue_as(phone, server, "intake")
    wait_status(phone, dossier_id, 2)
    card(phone, dossier_id).get_by_role("button", name="Chuyển hồ sơ").click()
    form = card(phone, dossier_id).locator("form.step-form")
    form.get_by_label("Lý do chuyển").fill("Thủ tục thuộc thẩm quyền của phường Việt Trì.")
    form.get_by_role("button", name="Xác nhận").click()
    form.get_by_text("Hãy chọn đơn vị nhận.").wait_for()
    form.get_by_label("Đơn vị nhận").select_option(VIET_TRI)
    form.get_by_role("button", name="Xác nhận").click()

    # The card names the handling office; this office only follows it now (no processing buttons).
    expect(card(phone, dossier_id).locator(".handling-unit")).to_contain_text(VIET_TRI)
    expect(card(phone, dossier_id).get_by_role("button", name="Chuyển hồ sơ")).to_have_count(0)
    expect(card(phone, dossier_id).get_by_role("button", name="Yêu cầu bổ sung")).to_have_count(0)
    data = on_server(server, dossier_id, "intake")
    assert data["handling_unit_code"] == VIET_TRI and data["status"] == 2
    elsewhere = officer(server, "intake_elsewhere").get(f"/api/dossiers/{dossier_id}")
    assert elsewhere.status_code == 200
