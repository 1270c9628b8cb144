"""Field intake (tiếp nhận tại chỗ) in the app: a commune intake officer, with no network from the moment they
leave the office, takes a dossier with a photographed page and the citizen's signature and hands over a receipt
carrying a final code from the device's reserved block, the appointment date and a QR code; everything reaches
the server once, with that code, when the network returns.

Real Chromium at a phone's size (tests/test_pwa.py fixtures), a real server on loopback, zxing-cpp reading the QR.
"""

from __future__ import annotations

import io
import re
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import zxingcpp
from PIL import Image, ImageDraw

from tests import a11y
from tests.conftest import OFFICER_PASSWORD, OFFICERS, VALID_FORM, VINH_YEN, Api, officer_api
from tests.test_pwa import (DEMO_PASSWORD, DEMO_PHONE, WAIT_MS, browser, context, open_menu,  # noqa: F401 - fixtures
                            fill_valid_form, idb, idb_meta, open_app, phone, sign_in, wait_outbox_empty)

CODE = re.compile(r"^(?P<agency>[A-Za-z0-9.]+)-(?P<day>\d{6})-(?P<number>\d{4})$")

# Polls IndexedDB inside the page until meta[key] is set (wait_for_function would take a promise as true).
META_SET = """async ([key, ms]) => {
    const read = () => new Promise(ok => indexedDB.open('motcua').onsuccess = e =>
        e.target.result.transaction('meta').objectStore('meta').get(key).onsuccess = r => ok(r.target.result));
    for (const end = Date.now() + ms; Date.now() < end; await new Promise(r => setTimeout(r, 100))) {
        const value = await read();
        if (value && (!Array.isArray(value) || value.length)) return true;
    }
    return false;
}"""

# Polls the pages database until `count` pages of the dossier are verified by the server.
PAGES_VERIFIED = """async ([id, count, ms]) => {
    const read = () => new Promise(ok => indexedDB.open('motcua-pages').onsuccess = e =>
        e.target.result.transaction('pages').objectStore('pages').getAll().onsuccess = r => ok(r.target.result));
    for (const end = Date.now() + ms; Date.now() < end; await new Promise(r => setTimeout(r, 100))) {
        const mine = (await read()).filter(p => p.dossier_id === id);
        if (mine.length === count && mine.every(p => p.status === 'verified')) return true;
    }
    return false;
}"""


def document_photo(folder: Path) -> Path:
    """A phone photo of a paper form: lines of 'text' on white."""
    image = Image.new("RGB", (1600, 1200), "white")
    draw = ImageDraw.Draw(image)
    for row in range(20):
        draw.rectangle([100, 80 + row * 50, 300 + (row * 97) % 1100, 98 + row * 50], fill=(40, 40, 40))
    path = folder / "to-khai-giay.jpg"
    image.save(path, "JPEG", quality=90)
    return path


def open_as_intake_officer(page, server) -> dict:
    """Online once: sign in, let the catalog, the working calendar and the reserved code blocks reach the phone."""
    open_app(page, server)
    sign_in(page, OFFICERS["intake"].phone, OFFICER_PASSWORD)
    page.locator("#nav-intake").wait_for(state="attached")  # in the header's menu
    assert page.evaluate(META_SET, ["code_blocks", WAIT_MS]), "no code block was reserved"
    assert page.evaluate(META_SET, ["calendar", WAIT_MS]), "the working calendar was not stored"
    page.locator("body[data-ready]").wait_for(state="attached")
    return {"blocks": idb_meta(page, "code_blocks"), "device_id": idb_meta(page, "device_id")}


def draw_signature(page) -> None:
    """A stroke across the pad, as a finger would draw it: the pad must be on screen first."""
    page.locator("#signature-pad").scroll_into_view_if_needed()
    box = page.locator("#signature-pad").bounding_box()
    x, y = box["x"] + box["width"] * 0.15, box["y"] + box["height"] * 0.6
    page.mouse.move(x, y)
    page.mouse.down()
    for step in range(1, 30):
        page.mouse.move(x + step * box["width"] * 0.025, y - (step % 6) * box["height"] * 0.05, steps=2)
    page.mouse.up()


def vietnam_day() -> str:
    return (datetime.now(timezone.utc) + timedelta(hours=7)).strftime("%y%m%d")


def decode_qr(page) -> str:
    image = Image.open(io.BytesIO(page.locator(".receipt-qr svg").screenshot()))
    # Scaled up with a white margin: a phone's 9rem QR is small for a reader working on a screenshot.
    image = image.convert("L").resize((image.width * 3, image.height * 3), Image.NEAREST)
    results = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
    assert len(results) == 1, "the receipt's QR code could not be read"
    return results[0].text


