"""Reusing a verified document from the citizen's app (docs/pwa.md "Reusing a document and rating"), on a 360 px
phone in real Chromium: a CCCD scan verified in an earlier dossier is attached to a new draft without a new photo;
the server has a new verified page with the same SHA-256 and the store still holds one object. Offline the button
says why it cannot be used.

Same real Chromium and server as tests/test_pwa.py (whose fixtures and helpers this module reuses).
"""

from __future__ import annotations

import hashlib

from tests.conftest import VINH_YEN
from tests.test_assignment import command, officer
from tests.test_attachments_http import jpeg
from tests.test_pwa import (NEW_PASSWORD, browser, citizen_api, context, fill_valid_form,  # noqa: F401 - fixtures
                            new_citizen, open_app, phone, sign_in, start_draft, wait_outbox_empty)
from tests.test_reuse_documents import new_draft, verified_page
from tests.test_sync_http import Device


def test_a_verified_cccd_scan_is_reused_in_a_new_dossier_without_a_new_photo(server, context, phone):
    number = new_citizen(server)
    citizen = citizen_api(server, number, NEW_PASSWORD)
    earlier = new_draft(citizen)
    scan = jpeg(seed=91)
    digest = hashlib.sha256(scan).hexdigest()
    front = verified_page(server, citizen, earlier, scan, "Căn cước công dân")

    open_app(phone, server)
    sign_in(phone, number, NEW_PASSWORD)
    dossier_id = start_draft(phone)
    fill_valid_form(phone)
    wait_outbox_empty(phone)  # the draft exists on the server: it takes pages

    document = phone.locator("[data-document='Tờ khai']")
    document.get_by_role("button", name="Dùng giấy tờ đã có").click()
    offered = document.locator(f"li.reuse-item[data-attachment='{front['id']}']")
    offered.get_by_text("Căn cước công dân").wait_for()
    assert offered.get_by_role("img", name="Căn cước công dân").is_visible()
    assert "Từ hồ sơ" in offered.inner_text()
    assert offered.bounding_box()["width"] <= 360
    offered.get_by_role("button", name="Dùng Căn cước công dân").click()

    document.locator("li.thumb[data-status=verified]").get_by_text("Đã gửi và kiểm tra").wait_for()
    document.locator(".reuse-note").filter(has_text="không cần chụp lại").wait_for()
    items = citizen.get(f"/api/dossiers/{dossier_id}/attachments").json()["items"]
    assert [(i["status"], i["sha256"], i["reused_from"], i["document"]) for i in items] == [
        ("verified", digest, front["id"], "Tờ khai")]
    assert items[0]["id"] != front["id"]
    stored = list((server.data_dir / "blobs").rglob(digest))
    assert len(stored) == 1 and stored[0].read_bytes() == scan  # nothing uploaded or stored again

    # The page stays verified after a reload: the uploader has nothing to send for it.
    phone.reload()
    phone.locator("[data-document='Tờ khai'] li.thumb[data-status=verified]").wait_for()
    assert len(citizen.get(f"/api/dossiers/{dossier_id}/attachments").json()["items"]) == 1

    # Offline: the button stays, disabled, and says why.
    context.set_offline(True)
    phone.get_by_role("button", name="Gửi ngay").click()
    phone.locator("#offline").wait_for(state="visible")
    button = phone.locator("[data-document='Tờ khai']").get_by_role("button", name="Dùng giấy tờ đã có")
    phone.wait_for_function("() => document.querySelector('.reuse-open').disabled")
    assert button.is_disabled()
    phone.locator("[data-document='Tờ khai'] .reuse-note").filter(
        has_text="Cần có mạng để dùng lại giấy tờ đã nộp").wait_for()


def test_a_refusal_from_the_server_is_shown_in_vietnamese(server, context, phone):
    """The dossier stopped taking pages while the list was open: the server refuses, the app shows its Vietnamese
    message, and nothing is attached."""
    number = new_citizen(server)
    citizen = citizen_api(server, number, NEW_PASSWORD)
    earlier = new_draft(citizen)
    scan = verified_page(server, citizen, earlier, jpeg(seed=92), "Căn cước công dân")

    open_app(phone, server)
    sign_in(phone, number, NEW_PASSWORD)
    dossier_id = start_draft(phone)
    fill_valid_form(phone)
    wait_outbox_empty(phone)
    # The phone does not hear of the change before the tap (its sync rounds wait, unanswered): otherwise it would
    # redraw the dossier as no longer editable, without the button.
    held = []
    phone.route("**/api/sync", lambda route: held.append(route))
    document = phone.locator("[data-document='Tờ khai']")
    document.get_by_role("button", name="Dùng giấy tờ đã có").click()
    use = document.get_by_role("button", name="Dùng Căn cước công dân")
    use.wait_for()
    # Meanwhile, from another device, the dossier is submitted and the office refuses it (status 3): it takes no
    # more pages.
    device = Device(citizen)
    assert command(device, dossier_id, "submit", unit_code=VINH_YEN)["status"] == "applied"
    assert command(Device(officer(server, "intake")), dossier_id, "refuse",
                   reason="Không thuộc thẩm quyền")["status"] == "applied"
    use.click()
    error = document.locator(".reuse-note.error")
    error.wait_for()
    refusal = citizen.post(f"/api/dossiers/{dossier_id}/attachments/reuse", {"attachment_id": scan["id"],
                                                                              "document": "Tờ khai"}).json()
    assert error.inner_text() == refusal["error"]["message"]  # the server's own Vietnamese words
    assert citizen.get(f"/api/dossiers/{dossier_id}/attachments").json()["items"] == []
    phone.unroute("**/api/sync")  # Playwright lets the held rounds through
