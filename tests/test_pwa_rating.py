"""Rating the service from the citizen's app (docs/pwa.md "Reusing a document and rating"), on a 360 px phone in real
Chromium: a returned dossier (status 10) asks "Đánh giá mức độ hài lòng"; "Không hài lòng" without a reason is
refused in the form, with a reason it is accepted and the server has the rating; offline the box says it needs a
connection.

Same real Chromium and server as tests/test_pwa.py (whose fixtures and helpers this module reuses).
"""

from __future__ import annotations

from tests.conftest import VALID_FORM, VINH_YEN
from tests.test_assignment import command, officer
from tests.test_pwa import (NEW_PASSWORD, browser, citizen_api, context, new_citizen,  # noqa: F401 - fixtures
                            open_app, phone, sign_in)
from tests.test_sync_http import Device

REASON = "Phải đi lại hai lần vì thiếu hướng dẫn"


def returned_dossier(server, citizen) -> str:
    """Submitted over HTTP, then received, processed and handed back by the office: status 10."""
    response = citizen.post("/api/dossiers", {"procedure_code": "TEST.0001", "data": VALID_FORM,
                                              "unit_code": VINH_YEN, "submit": True})
    assert response.status_code == 201, response.text
    dossier_id = response.json()["id"]
    desk, specialist = Device(officer(server, "intake")), Device(officer(server, "specialist"))
    leader = Device(officer(server, "leader"))  # signs the specialist's draft (docs/workflow.md "Approval and return")
    for device, step, args in ((desk, "receive", {}), (specialist, "start", {}), (specialist, "finish", {}),
                               (leader, "approve", {}), (desk, "return", {"received_by": "Nguyễn Thị Mai"})):
        assert command(device, dossier_id, step, **args)["status"] == "applied", step
    return dossier_id


def test_a_returned_dossier_is_rated_from_the_app(server, context, phone):
    number = new_citizen(server)
    citizen = citizen_api(server, number, NEW_PASSWORD)
    dossier_id = returned_dossier(server, citizen)

    open_app(phone, server)
    sign_in(phone, number, NEW_PASSWORD)
    phone.locator(f"li.dossier[data-id='{dossier_id}'] a").click()
    phone.locator("#status").filter(has_text="Đã nhận kết quả").wait_for()

    # Offline, the box says a rating needs a connection.
    context.set_offline(True)
    phone.reload()
    box = phone.locator("#rating")
    box.get_by_role("heading", name="Đánh giá mức độ hài lòng").wait_for()
    box.get_by_text("Cần có mạng để đánh giá mức độ hài lòng.").wait_for()
    context.set_offline(False)
    phone.reload()

    box.get_by_role("radio", name="Rất hài lòng").wait_for()
    assert box.get_by_role("radio", name="Hài lòng", exact=True).is_visible()
    assert box.bounding_box()["width"] <= 360
    box.get_by_role("radio", name="Không hài lòng").check()
    box.get_by_role("button", name="Gửi đánh giá").click()
    phone.locator("#rating-reason-error").filter(
        has_text="Vui lòng cho biết lý do Ông/Bà không hài lòng để cơ quan khắc phục.").wait_for()
    assert phone.locator("#rating-reason").get_attribute("aria-invalid") == "true"
    assert citizen.get(f"/api/dossiers/{dossier_id}/rating").json() == {"rating": None, "can_rate": True}

    box.get_by_label("Lý do (bắt buộc nếu không hài lòng)").fill(REASON)
    box.get_by_role("button", name="Gửi đánh giá").click()
    box.locator("#rating-done").filter(has_text="Cảm ơn Ông/Bà đã đánh giá: Không hài lòng").wait_for()
    rating = citizen.get(f"/api/dossiers/{dossier_id}/rating").json()
    assert (rating["rating"]["value"], rating["rating"]["reason"], rating["can_rate"]) == ("unsatisfied", REASON, False)

    # Opened again, the dossier shows the rating given, with no form.
    phone.reload()
    box.locator("#rating-done").filter(has_text="Không hài lòng").wait_for()
    assert box.get_by_role("button", name="Gửi đánh giá").count() == 0