def take_dossier_offline(page, tmp_path, known_name: str | None = None, decision: str = "receive",
                         reason: str = "") -> str:
    """The whole field intake with no network; returns the dossier id shown in the receipt's route.

    known_name: the citizen has filed before (a dossier of the unit on this phone), found by phone number;
    otherwise a new person is recorded from a phone number nobody has."""
    open_menu(page)
    page.locator("#nav-intake").click()
    page.get_by_role("heading", name="Tiếp nhận lưu động").wait_for()
    page.locator("#intake-q").fill("thu nghiem ho gia dinh")
    page.get_by_role("button", name="Thủ tục thử nghiệm đăng ký hộ gia đình").click()
    lookup = page.get_by_label("Số điện thoại hoặc số định danh cá nhân của người nộp")
    if known_name:
        lookup.fill(VALID_FORM["phone"].replace(" ", ""))
        page.locator("li.citizen").filter(has_text=known_name).first.get_by_role("button", name="Dùng thông tin này").click()
        page.locator("#f-full_name").wait_for()
        assert page.locator("#f-full_name").input_value() == known_name
        assert page.locator("#f-cccd").input_value() == VALID_FORM["cccd"]
    else:
        number = "0987 " + str(uuid.uuid4().int)[:6]
        lookup.fill(number)
        page.get_by_text("Chưa có người này trên máy").wait_for()
        page.get_by_role("button", name="Ghi người nộp mới").click()
        page.locator("#f-full_name").wait_for()
        assert page.locator("#f-phone").input_value() == number
    fill_valid_form(page)
    page.locator("#form-next").click()
    camera = page.locator("[data-document='Tờ khai'] input[type=file][capture=environment]")
    camera.set_input_files(document_photo(tmp_path))
    page.locator("li.thumb[data-status=local]").get_by_text("Chờ gửi").wait_for()
    page.locator("#documents-next").click()
    page.locator("#signature-next").click()
    page.get_by_text("Người nộp cần ký").wait_for()  # no signature, no receipt
    draw_signature(page)
    page.get_by_role("button", name="Lưu chữ ký").click()
    page.get_by_text("Đã lưu chữ ký.").wait_for()
    page.locator("#signature-next").click()
    if decision != "receive":  # guide on form 02 or refuse on form 03, before reception (docs/workflow.md)
        dossier_id = page.evaluate("""() => new Promise(ok => indexedDB.open('motcua').onsuccess = e =>
            e.target.result.transaction('meta').objectStore('meta').get('intake_draft').onsuccess = r => ok(r.target.result.id))""")
        button = page.locator("#intake-guide" if decision == "request_supplement" else "#intake-refuse")
        button.click()
        page.locator("#intake-reason-error").wait_for()  # the reason is required
        page.locator("#intake-reason").fill(reason)
        button.click()
        page.wait_for_url("**/app#/queue")
        return dossier_id
    page.get_by_role("button", name="Cấp giấy tiếp nhận").click()
    page.wait_for_url("**/app#/receipt/*")
    page.locator("#receipt").wait_for()
    return page.url.rsplit("/", 1)[1]


