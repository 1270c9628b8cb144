"""The fee at a field intake, offline (docs/payments.md "At a field intake"), in real Chromium at a phone's size.

The intake officer's phone learns the unit's collection account while online; with no network it takes a dossier
and the receipt shows a VietQR code for the fee with the code it issued (final from its block, or provisional
TAM-…) as the transfer note. zxing-cpp reads the code back from the screen; once the phone syncs, the server fixed
exactly that text on the dossier, and the bank statement carrying that note pays the dossier, which stays received.

Same real Chromium and server as tests/test_pwa.py and tests/test_pwa_intake.py (whose fixtures and helpers this
module reuses).
"""

from __future__ import annotations

import io
import uuid

import pytest
import zxingcpp
from PIL import Image

from server.payments.obligation import transfer_note
from tests.conftest import VINH_YEN, officer_api
from tests.test_payments_http import ACCOUNT, FEE, statement
from tests.test_pwa import WAIT_MS, browser, context, idb, phone, wait_outbox_empty  # noqa: F401 - fixtures
from tests.test_pwa_intake import CODE, META_SET, open_as_intake_officer, take_dossier_offline


def decode_payment_qr(page) -> str:
    image = Image.open(io.BytesIO(page.locator("#payment-qr svg").screenshot()))
    image = image.convert("L").resize((image.width * 2, image.height * 2), Image.NEAREST)
    results = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
    assert len(results) == 1, "the VietQR code could not be read"
    return results[0].text


@pytest.mark.parametrize("codes", ["reserved", "provisional"])
def test_the_receipt_shows_the_fee_qr_offline_and_the_server_fixes_that_text(server, context, phone, tmp_path,  # noqa: F811
                                                                             codes):
    admin = officer_api(server, "admin")
    assert admin.send("PUT", f"/api/units/{VINH_YEN}/collection-account", ACCOUNT).status_code == 200
    open_as_intake_officer(phone, server)
    assert phone.evaluate(META_SET, ["collection_account", WAIT_MS]), "the unit's account was not stored"
    if codes == "provisional":  # no reserved number left: the receipt carries a TAM-… code
        phone.evaluate("""() => new Promise(ok => indexedDB.open('motcua').onsuccess = e => {
            const t = e.target.result.transaction('meta', 'readwrite');
            t.objectStore('meta').put([], 'code_blocks');
            t.oncomplete = ok;
        })""")

    context.set_offline(True)
    phone.reload()
    phone.get_by_text("Đang ngoại tuyến").wait_for()
    dossier_id = take_dossier_offline(phone, tmp_path)
    code = phone.locator("#receipt-code").inner_text()
    assert code.startswith("TAM-") if codes == "provisional" else CODE.match(code), code

    # Offline: the fee, the code to scan, the note (the code issued here), the account, how to pay.
    phone.locator("#payment-qr svg").wait_for()
    assert phone.locator("#payment-amount").inner_text() == "15.000 đ"
    assert phone.locator("#payment-note").inner_text() == transfer_note(code)
    assert phone.locator("#payment-account").inner_text() == ACCOUNT["number"]
    assert phone.locator("#payment-qr").get_attribute("data-built") == "device"
    phone.get_by_text("Mở ứng dụng ngân hàng, chọn quét mã QR").wait_for()
    assert phone.locator("#payment").bounding_box()["width"] <= 360
    shown = decode_payment_qr(phone)
    [create] = [m for m in idb(phone, "outbox") if m["op"] == "create"]
    assert create["changes"]["fee_amount_vnd"] == {"value": FEE}
    assert create["changes"]["payment_note"] == {"value": transfer_note(code)}

    # Back in range: the server fixed the fee at reception with exactly the text the citizen scanned.
    context.set_offline(False)
    wait_outbox_empty(phone)
    desk = officer_api(server, "intake")
    dossier = desk.get(f"/api/dossiers/{dossier_id}").json()
    assert dossier["status"] == 2 and dossier["payment"]["amount_vnd"] == FEE
    assert dossier["payment"]["qr"] == shown
    if codes == "provisional":
        assert dossier["code"] != code and CODE.match(dossier["code"])
        phone.locator("#receipt-code").filter(has_text=dossier["code"]).wait_for()
    phone.get_by_text("Đã đồng bộ với máy chủ.").wait_for()
    assert decode_payment_qr(phone) == shown  # the note the citizen used stays, whatever the final code

    # The officers' queue shows the fee owed and offers to record a payment at the desk, though the dossier is at 2.
    phone.goto(phone.url.split("#")[0] + "#/queue")
    card = phone.locator(f"li.queue-item[data-id='{dossier_id}']")
    card.locator(".fee").filter(has_text="15.000 đ (chờ nộp)").wait_for()
    assert card.locator("button[data-command='payment_done']").count() == 1
    phone.goto(phone.url.split("#")[0] + f"#/receipt/{dossier_id}")
    phone.locator("#payment-qr svg").wait_for()

    # The transfer in the unit's statement (the note as the citizen's bank wrote it) pays the received dossier.
    imported = desk.post(f"/api/units/{VINH_YEN}/statements", content=statement(
        (FEE, f"NGUYEN THI MAI {transfer_note(code)}"), ref=f"FT{uuid.uuid4().hex[:10]}-"))
    assert imported.json()["outcomes"]["paid"] == 1, imported.text
    after = desk.get(f"/api/dossiers/{dossier_id}").json()
    assert (after["status"], after["due_at"], after["payment"]["channel"]) == (2, dossier["due_at"], "transfer")
    phone.locator("#send-now").click()
    phone.locator("#payment-state").filter(has_text="Đã nộp phí, lệ phí 15.000 đ").wait_for()
    assert phone.locator("#payment-qr").count() == 0
