"""The officers' queue in the app (#/queue): a dossier a citizen submitted online appears, the filters narrow the
list, the officer receives one and refuses another with a reason (both reach the server), acts offline too, sees
a step the server refused with the server's reason, and an overdue dossier is highlighted.

Real Chromium at a phone's size (tests/test_pwa.py fixtures) against a real server on loopback.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

from PIL import Image
from playwright.sync_api import expect

from tests.conftest import OFFICER_PASSWORD, OFFICERS, VALID_FORM, VINH_YEN, Api, officer_api
from tests.test_pwa import DEMO_PASSWORD, DEMO_PHONE, browser, context, idb, open_app, open_menu, phone, sign_in  # noqa: F401
from tests.test_pwa_intake import draw_signature


def submitted_online(server, full_name: str) -> str:
    """The demo citizen files and submits a dossier to Vĩnh Yên in one request; returns its id."""
    citizen = Api(server.url)
    citizen.sign_in(DEMO_PHONE, DEMO_PASSWORD)
    response = citizen.post("/api/dossiers", {"procedure_code": "TEST.0001", "unit_code": VINH_YEN, "submit": True,
                                              "data": {**VALID_FORM, "full_name": full_name}})
    assert response.status_code == 201, response.text
    return response.json()["id"]


_signed_in: dict[tuple[str, str], Api] = {}


def officer(server, role: str) -> Api:
    """One signed-in client per officer and server: sign-ins are rate limited per account (server/web/rate_limits.py)."""
    key = (server.url, role)
    if key not in _signed_in:
        _signed_in[key] = officer_api(server, role)
    return _signed_in[key]


def leader_command(server, dossier_id: str, command: str, **args) -> dict:
    leader = officer(server, "leader")
    body = {"device_id": f"dev-{uuid.uuid4().hex[:10]}", "cursor": None, "mutations": [
        {"mutation_id": str(uuid.uuid4()), "seq": 1, "entity": "dossier", "entity_id": dossier_id,
         "op": "command", "command": command, "args": args}]}
    return leader.post("/api/sync", body).json()["results"][0]


def card(page, dossier_id: str):
    return page.locator(f"li.queue-item[data-id='{dossier_id}']")


def wait_status(page, dossier_id: str, status: int) -> None:
    try:
        page.locator(f"li.queue-item[data-id='{dossier_id}'][data-status='{status}']").wait_for()
    except Exception as error:  # say what the phone holds and shows instead
        local = [{k: d.get(k) for k in ("status", "replica", "problems")} for d in idb(page, "dossiers") if d["id"] == dossier_id]
        shown = page.locator("#queue li").evaluate_all("els => els.map(e => [e.dataset.id, e.dataset.status])")
        raise AssertionError(f"status {status} not shown; on the phone: {local}; sync: {page.locator('#sync').inner_text()}; "
                             f"outbox: {idb(page, 'outbox')}; shown: {shown}; hash: {page.evaluate('location.hash')}; "
                             f"view: {page.locator('#view').inner_text()[:300]}") from error


def go_to_queue(page) -> None:
    """Tap "Hàng đợi hồ sơ" in the header and wait for the queue. A tap that lands while the header is being redrawn
    (a sync round ending just then) is lost, as a person's would be: tap again then. A queue that does not draw
    once its address is shown fails, with what the phone shows instead."""
    for _ in range(3):
        open_menu(page)
        page.locator("#nav-queue").click()
        try:
            page.wait_for_function("() => location.hash === '#/queue'", timeout=5_000)
            break
        except Exception:  # the tap was lost: the address did not change
            continue
    try:
        page.get_by_role("heading", name="Hàng đợi hồ sơ").wait_for()
    except Exception as error:
        raise AssertionError(f"the queue did not draw; hash: {page.evaluate('location.hash')}; "
                             f"header: {page.locator('#account').inner_text()!r}; sync: {page.locator('#sync').inner_text()!r}; "
                             f"view: {page.locator('#view').inner_text()[:300]!r}") from error


def open_queue(page, server) -> None:
    open_app(page, server)
    sign_in(page, OFFICERS["intake"].phone, OFFICER_PASSWORD)
    go_to_queue(page)


def test_the_queue_receives_and_refuses_online_and_offline(server, context, phone):
    to_receive = submitted_online(server, "Phạm Thị Hoà")
    to_refuse = submitted_online(server, "Lê Văn Tâm")
    desk = officer(server, "intake")
    open_queue(phone, server)

    # The online submission is in the unit's queue, as submitted.
    wait_status(phone, to_receive, 1)
    assert "Phạm Thị Hoà" in card(phone, to_receive).inner_text()
    assert "Mới đăng ký" in card(phone, to_receive).inner_text()

    # Filters: by status, by procedure.
    phone.get_by_label("Trạng thái").select_option("2")
    card(phone, to_receive).wait_for(state="detached")
    phone.get_by_label("Trạng thái").select_option("1")
    card(phone, to_receive).wait_for()
    phone.get_by_label("Thủ tục").select_option("TEST.0001")
    card(phone, to_refuse).wait_for()
    assert all(status == "1" for status in phone.locator("li.queue-item").evaluate_all("els => els.map(e => e.dataset.status)"))
    phone.get_by_label("Trạng thái").select_option("")

    # Receive: one tap, the command waits, then the server's answer comes back with the code and the appointment.
    card(phone, to_receive).get_by_role("button", name="Tiếp nhận", exact=True).click()
    wait_status(phone, to_receive, 2)
    received = desk.get(f"/api/dossiers/{to_receive}").json()
    assert received["status"] == 2 and received["code"] and received["due_at"]
    card(phone, to_receive).get_by_text(received["code"]).wait_for()
    assert "Hẹn trả" in card(phone, to_receive).inner_text()

    # Refuse needs a reason: none, and nothing is sent; with one, the server records it.
    card(phone, to_refuse).get_by_role("button", name="Từ chối").click()
    reason_box = card(phone, to_refuse).get_by_label("Lý do từ chối")
    card(phone, to_refuse).get_by_role("button", name="Xác nhận").click()
    card(phone, to_refuse).get_by_text("Hãy ghi rõ lý do.").wait_for()
    reason_box.fill("Thủ tục này không thuộc thẩm quyền của phường; đề nghị nộp tại tỉnh.")
    card(phone, to_refuse).get_by_role("button", name="Xác nhận").click()
    wait_status(phone, to_refuse, 3)
    assert desk.get(f"/api/dossiers/{to_refuse}").json()["status"] == 3
    events = desk.get(f"/api/dossiers/{to_refuse}/events").json()["items"]
    assert events[-1]["action"] == "refuse" and "không thuộc thẩm quyền" in events[-1]["note"]

    # Offline: a supplement request waits on the phone and is sent when the network returns.
    context.set_offline(True)
    card(phone, to_receive).get_by_role("button", name="Yêu cầu bổ sung").click()
    card(phone, to_receive).get_by_label("Giấy tờ, thông tin còn thiếu").fill("Thiếu bản sao giấy khai sinh của thành viên.")
    card(phone, to_receive).get_by_role("button", name="Xác nhận").click()
    card(phone, to_receive).get_by_text("Chờ gửi: Yêu cầu bổ sung").wait_for()
    assert desk.get(f"/api/dossiers/{to_receive}").json()["status"] == 2
    context.set_offline(False)
    phone.get_by_role("button", name="Gửi ngay").click()
    wait_status(phone, to_receive, 5)
    assert desk.get(f"/api/dossiers/{to_receive}").json()["status"] == 5


def test_a_step_the_server_refuses_is_shown_with_its_reason(server, context, phone):
    dossier_id = submitted_online(server, "Đỗ Văn Hùng")
    open_queue(phone, server)
    wait_status(phone, dossier_id, 1)
    context.set_offline(True)
    card(phone, dossier_id).get_by_role("button", name="Tiếp nhận", exact=True).click()
    card(phone, dossier_id).get_by_text("Chờ gửi: Tiếp nhận").wait_for()
    # Meanwhile the ward's leader refused it from another device.
    assert leader_command(server, dossier_id, "refuse", reason="Hồ sơ nộp nhầm đơn vị.")["status"] == "applied"
    context.set_offline(False)
    phone.get_by_role("button", name="Gửi ngay").click()
    problem = card(phone, dossier_id).locator(".problem")
    problem.wait_for()
    assert "Máy chủ không thực hiện «Tiếp nhận»" in problem.inner_text()
    wait_status(phone, dossier_id, 3)
    problem.get_by_role("button", name="Đã hiểu").click()
    problem.wait_for(state="detached")


def redraw_queue(page) -> None:
    page.evaluate("location.hash = '#/'")
    page.get_by_role("heading", name="Hồ sơ của tôi").wait_for()
    page.evaluate("location.hash = '#/queue'")


def test_a_dossier_due_soon_then_overdue_is_highlighted_and_filtered(server, context, phone):
    dossier_id = submitted_online(server, "Vũ Thị Lan")
    assert leader_command(server, dossier_id, "receive")["status"] == "applied"
    due = datetime.fromisoformat(officer(server, "intake").get(f"/api/dossiers/{dossier_id}").json()["due_at"])
    open_queue(phone, server)
    wait_status(phone, dossier_id, 2)
    assert card(phone, dossier_id).get_attribute("data-deadline") == ""

    # The phone's clock two hours before the appointment: due soon (less than a working day left).
    phone.clock.set_system_time(due.astimezone(timezone.utc) - timedelta(hours=2))
    redraw_queue(phone)
    soon = phone.locator(f"li.queue-item.due-soon[data-id='{dossier_id}']")
    soon.wait_for()
    assert "Sắp đến hạn" in soon.inner_text()

    # A day after the appointment: the same dossier is now overdue.
    phone.clock.set_system_time(due.astimezone(timezone.utc) + timedelta(days=1))
    redraw_queue(phone)
    overdue = phone.locator(f"li.queue-item.overdue[data-id='{dossier_id}']")
    overdue.wait_for()
    assert "Quá hạn" in overdue.inner_text()
    background = overdue.evaluate("e => getComputedStyle(e).backgroundColor")
    assert background != "rgb(255, 255, 255)", "an overdue dossier must stand out"
    phone.get_by_label("Thời hạn").select_option("overdue")
    expect(phone.locator("li.queue-item:not(.overdue)")).to_have_count(0)
    overdue.wait_for()


def test_the_cards_name_the_applicant_and_dates_and_the_most_urgent_come_first(server, context, phone):
    """A card says who applied (from the form), when the dossier arrived and its appointment, dd/mm/yyyy; the queue
    puts the overdue first, then the due soon, then the new ones, then the rest by appointment."""
    vietnam = timezone(timedelta(hours=7))
    late, soon, later = (submitted_online(server, name) for name in ("Trần Văn Muộn", "Ngô Thị Gấp", "Đinh Văn Thong"))
    for dossier_id in (late, soon, later):
        assert leader_command(server, dossier_id, "receive")["status"] == "applied"
    desk = officer(server, "intake")
    due = datetime.fromisoformat(desk.get(f"/api/dossiers/{late}").json()["due_at"])
    now = due.astimezone(timezone.utc) + timedelta(days=1)  # the phone's clock: `late` is a day overdue
    for dossier_id, new_due in ((soon, now + timedelta(hours=2)), (later, due + timedelta(days=10))):
        assert leader_command(server, dossier_id, "apologise", new_due_at=new_due.isoformat(),
                              reason="Cần xác minh thêm.")["status"] == "applied"
    fresh = submitted_online(server, "Lý Thị Mới")  # submitted, not received yet
    submitted = datetime.fromisoformat(desk.get(f"/api/dossiers/{fresh}").json()["submitted_at"])

    open_queue(phone, server)
    wait_status(phone, fresh, 1)
    phone.clock.set_system_time(now)
    redraw_queue(phone)
    phone.locator(f"li.queue-item.overdue[data-id='{late}']").wait_for()
    order = phone.locator("li.queue-item").evaluate_all("els => els.map(e => e.dataset.id)")
    ours = [i for i in order if i in (late, soon, fresh, later)]
    assert ours == [late, soon, fresh, later], ours
    # Whatever else the unit holds (earlier tests' dossiers): overdue, then due soon, then new, then the rest.
    ranks = phone.locator("li.queue-item").evaluate_all("""els => els.map(e => e.dataset.deadline === 'overdue' ? 0
        : e.dataset.deadline === 'due-soon' ? 1 : e.dataset.status === '1' ? 2 : 3)""")
    assert ranks == sorted(ranks), ranks

    expect(card(phone, fresh).locator(".applicant")).to_have_text("Người nộp: Lý Thị Mới")
    expect(card(phone, fresh).locator(".arrived")).to_have_text("Ngày nộp: " + submitted.astimezone(vietnam).strftime("%d/%m/%Y %H:%M"))
    expect(card(phone, late).locator(".queue-status .due")).to_contain_text(
        "Hẹn trả: " + due.astimezone(vietnam).strftime("%d/%m/%Y %H:%M"))
    expect(card(phone, soon).locator(".applicant")).to_have_text("Người nộp: Ngô Thị Gấp")


def test_the_result_is_attached_and_returned_at_the_desk(server, context, phone, tmp_path):
    dossier_id = submitted_online(server, "Hoàng Văn Nam")
    for step in ("receive", "start"):
        assert leader_command(server, dossier_id, step)["status"] == "applied"
    open_queue(phone, server)
    wait_status(phone, dossier_id, 4)

    # The result (kết quả giải quyết) is a page like any other: kept on the phone, uploaded, verified.
    result = tmp_path / "ket-qua.png"
    Image.new("RGB", (800, 1100), "white").save(result)
    card(phone, dossier_id).locator("input[type=file]").set_input_files(result)
    card(phone, dossier_id).locator(".result-pages").filter(has_text="đã gửi").wait_for()
    items = officer(server, "intake").get(f"/api/dossiers/{dossier_id}/attachments").json()["items"]
    assert [(i["document"], i["status"]) for i in items] == [("Kết quả giải quyết", "verified")]

    assert leader_command(server, dossier_id, "finish")["status"] == "applied"
    phone.get_by_role("button", name="Gửi ngay").click()  # pull the leader's step now, not in 5 minutes
    wait_status(phone, dossier_id, 9)
    # The hand-over at the desk: the person collecting gives their name and signs on the signature pad
    # (docs/workflow.md "Approval and return"; the hand-over is recorded, docs/domain.md "Sign-off").
    card(phone, dossier_id).get_by_role("button", name="Trả kết quả").click()
    card(phone, dossier_id).get_by_role("button", name="Xác nhận").click()
    card(phone, dossier_id).get_by_text("Hãy ghi họ tên người nhận kết quả.").wait_for()
    card(phone, dossier_id).get_by_label("Họ tên người nhận kết quả (tại bộ phận một cửa)").fill("Lê Văn Tâm")
    card(phone, dossier_id).get_by_role("button", name="Xác nhận").click()
    card(phone, dossier_id).get_by_text("Người nhận cần ký").wait_for()
    draw_signature(phone)
    card(phone, dossier_id).get_by_role("button", name="Lưu chữ ký").click()
    card(phone, dossier_id).get_by_text("Đã lưu chữ ký.").wait_for()
    card(phone, dossier_id).get_by_role("button", name="Xác nhận").click()
    wait_status(phone, dossier_id, 10)
    returned = officer(server, "intake").get(f"/api/dossiers/{dossier_id}").json()
    assert returned["status"] == 10
    events = officer(server, "intake").get(f"/api/dossiers/{dossier_id}/events").json()["items"]
    assert events[-1]["note"] == "Người nhận kết quả: Lê Văn Tâm"
    for _ in range(100):  # the signature page uploads in the background
        items = officer(server, "intake").get(f"/api/dossiers/{dossier_id}/attachments").json()["items"]
        if ("Chữ ký của người nhận kết quả", "verified") in [(i["document"], i["status"]) for i in items]:
            break
        phone.wait_for_timeout(200)
    else:
        raise AssertionError(f"the receiver's signature was not uploaded: {items}")