def test_field_intake_offline_end_to_end(server, browser, context, phone, tmp_path):  # noqa: F811
    reserved = open_as_intake_officer(phone, server)
    blocks = [b for b in reserved["blocks"] if b["device_id"] == reserved["device_id"]]
    today = (datetime.now(timezone.utc) + timedelta(hours=7)).date().isoformat()
    todays = sorted((b for b in blocks if b["day"] == today), key=lambda b: b["first"])
    assert todays, f"no block for today among {blocks}"

    context.set_offline(True)
    phone.reload()
    phone.get_by_text("Đang ngoại tuyến").wait_for()
    dossier_id = take_dossier_offline(phone, tmp_path)

    # The receipt: a final code from today's block, the appointment, the documents with their pages, a QR code.
    code = phone.locator("#receipt-code").inner_text()
    match = CODE.match(code)
    assert match, f"{code!r} is not {{agency}}-{{yyMMdd}}-{{NNNN}}"
    first = todays[0]
    assert (match["agency"], match["day"]) == (first["agency_code"], vietnam_day())
    assert first["first"] <= int(match["number"]) <= first["last"] and int(match["number"]) not in first.get("used", [])
    assert phone.locator("#receipt-provisional").count() == 0
    assert "ngày" in phone.locator("#receipt-due td").inner_text()
    assert phone.locator("#receipt-citizen td").inner_text() == "Nguyễn Thị Mai"
    assert phone.locator("#receipt-documents tr[data-document='Tờ khai'] td.pages").inner_text() == "1"
    assert phone.locator("#receipt-officer").inner_text() == OFFICERS["intake"].name
    assert phone.get_by_role("img", name="Chữ ký của người nộp").is_visible()
    assert decode_qr(phone) == f"{server.url}/track?code={code}"
    due_shown = phone.locator("#receipt-due td").inner_text()
    # Printed, the page holds the receipt alone: no app header, sync bar or buttons.
    phone.emulate_media(media="print")
    assert phone.locator("#receipt").is_visible() and phone.locator("#receipt-code").is_visible()
    for chrome in ("header.top", "#sync", "#print", "a[href='#/queue']"):
        assert not phone.locator(chrome).first.is_visible(), f"{chrome} is printed"
    phone.emulate_media(media="screen")
    assert phone.locator("#print").is_visible()
    assert len(idb(phone, "outbox")) == 1  # the create, waiting

    # The address names the ward chosen in the form, and its province.
    assert re.search(r", Phường Vĩnh Yên, Tỉnh \w", phone.locator("#receipt-address td").inner_text())
    assert phone.locator("#share").count() == 0  # no Web Share in this browser: no "Chia sẻ"

    # Still offline, a reload shows the same receipt from the phone; where the browser can share (a stand-in here,
    # as Chrome on Android has), "Chia sẻ" hands over the public tracking link while offline.
    phone.add_init_script("""window.__shared = []; navigator.share = async (data) => { window.__shared.push(data); };""")
    phone.reload()
    phone.locator("#receipt").wait_for()
    assert phone.locator("#receipt-code").inner_text() == code
    phone.get_by_role("button", name="Chia sẻ").click()
    phone.wait_for_function("() => window.__shared.length === 1")
    assert phone.evaluate("window.__shared[0].url") == f"{server.url}/track?code={code}"
    phone.get_by_text("Chưa gửi lên máy chủ").wait_for()

    # Back in range: the dossier reaches the server once, received (status 2), with that code; its pages follow.
    context.set_offline(False)
    wait_outbox_empty(phone)
    officer = officer_api(server, "intake")
    dossier = officer.get(f"/api/dossiers/{dossier_id}").json()
    assert (dossier["code"], dossier["status"], dossier["channel"]) == (code, 2, "field")
    assert dossier["data"]["full_name"] == "Nguyễn Thị Mai"
    same_code = [d for d in officer.get("/api/dossiers", params={"limit": 500}).json()["items"] if d["code"] == code]
    assert [d["id"] for d in same_code] == [dossier_id]
    phone.get_by_text("Đã đồng bộ với máy chủ.").wait_for()
    assert phone.locator("#receipt-code").inner_text() == code
    assert phone.locator("#receipt-due td").inner_text() == due_shown, "the server computed another appointment"

    assert phone.evaluate(PAGES_VERIFIED, [dossier_id, 2, WAIT_MS]), "the photo and the signature were not uploaded"
    items = officer.get(f"/api/dossiers/{dossier_id}/attachments").json()["items"]
    assert sorted((i["document"], i["status"]) for i in items) == [("Chữ ký của người nộp", "verified"), ("Tờ khai", "verified")]

    # Another officer's phone (a second device) reserves other numbers: its next code cannot be this one.
    other = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True,
                                locale="vi-VN", service_workers="allow")
    other.set_default_timeout(WAIT_MS)
    a11y.watch(other)
    try:
        second = other.new_page()
        reserved_2 = open_as_intake_officer(second, server)
        assert reserved_2["device_id"] != reserved["device_id"]
        theirs = [b for b in reserved_2["blocks"] if b["device_id"] == reserved_2["device_id"] and b["day"] == today]
        assert theirs and all(not b["first"] <= int(match["number"]) <= b["last"] for b in theirs)
        mine_ranges = [(b["first"], b["last"]) for b in todays]
        assert all(b["last"] < lo or b["first"] > hi for b in theirs for lo, hi in mine_ranges), "blocks overlap"
        a11y.assert_clean(other)
    finally:
        other.close()


