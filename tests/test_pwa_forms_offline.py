"""Any procedure of the commune's catalog can be filed offline after one visit on Wi-Fi: the app downloads every form
in batches after the index (pwa/static/js/catalog.js prefetchesAllForms; docs/pwa.md "Data on the phone"), so a
procedure the person never opened online is drafted and queued without a connection, and goes out once back online.

Real Chromium at a phone's size, the browser reporting Wi-Fi (tests/test_pwa.py WIFI), against a real server on
loopback with the shipped catalog (server/catalog/shipped.py).
"""

from __future__ import annotations

from playwright.sync_api import expect

from tests.test_pwa import (DEMO_PASSWORD, DEMO_PHONE, DETAILS_COUNT, browser, context, forms_asked, idb,  # noqa: F401
                             open_app, phone, sign_in, submit_draft)
from tests.test_pwa_required_documents import fill_applicant

# Known only from the commune's list (generic form, no documents listed): never opened before going offline.
NEVER_OPENED = "Chứng thực văn bản từ chối nhận di sản"
CODE = "2.001016"


def test_a_procedure_never_opened_online_is_filed_offline_after_a_first_visit_on_wifi(server, context, phone):
    asked = forms_asked(context)
    open_app(phone, server)  # body[data-ready]: the index, the units and, on Wi-Fi, every form are stored
    details, procedures = phone.evaluate(DETAILS_COUNT)
    assert details == procedures >= 260, (details, procedures)
    forms = [url for url in asked if "/api/procedures/" in url]
    assert forms and all("/api/procedures/forms?codes=" in url for url in forms), "forms come in batches, none alone"
    assert len(forms) == -(-procedures // 100)
    sign_in(phone, DEMO_PHONE, DEMO_PASSWORD)  # an account to send with (signing in needs the network)
    assert not [url for url in asked if f"/api/procedures/{CODE}" in url]

    context.set_offline(True)
    phone.goto(server.url + "/app")
    phone.get_by_text("Đang ngoại tuyến").wait_for()
    phone.get_by_label("Tìm thủ tục").fill("tu choi nhan di san")
    phone.get_by_role("link", name=NEVER_OPENED, exact=True).click()
    phone.get_by_role("button", name="Lập hồ sơ").click()
    phone.wait_for_url("**/app#/d/*")
    dossier_id = phone.url.rsplit("/", 1)[1]
    fill_applicant(phone)
    submit_draft(phone)
    phone.locator("#status").filter(has_text="Chờ gửi").wait_for()
    assert [m["op"] for m in idb(phone, "outbox") if m["entity_id"] == dossier_id][-1] == "command", "submit waits"

    context.set_offline(False)  # the online event starts a sync round
    expect(phone.locator("#status")).to_have_text("Đã nộp, chờ tiếp nhận", timeout=30_000)
