"""Document pages in the app: a photo added offline is kept with its draft, survives a reload, and once the
dossier exists on the server it is registered, uploaded with visible progress and verified by the server.

Same real Chromium and server as tests/test_pwa.py (whose fixtures and helpers this module reuses).
"""

from __future__ import annotations

import re
import time
from pathlib import Path

from PIL import Image, ImageDraw

from tests.conftest import OFFICERS, officer_api, start_server
from tests.test_attachments_http import officer_command
from tests.test_pwa import (NEW_PASSWORD, browser, citizen_api, context, edited_draft, fill_valid_form, idb,  # noqa: F401 - fixtures
                            new_citizen, open_app, phone, sign_in, start_draft, wait_outbox_empty)

PAGES = """(id) => new Promise(ok => indexedDB.open('motcua-pages').onsuccess = e =>
    e.target.result.transaction('pages').objectStore('pages').getAll().onsuccess =
        r => ok(r.target.result.filter(p => p.dossier_id === id).map(p => ({id: p.id, size: p.size, sha256: p.sha256,
            blob: p.blob.size, type: p.blob.type, content_type: p.content_type, status: p.status}))))"""

# The same photo through the app's own photo.js (the hashed module the shell preloads), written as JPEG: the size
# WebP is measured against. The file comes from the input #jpeg-path that the test fills.
JPEG_PATH_BYTES = """async () => {
    const url = document.querySelector('link[rel=modulepreload][href*="/js/photo."]').href;
    const photo = await import(url);
    const out = await photo.shrinkPhoto(document.querySelector('#jpeg-path').files[0], {type: 'image/jpeg'});
    return {bytes: out.bytes, type: out.blob.type};
}"""

# The photo worker's script, started while offline, came from the service worker's precache.
PRECACHED = "(url) => caches.match(url).then(r => Boolean(r))"
HASHED_WORKER = re.compile(r"/static/js/photo-worker\.[0-9a-f]{10}\.js$")

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


def add_photo_offline(server, context, phone, tmp_path, workers: list | None = None) -> tuple[str, str]:
    """A new citizen's draft with one photographed page, made offline on a fresh install (online once, then
    offline and reloaded); returns (phone number, dossier id). `workers` collects the URLs of workers started."""
    number = new_citizen(server)
    open_app(phone, server)
    sign_in(phone, number, NEW_PASSWORD)
    context.set_offline(True)
    phone.reload()
    if workers is not None:
        phone.on("worker", lambda worker: workers.append(worker.url))
    dossier_id = start_draft(phone)
    fill_valid_form(phone)
    camera = phone.locator("[data-document='Tờ khai'] input[type=file][capture=environment]")
    camera.set_input_files(camera_photo(tmp_path))
    phone.locator("li.thumb[data-status=local]").get_by_text("Chờ gửi").wait_for()
    return number, dossier_id


def test_a_photo_added_offline_survives_a_reload_and_uploads_verified(server, context, phone, tmp_path):
    workers: list[str] = []
    number, dossier_id = add_photo_offline(server, context, phone, tmp_path, workers)
    # A WebP page is tens of KB: shown in KB, never as "0,0 MB".
    assert re.fullmatch(r"Dung lượng trên máy: \d+,\d KB", phone.locator("#pages-space").inner_text())
    stored = phone.evaluate(PAGES, dossier_id)
    assert len(stored) == 1 and stored[0]["blob"] == stored[0]["size"]
    assert stored[0]["size"] < 2 * 1024 * 1024, "the 12-megapixel photo was stored without being shrunk"
    # Shrunk offline in the photo worker, started from its hashed URL out of the precache (the unhashed one was
    # never cached, so a fresh install shrank on the main thread, freezing the form), and written as WebP.
    started = [url for url in workers if "photo-worker" in url]
    assert started and all(HASHED_WORKER.search(url) for url in started), workers
    assert phone.evaluate(PRECACHED, started[0])
    assert (stored[0]["type"], stored[0]["content_type"]) == ("image/webp", "image/webp")
    phone.evaluate("() => { const i = document.createElement('input'); i.type = 'file'; i.id = 'jpeg-path';"
                   " i.hidden = true; document.body.append(i); }")
    phone.set_input_files("#jpeg-path", camera_photo(tmp_path))
    jpeg = phone.evaluate(JPEG_PATH_BYTES)
    assert jpeg["type"] == "image/jpeg" and stored[0]["size"] < jpeg["bytes"], (stored[0]["size"], jpeg)

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
    assert [(i["id"], i["status"], i["document"], i["page"], i["size"], i["sha256"], i["content_type"])
            for i in items] == [(page_id, "verified", "Tờ khai", 1, stored[0]["size"], stored[0]["sha256"], "image/webp")]

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