def test_without_reserved_numbers_the_receipt_carries_a_provisional_code_replaced_on_sync(server, context, phone, tmp_path):  # noqa: F811
    # A citizen who filed with this ward before: their dossier reaches the officer's phone with the unit's.
    citizen = Api(server.url)
    citizen.sign_in(DEMO_PHONE, DEMO_PASSWORD)
    assert citizen.post("/api/dossiers", {"procedure_code": "TEST.0001", "unit_code": VINH_YEN, "submit": True,
                                          "data": {**VALID_FORM, "full_name": "Ngô Thị Bích"}}).status_code == 201
    open_as_intake_officer(phone, server)
    # This phone's blocks are gone (used up elsewhere, or never reserved): the receipt must say its code is provisional.
    phone.evaluate("""() => new Promise(ok => indexedDB.open('motcua').onsuccess = e => {
        const t = e.target.result.transaction('meta', 'readwrite');
        t.objectStore('meta').put([], 'code_blocks');
        t.oncomplete = ok;
    })""")
    context.set_offline(True)
    phone.reload()
    phone.get_by_text("Đang ngoại tuyến").wait_for()
    dossier_id = take_dossier_offline(phone, tmp_path, known_name="Ngô Thị Bích")
    provisional = phone.locator("#receipt-code").inner_text()
    assert provisional.startswith("TAM-")
    phone.locator("#receipt-provisional").get_by_text("MÃ TẠM").wait_for()

    context.set_offline(False)
    wait_outbox_empty(phone)
    final = officer_api(server, "intake").get(f"/api/dossiers/{dossier_id}").json()["code"]
    assert CODE.match(final) and final != provisional
    phone.locator("#receipt-code").filter(has_text=final).wait_for()
    assert phone.locator("#receipt-provisional").count() == 0


def test_desk_guides_on_form_02_then_receives_the_completed_dossier(server, context, phone, tmp_path):  # noqa: F811
    """Decree 61/2018 Art. 19 / Decree 118/2025, Circular 03/2025 forms 01 and 02: an incomplete walk-in dossier is
    guided in writing before reception and gets no code; when the citizen comes back complete, the officer
    receives it (code, receipt, appointment)."""
    open_as_intake_officer(phone, server)
    missing = "Thiếu bản sao giấy khai sinh của con"
    dossier_id = take_dossier_offline(phone, tmp_path, decision="request_supplement", reason=missing)
    wait_outbox_empty(phone)
    officer = officer_api(server, "intake")
    dossier = officer.get(f"/api/dossiers/{dossier_id}").json()
    assert (dossier["status"], dossier["substatus"], dossier["code"]) == (5, "requested", None)
    events = officer.get(f"/api/dossiers/{dossier_id}/events").json()["items"]
    assert [(e["action"], e["note"]) for e in events][-1] == ("request_supplement", missing)
    # The citizen comes back with the missing paper: the queue offers "Tiếp nhận", not "Đã nhận bổ sung".
    item = phone.locator(f"li.queue-item[data-id='{dossier_id}'][data-status='5']")
    item.wait_for()
    assert item.get_by_role("button", name="Đã nhận bổ sung").count() == 0
    # The office receives only once every page has arrived (the form's photo and the signature upload after the
    # sync round that created the dossier): wait for them as the officer would see them arrive.
    deadline = time.monotonic() + 30
    while any(a["status"] == "pending" for a in officer.get(f"/api/dossiers/{dossier_id}/attachments").json()["items"]):
        assert time.monotonic() < deadline, "the dossier's pages did not arrive"
        time.sleep(0.2)  # polling the server for the uploads
    item.get_by_role("button", name="Tiếp nhận", exact=True).click()
    phone.locator(f"li.queue-item[data-id='{dossier_id}'][data-status='2']").wait_for()
    wait_outbox_empty(phone)
    dossier = officer.get(f"/api/dossiers/{dossier_id}").json()
    assert dossier["status"] == 2 and CODE.match(dossier["code"]) and dossier["received_at"] and dossier["due_at"]


def test_field_refusal_on_form_03_works_offline(server, context, phone, tmp_path):  # noqa: F811
    """Circular 03/2025 form 03 in the field with no network: the create and the refusal are queued together and
    reach the server in order once back online; the dossier is never received and gets no code."""
    open_as_intake_officer(phone, server)
    context.set_offline(True)
    phone.reload()
    phone.get_by_text("Đang ngoại tuyến").wait_for()
    why = "Hồ sơ không thuộc thẩm quyền giải quyết của xã"
    dossier_id = take_dossier_offline(phone, tmp_path, decision="refuse", reason=why)
    queued = [(m["op"], m.get("command")) for m in idb(phone, "outbox")]
    assert queued == [("create", None), ("command", "refuse")], queued
    context.set_offline(False)
    wait_outbox_empty(phone)
    dossier = officer_api(server, "intake").get(f"/api/dossiers/{dossier_id}").json()
    assert (dossier["status"], dossier["code"], dossier["received_at"], dossier["channel"]) == (3, None, None, "field")
