"""The supplement in the citizen's app (docs/workflow.md "Supplements"), on a 360 px phone in real Chromium: the
office's reason is shown, the citizen corrects the form and adds a page offline, taps "Gửi bổ sung", and the server
has the supplement and the page once the phone is back online. The receipt of a received dossier opens from the app.

Same real Chromium and server as tests/test_pwa.py (whose fixtures and helpers this module reuses).
"""

from __future__ import annotations

import uuid

import pytest

from tests.conftest import VALID_FORM, officer_api
from tests.test_pwa import (NEW_PASSWORD, OUTBOX, browser, citizen_api, context, new_citizen,  # noqa: F401 - fixtures
                            open_app, phone, sign_in, wait_outbox_empty)
from tests.test_pwa_pages import small_photo
from tests.test_supplement import command
from tests.test_sync_http import Device, create_changes

REASON = "Thiếu ảnh giấy khai sinh của con"


@pytest.fixture(scope="module")
def officers(server) -> tuple[Device, Device]:
    """One sign-in per officer for the module: sign-ins per account are rate limited."""
    return Device(officer_api(server, "intake")), Device(officer_api(server, "specialist"))


def test_the_citizen_reads_the_reason_adds_a_page_offline_and_sends_the_supplement(server, context, phone, tmp_path,
                                                                                      officers):
    desk, specialist = officers
    number = new_citizen(server)
    citizen = Device(citizen_api(server, number, NEW_PASSWORD))
    dossier_id = str(uuid.uuid4())
    citizen.sync([citizen.mutation("create", dossier_id, changes=create_changes(**VALID_FORM))])
    assert command(citizen, dossier_id, "submit")["status"] == "applied"
    assert command(desk, dossier_id, "receive")["status"] == "applied"
    code = desk.record(dossier_id)["data"]["code"]
    assert command(specialist, dossier_id, "start")["status"] == "applied"
    assert command(specialist, dossier_id, "request_supplement", reason=REASON)["status"] == "applied"

    open_app(phone, server)
    sign_in(phone, number, NEW_PASSWORD)
    assert phone.get_by_role("link", name="Tra cứu hồ sơ").get_attribute("href") == "/track"
    phone.locator(f"li.dossier[data-id='{dossier_id}'] a").click()
    phone.locator("#status").filter(has_text="Cần bổ sung hồ sơ").wait_for()
    box = phone.locator("#supplement")
    box.filter(has_text=f"Cơ quan yêu cầu bổ sung: {REASON}").wait_for()
    assert box.bounding_box()["width"] <= 360

    # The receipt of a received dossier opens from the app and carries its code.
    link = phone.locator("#doc-receipt")
    assert link.get_attribute("href") == f"/dossiers/{dossier_id}/documents/receipt"
    assert phone.locator("#doc-receipt-pdf").get_attribute("href") == f"/dossiers/{dossier_id}/documents/receipt.pdf"
    with context.expect_page() as opened:
        link.click()
    receipt = opened.value
    receipt.get_by_text("GIẤY TIẾP NHẬN HỒ SƠ", exact=False).first.wait_for()
    assert code in receipt.content()
    receipt.close()
    assert phone.locator("#doc-supplement_request").count() == 1

    # Offline: the form is editable again, a page is added, and the supplement is sent from the outbox later.
    context.set_offline(True)
    # A required field left empty: the app says so and sends nothing, as when submitting.
    phone.locator("#f-phone").fill("")
    phone.get_by_role("button", name="Gửi bổ sung").click()
    phone.locator("#supplement-errors").filter(has_text="Hồ sơ còn 1 lỗi").wait_for()
    assert not [m for m in phone.evaluate(OUTBOX) if m.get("command") == "send_supplement"]
    phone.locator("#f-phone").fill(VALID_FORM["phone"])
    phone.locator("#f-email").fill("lan.do@example.vn")
    phone.locator("#saved").filter(has_text="Đã lưu trên máy").wait_for()
    phone.locator("[data-document='Tờ khai'] input[type=file]:not([capture])").set_input_files(
        small_photo(tmp_path, "khai-sinh.jpg", 70))
    phone.locator("[data-document='Tờ khai'] li.thumb").get_by_text("Chờ gửi").wait_for()
    phone.get_by_role("button", name="Gửi bổ sung").click()
    phone.locator("#supplement-state").filter(has_text="sẽ tự gửi khi có mạng").wait_for()
    assert phone.get_by_role("button", name="Gửi bổ sung").count() == 0
    assert phone.locator("#f-email").is_disabled()  # sent from here: no more edits

    context.set_offline(False)
    phone.locator("#supplement-state").filter(has_text="Đã gửi bổ sung — chờ cơ quan xem xét").wait_for()
    phone.locator("[data-document='Tờ khai'] li.thumb").get_by_text("Đã gửi và kiểm tra").wait_for()
    wait_outbox_empty(phone)
    phone.locator("#timeline li").filter(has_text="Công dân đã gửi bổ sung").wait_for()

    citizen.sync()
    data = citizen.record(dossier_id)["data"]
    assert (data["status"], data["substatus"], data["form.email"]) == (5, "sent", "lan.do@example.vn")
    pages = citizen.api.get(f"/api/dossiers/{dossier_id}/attachments").json()["items"]
    assert [(p["document"], p["status"]) for p in pages] == [("Tờ khai", "verified")]
    # The office can now accept it: every page has arrived.
    assert command(specialist, dossier_id, "accept_supplement")["status"] == "applied"
    phone.locator("#send-now").click()
    phone.locator("#status").filter(has_text="Đang giải quyết").wait_for()
    assert phone.locator("#supplement").count() == 0
