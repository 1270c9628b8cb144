"""Document pages in the app: a photo added offline is kept with its draft, survives a reload, and once the
dossier exists on the server it is registered, uploaded with visible progress and verified by the server.

Same real Chromium and server as tests/test_pwa.py (whose fixtures and helpers this module reuses).
"""

from __future__ import annotations

import time
from pathlib import Path

from PIL import Image, ImageDraw

from tests.conftest import OFFICERS, officer_api
from tests.test_pwa import (NEW_PASSWORD, browser, citizen_api, context, fill_valid_form,  # noqa: F401 - fixtures
                            new_citizen, open_app, phone, sign_in, start_draft)

PAGES = """(id) => new Promise(ok => indexedDB.open('motcua-pages').onsuccess = e =>
    e.target.result.transaction('pages').objectStore('pages').getAll().onsuccess =
        r => ok(r.target.result.filter(p => p.dossier_id === id).map(p => ({id: p.id, size: p.size, sha256: p.sha256,
            blob: p.blob.size, status: p.status}))))"""

# The submit has been applied by the server and pulled back: no longer a draft, no longer waiting to be sent.
# Polled inside the page: wait_for_function would take a returned promise itself as a true answer.
SUBMITTED = """async ([id, ms]) => {
    const read = () => new Promise(ok => indexedDB.open('motcua').onsuccess = e =>
        e.target.result.transaction('dossiers').objectStore('dossiers').get(id).onsuccess =
            r => ok(Boolean(r.target.result && r.target.result.status > 0 && !r.target.result.pending_submit)));
    for (const end = Date.now() + ms; Date.now() < end; await new Promise(r => setTimeout(r, 100))) {
        if (await read()) return true;
    }
    return false;
}"""


def camera_photo(folder: Path) -> Path:
    """A 12-megapixel phone photo of a printed page: 4000×3000, lines of 'text' on white."""
    image = Image.new("RGB", (4000, 3000), "white")
    draw = ImageDraw.Draw(image)
    for row in range(60):
        y = 150 + row * 45
        draw.rectangle([200, y, 200 + (row * 137) % 3400 + 200, y + 18], fill=(30, 30, 30))
    path = folder / "to-khai.jpg"
    image.save(path, "JPEG", quality=92)
    return path


def add_photo_offline(server, context, phone, tmp_path) -> tuple[str, str]:
    """A new citizen's draft with one photographed page, made offline; returns (phone number, dossier id)."""
    number = new_citizen(server)
    open_app(phone, server)
    sign_in(phone, number, NEW_PASSWORD)
    context.set_offline(True)
    phone.reload()
    dossier_id = start_draft(phone)
    fill_valid_form(phone)
    camera = phone.locator("[data-document='Tờ khai'] input[type=file][capture=environment]")
    camera.set_input_files(camera_photo(tmp_path))
    phone.locator("li.thumb[data-status=local]").get_by_text("Chờ gửi").wait_for()
    return number, dossier_id


def test_a_photo_added_offline_survives_a_reload_and_uploads_verified(server, context, phone, tmp_path):
    number, dossier_id = add_photo_offline(server, context, phone, tmp_path)
    assert phone.locator("#pages-space").inner_text() != "Dung lượng trên máy: 0,0 MB"
    stored = phone.evaluate(PAGES, dossier_id)
    assert len(stored) == 1 and stored[0]["blob"] == stored[0]["size"]
    assert stored[0]["size"] < 2 * 1024 * 1024, "the 12-megapixel photo was stored without being shrunk"

    phone.reload()
    thumb = phone.locator("li.thumb").filter(has=phone.get_by_role("img", name="Tờ khai, trang 1"))
    thumb.get_by_text("Chờ gửi").wait_for()
    assert phone.evaluate(PAGES, dossier_id) == stored

    # Hold the upload until its progress bars are on screen, then let it through.
    held = []
    context.route("**/files/upload/**", lambda route: held.append(route))
    context.set_offline(False)
    page_id = stored[0]["id"]
    phone.locator(f"#progress-{page_id}").wait_for(state="visible")
    phone.locator("#pages-progress").wait_for(state="visible")
    phone.get_by_text("Đang tải lên…").wait_for()
    deadline = time.monotonic() + 20
    while not held and time.monotonic() < deadline:  # each call lets Playwright dispatch the route event
        phone.wait_for_function("() => true")
    assert len(held) == 1 and held[0].request.method == "PUT"
    held[0].continue_()
    context.unroute("**/files/upload/**")

    thumb.get_by_text("Đã gửi và kiểm tra").wait_for()
    phone.wait_for_function("() => document.querySelector('#pages-progress').value === 100")

    items = citizen_api(server, number, NEW_PASSWORD).get(f"/api/dossiers/{dossier_id}/attachments").json()["items"]
    assert [(i["id"], i["status"], i["document"], i["page"], i["size"], i["sha256"]) for i in items] == [
        (page_id, "verified", "Tờ khai", 1, stored[0]["size"], stored[0]["sha256"])]

    # Once the dossier is submitted to Vĩnh Yên, that ward's intake officer sees the verified page too.
    phone.get_by_role("button", name="Nộp hồ sơ").click()
    assert phone.evaluate(SUBMITTED, [dossier_id, 30_000]), "the submission never reached the server"
    officer = officer_api(server, "intake")
    assert OFFICERS["intake"].unit == "08707"
    seen = officer.get(f"/api/dossiers/{dossier_id}/attachments").json()["items"]
    assert [(i["id"], i["status"]) for i in seen] == [(page_id, "verified")]
    assert "download_url" in seen[0]


def test_an_upload_cut_off_is_sent_again_and_verified(server, context, phone, tmp_path):
    number, dossier_id = add_photo_offline(server, context, phone, tmp_path)
    puts = []

    def cut_first(route):
        puts.append(route.request.url)
        if len(puts) == 1:
            route.abort("connectionreset")
        else:
            route.continue_()

    context.route("**/files/upload/**", cut_first)
    context.set_offline(False)
    phone.locator("li.thumb").get_by_text("Đã gửi và kiểm tra").wait_for()
    assert len(puts) == 2 and puts[0] != puts[1], "the retry should use a fresh upload link"
    items = citizen_api(server, number, NEW_PASSWORD).get(f"/api/dossiers/{dossier_id}/attachments").json()["items"]
    assert [i["status"] for i in items] == ["verified"]