def small_photo(folder: Path, name: str, shade: int) -> Path:
    """A small photo of a page (800×600); `shade` makes each one's bytes, and so its SHA-256, its own."""
    image = Image.new("RGB", (800, 600), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    for row in range(12):
        draw.rectangle([40, 40 + row * 40, 40 + (row * 97 + shade * 31) % 700, 52 + row * 40], fill=(shade, 30, 30))
    path = folder / name
    image.save(path, "JPEG", quality=85)
    return path


def server_pages(server, number: str, dossier_id: str) -> list[tuple[str, int, str]]:
    items = citizen_api(server, number, NEW_PASSWORD).get(f"/api/dossiers/{dossier_id}/attachments").json()["items"]
    return sorted((i["id"], i["page"], i["status"]) for i in items)


def thumbs(phone) -> list[str]:
    """The page ids of the 'Tờ khai' document, in the order shown."""
    return phone.locator("[data-document='Tờ khai'] li.thumb").evaluate_all("(items) => items.map(i => i.dataset.page)")


def test_pages_reordered_before_and_after_upload_reach_the_server_in_that_order(server, context, phone, tmp_path):
    number, dossier_id = edited_draft(phone, server, offline=context)
    chooser = phone.locator("[data-document='Tờ khai'] input[type=file]:not([capture])")
    chooser.set_input_files([small_photo(tmp_path, "trang-a.jpg", 10), small_photo(tmp_path, "trang-b.jpg", 90)])
    phone.locator("[data-document='Tờ khai'] li.thumb").nth(1).wait_for()
    first, second = thumbs(phone)

    # Before upload, offline: the second page moves up with a button (no drag, no hover).
    top = phone.get_by_role("button", name="Chuyển lên trang 1")
    assert top.is_disabled()
    phone.get_by_role("button", name="Chuyển lên trang 2").click()
    phone.wait_for_function("([a, b]) => [...document.querySelectorAll(\"[data-document='Tờ khai'] li.thumb\")]"
                            ".map(i => i.dataset.page).join() === [b, a].join()", arg=[first, second])
    phone.reload()  # the order is kept on the phone
    phone.locator("[data-document='Tờ khai'] li.thumb").nth(1).wait_for()
    assert thumbs(phone) == [second, first]

    context.set_offline(False)
    phone.locator("[data-document='Tờ khai'] li.thumb[data-status=verified]").nth(1).wait_for()
    assert server_pages(server, number, dossier_id) == sorted([(second, 1, "verified"), (first, 2, "verified")])

    # After upload: moving it back down renumbers both pages on the server (PATCH /api/attachments/{id}).
    phone.get_by_role("button", name="Chuyển xuống trang 1").click()
    deadline = time.monotonic() + 20
    wanted = sorted([(first, 1, "verified"), (second, 2, "verified")])
    while server_pages(server, number, dossier_id) != wanted and time.monotonic() < deadline:
        phone.wait_for_function("() => true")  # polling the server for the result, not a fixed wait
    assert server_pages(server, number, dossier_id) == wanted
    assert thumbs(phone) == [first, second]


def test_a_pdf_page_shows_its_name_and_size_and_opens_in_a_new_tab(server, context, phone, tmp_path):
    number = new_citizen(server)
    open_app(phone, server)
    sign_in(phone, number, NEW_PASSWORD)
    dossier_id = start_draft(phone)
    pdf = tmp_path / "giay-khai-sinh.pdf"
    pdf.write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n" + b"0" * 3000 + b"\ntrailer << >>\n%%EOF\n")
    phone.locator("[data-document='Tờ khai'] input[type=file]:not([capture])").set_input_files(pdf)
    link = phone.get_by_role("link", name="Mở tệp PDF giay-khai-sinh.pdf, trang 1")
    link.wait_for()
    assert "giay-khai-sinh.pdf" in link.inner_text() and "3,0 KB" in link.inner_text()
    assert phone.locator("[data-document='Tờ khai'] li.thumb img").count() == 0

    href = link.get_attribute("href")
    assert href.startswith("blob:") and link.get_attribute("target") == "_blank"
    stored = phone.evaluate(PAGES, dossier_id)
    assert stored[0]["blob"] == pdf.stat().st_size  # the very file, untouched by the photo shrinker
    with context.expect_page() as opened:
        link.click()
    assert opened.value.url == href

    # It is sent and verified like a photo.
    phone.locator("[data-document='Tờ khai'] li.thumb[data-status=verified]").wait_for()
    assert [status for _, _, status in server_pages(server, number, dossier_id)] == ["verified"]


def test_the_owner_adds_a_page_when_a_supplement_is_requested(server, context, phone, tmp_path):
    number, dossier_id = edited_draft(phone, server)
    phone.get_by_role("button", name="Nộp hồ sơ").click()
    assert phone.evaluate(SUBMITTED, [dossier_id, 30_000]), (
        f"the submission never reached the server; outbox: {idb(phone, 'outbox')}; sync: {phone.locator('#sync').inner_text()!r}; "
        f"summary: {phone.locator('#summary').inner_text() if phone.locator('#summary').count() else None!r}; "
        f"status: {phone.locator('#dossier-status').inner_text()!r}")
    phone.locator("#status").filter(has_text="Đã nộp, chờ tiếp nhận").wait_for()
    assert phone.locator("#pages input[type=file]").count() == 0  # sent: nothing to add until asked

    officer = officer_api(server, "intake")
    result = officer_command(officer, dossier_id, "request_supplement", reason="Thiếu ảnh trang 2 của tờ khai")
    assert result["status"] == "applied", result
    phone.locator("#send-now").click()  # pull now rather than wait for the 5-minute pull
    phone.locator("#status").filter(has_text="Cần bổ sung hồ sơ").wait_for()

    phone.locator("[data-document='Tờ khai'] input[type=file]:not([capture])").set_input_files(
        small_photo(tmp_path, "trang-2.jpg", 50))
    phone.locator("[data-document='Tờ khai'] li.thumb").get_by_text("Đã gửi và kiểm tra").wait_for()
    pages = server_pages(server, number, dossier_id)
    assert [(page, status) for _, page, status in pages] == [(1, "verified")]
    # The unit's officer sees the new page.
    seen = officer.get(f"/api/dossiers/{dossier_id}/attachments").json()["items"]
    assert [i["id"] for i in seen] == [pages[0][0]]


def test_uploads_wait_for_retry_after_while_the_store_is_down_and_nothing_is_lost(seeded_env, context, phone, tmp_path):
    # A server of its own (same database), whose file store can be stopped: its folder replaced by a plain file.
    data_dir = tmp_path / "data"
    own = start_server({**seeded_env, "MOTCUA_DATA_DIR": str(data_dir)}, cwd=tmp_path, data_dir=data_dir)
    try:
        blobs, away = data_dir / "blobs", data_dir / "blobs-away"
        number = new_citizen(own)
        open_app(phone, own)
        sign_in(phone, number, NEW_PASSWORD)
        dossier_id = start_draft(phone)
        fill_valid_form(phone)
        wait_outbox_empty(phone)
        seen: list[tuple[float, str, str]] = []
        phone.on("request", lambda r: seen.append((time.monotonic(), r.method, r.url)) if "/api/attachments" in r.url else None)
        answers: list[tuple[float, int, str]] = []

        def store_down_once(route):
            if answers:
                route.continue_()
                return
            blobs.rename(away)
            blobs.write_text("the store is down")
            try:
                response = route.fetch()  # the real server's answer with its store down
            finally:
                blobs.unlink()
                away.rename(blobs)
            answers.append((time.monotonic(), response.status, response.headers.get("retry-after", "")))
            # A short Retry-After for the test (the server says 30 s); the app must wait that long, not its 1 s backoff.
            route.fulfill(response=response, headers={**response.headers, "retry-after": "3"})

        context.route("**/api/attachments/*/finalize", store_down_once)
        phone.locator("[data-document='Tờ khai'] input[type=file]:not([capture])").set_input_files(
            small_photo(tmp_path, "to-khai.jpg", 70))
        thumb = phone.locator("[data-document='Tờ khai'] li.thumb")
        thumb.get_by_text("Đã gửi và kiểm tra").wait_for()
        assert answers and answers[0][1] == 503 and answers[0][2] == "30"
        failed_at = answers[0][0]
        later = [(at, method, url) for at, method, url in seen if at > failed_at]
        assert later, "the page was never tried again"
        assert later[0][0] - failed_at >= 2.9, f"retried {later[0][0] - failed_at:.2f} s after a Retry-After of 3 s"
        local = phone.evaluate(PAGES, dossier_id)
        items = citizen_api(own, number, NEW_PASSWORD).get(f"/api/dossiers/{dossier_id}/attachments").json()["items"]
        assert [(i["id"], i["status"], i["sha256"], i["size"]) for i in items] == [
            (local[0]["id"], "verified", local[0]["sha256"], local[0]["size"])]
    finally:
        own.stop()


def test_retry_after_is_read_in_seconds_or_as_an_http_date(browser):
    from tests.browser import serve_static

    with serve_static() as origin:
        page = browser.new_page()
        try:
            page.goto(origin + "/manifest.webmanifest")  # any page of that origin, to import the module from
            read = page.evaluate("""async () => {
                const { retryAfterMs } = await import('/js/upload.js');
                const now = Date.parse('2026-07-01T08:00:00Z');
                return [retryAfterMs('3', now), retryAfterMs(' 120 ', now), retryAfterMs('Wed, 01 Jul 2026 08:00:30 GMT', now),
                        retryAfterMs('Wed, 01 Jul 2026 07:00:00 GMT', now), retryAfterMs('soon', now), retryAfterMs(null, now)];
            }""")
        finally:
            page.close()
    assert read == [3000, 120_000, 30_000, 0, None, None]
