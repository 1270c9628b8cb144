"""Paying a fee from the citizen's app (docs/payments.md), on a 360 px phone in real Chromium: the office asks for
the fee, the app shows the VietQR code offline (decoded back from the screen by zxing-cpp), the transfer arrives in
the unit's bank statement, the import matches it and the dossier moves on in the app.

Same real Chromium and server as tests/test_pwa.py (whose fixtures and helpers this module reuses).
"""

from __future__ import annotations

import io
import uuid

import zxingcpp
from PIL import Image

from tests.conftest import VALID_FORM, VINH_YEN, officer_api
from tests.test_payments_http import ACCOUNT, FEE, statement
from tests.test_pwa import (NEW_PASSWORD, browser, citizen_api, context, new_citizen,  # noqa: F401 - fixtures
                            open_app, phone, sign_in)
from tests.test_supplement import command
from tests.test_sync_http import Device, create_changes


def test_the_citizen_sees_the_qr_offline_pays_and_the_dossier_moves_on(server, context, phone):
    desk, leader = Device(officer_api(server, "intake")), Device(officer_api(server, "leader"))
    assert officer_api(server, "admin").send("PUT", f"/api/units/{VINH_YEN}/collection-account",
                                             ACCOUNT).status_code == 200
    number = new_citizen(server)
    citizen = Device(citizen_api(server, number, NEW_PASSWORD))
    dossier_id = str(uuid.uuid4())
    citizen.sync([citizen.mutation("create", dossier_id, changes=create_changes(**VALID_FORM))])
    assert command(citizen, dossier_id, "submit")["status"] == "applied"
    assert command(desk, dossier_id, "receive")["status"] == "applied"
    assert command(leader, dossier_id, "start")["status"] == "applied"
    assert command(leader, dossier_id, "request_payment", reason="Nộp lệ phí")["status"] == "applied"
    leader.sync()
    data = leader.record(dossier_id)["data"]

    open_app(phone, server)
    sign_in(phone, number, NEW_PASSWORD)
    phone.locator(f"li.dossier[data-id='{dossier_id}'] a").click()
    phone.locator("#payment-qr svg").wait_for()

    # Offline, away and back: the code is drawn again from the synced dossier.
    context.set_offline(True)
    phone.goto(phone.url.split("#")[0] + "#/")
    phone.locator(f"li.dossier[data-id='{dossier_id}'] a").click()
    qr = phone.locator("#payment-qr svg")
    qr.wait_for()
    assert phone.locator("#payment-amount").inner_text() == "15.000 đ"
    assert phone.locator("#payment-note").inner_text() == data["code"]
    assert phone.locator("#payment").bounding_box()["width"] <= 360
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(qr.screenshot())))
    assert [result.text for result in decoded] == [data["payment_qr"]]
    # Built on the phone from the synced account, fee and code (pwa/static/js/vietqr.js), the server's text exactly.
    assert data["payment_account"] == {"bank_bin": ACCOUNT["bank_bin"], "number": ACCOUNT["number"]}
    assert phone.locator("#payment-qr").get_attribute("data-built") == "device"

    # The citizen pays from a banking app; the bank's statement reaches the office, which imports it.
    context.set_offline(False)
    imported = leader.api.post(f"/api/units/{VINH_YEN}/statements", content=statement(
        (FEE, f"DO THI LAN chuyen tien {data['code']}"), ref=f"FT{uuid.uuid4().hex[:10]}-"))
    assert imported.json()["outcomes"]["paid"] == 1, imported.text
    phone.locator("#send-now").click()
    phone.locator("#status").filter(has_text="Đang giải quyết").wait_for()
    phone.locator("#payment-state").filter(has_text="Đã nộp phí, lệ phí 15.000 đ").wait_for()
    assert phone.locator("#payment-qr").count() == 0
    assert phone.locator("#doc-payment_receipt").get_attribute("href") == \
        f"/dossiers/{dossier_id}/documents/payment_receipt"
