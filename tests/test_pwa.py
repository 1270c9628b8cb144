"""The installable offline app (/app) in a real Chromium at a phone's size, against a real server on loopback.

Each test starts from a fresh browser profile: the service worker, IndexedDB and the outbox are its own.
"""

from __future__ import annotations

import gzip
import io
import json
import shutil
import time
import uuid
from pathlib import Path

import httpx
import pytest
from PIL import Image
from playwright.sync_api import TimeoutError as PlaywrightTimeout, expect

from tests import a11y, conftest
from tests.conftest import ROOT, VALID_FORM, Api, start_server

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]
DEMO_PHONE, DEMO_PASSWORD = "0912345678", "congdan123"
WAIT_MS = 20_000

@pytest.fixture(scope="module")
def browser():
    assert CHROMIUM.exists(), "Chromium is missing (apt-get install chromium)"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=FLAGS)
        yield browser
        browser.close()


# A phone on Wi-Fi as the browser reports it (navigator.connection): it downloads every form in advance
# (catalog.js prefetchesAllForms), so the tests below can draft any procedure offline. Headless Chromium on Linux
# reports no connection type (and DevTools' emulation cannot set one), hence the stub. A phone the browser says is
# on mobile data (CELLULAR) fetches each form when its procedure is opened: test_citizens_get_forms_on_demand_….
WIFI = """Object.defineProperty(Navigator.prototype, "connection", {configurable: true, get: () => ({
    type: "wifi", effectiveType: "4g", saveData: false, addEventListener() {}, removeEventListener() {}})});"""
CELLULAR = WIFI.replace('type: "wifi"', 'type: "cellular"')


def new_phone(browser, connection: str | None = WIFI):
    context = browser.new_context(viewport={"width": 360, "height": 740}, device_scale_factor=2, is_mobile=True,
                                  has_touch=True, locale="vi-VN", service_workers="allow")
    if connection:
        context.add_init_script(connection)
    context.set_default_timeout(WAIT_MS)
    a11y.watch(context)  # axe-core on each new screen (tests/a11y.py)
    return context


@pytest.fixture
def context(browser):
    context = new_phone(browser)
    try:
        yield context
        a11y.assert_clean(context)
    finally:
        # A round still in flight when the test ends must not fail in a route handler as the context closes.
        context.unroute_all(behavior="ignoreErrors")
        context.close()


@pytest.fixture
def phone(context):
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    assert not errors, f"script errors in the app: {errors}"


def open_app(page, server) -> None:
    """First visit: the shell loads, the worker takes control, the catalog reaches IndexedDB."""
    page.goto(server.url + "/app")
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    page.locator("body[data-ready]").wait_for(state="attached")
    page.get_by_text("thủ tục", exact=False).first.wait_for()


def sign_in(page, phone: str = DEMO_PHONE, password: str = DEMO_PASSWORD) -> None:
    page.goto(page.url.split("#")[0] + "#/signin")
    page.get_by_label("Số điện thoại").fill(phone)
    page.get_by_label("Mật khẩu").fill(password)
    page.get_by_role("button", name="Đăng nhập").click()
    page.get_by_role("heading", name="Hồ sơ của tôi").wait_for()
    page.wait_for_function("() => !document.body.textContent.includes('Hãy đăng nhập để gửi')")


def open_menu(page) -> None:
    """The header's menu (one row at 360 px): its button opens the navigation (sign in or out, outbox, language…)."""
    button = page.locator("#menu-button")
    if button.get_attribute("aria-expanded") != "true":
        button.click()
    page.locator("#account").wait_for()


def start_draft(page) -> str:
    page.get_by_label("Tìm thủ tục").fill("thu nghiem ho gia dinh")
    page.get_by_role("link", name="Thủ tục thử nghiệm đăng ký hộ gia đình", exact=True).click()
    page.get_by_role("button", name="Lập hồ sơ").click()
    page.wait_for_url("**/app#/d/*")
    page.locator("#f-full_name").wait_for()
    return page.url.rsplit("/", 1)[1]


def fill_valid_form(page) -> None:
    page.locator("#f-full_name").fill(VALID_FORM["full_name"])
    page.locator("#f-birth_date").fill(VALID_FORM["birth_date"])
    page.get_by_label("Nữ").check()
    page.locator("#f-cccd").fill(VALID_FORM["cccd"])
    page.locator("#f-phone").fill(VALID_FORM["phone"])
    page.locator("#f-address-filter").fill("vinh yen")
    page.locator("#f-address-commune").select_option(VALID_FORM["address"]["commune_code"])
    page.locator("#f-address-detail").fill(VALID_FORM["address"]["detail"])
    page.get_by_role("button", name="Thêm thành viên hộ gia đình").click()
    page.locator("#f-members-0-full_name").fill(VALID_FORM["members"][0]["full_name"])


def submit_draft(page) -> None:
    """Tap "Nộp hồ sơ" until the draft view is gone. A sync round that ends while the finger comes down redraws
    the dossier, and the tap lands on the detached button: the person would simply tap again."""
    for _ in range(3):
        page.get_by_role("button", name="Nộp hồ sơ").click()
        try:
            page.locator("#submit").wait_for(state="detached", timeout=5000)
            return
        except PlaywrightTimeout:
            continue
    raise AssertionError("the draft was never submitted")


# Requests are intercepted with context.route, which sees the requests of the page and of its service worker.
OUTBOX = """() => new Promise(ok => indexedDB.open('motcua').onsuccess = e =>
    e.target.result.transaction('outbox').objectStore('outbox').getAll().onsuccess = r => ok(r.target.result))"""


def saved(page) -> None:
    """Every change is in IndexedDB once the editor says so."""
    page.locator("#saved").filter(has_text="Đã lưu trên máy").wait_for()


def citizen_api(server, phone: str = DEMO_PHONE, password: str = DEMO_PASSWORD) -> Api:
    api = Api(server.url)
    api.sign_in(phone, password)
    return api


NEW_PASSWORD = "matkhau-an-toan"


def new_citizen(server) -> str:
    """A citizen of their own, so that no other test's dossiers reach this phone."""
    phone = "09" + str(uuid.uuid4().int)[:8]
    response = Api(server.url).post("/api/accounts", {"phone": phone, "password": NEW_PASSWORD, "full_name": "Đỗ Thị Lan"})
    assert response.status_code == 201, response.text
    return phone


def edited_draft(page, server, *, name: str | None = None, offline=None) -> tuple[str, str]:
    """The common start of a citizen's story: a new citizen of their own, the app opened and signed in, a draft of
    the test procedure started and edited — its name set to `name`, else the whole valid form filled — and kept on
    the phone. With `offline` (the browser context) the phone goes offline and reloads before the draft is started.
    Returns (the citizen's phone number, the dossier id)."""
    number = new_citizen(server)
    open_app(page, server)
    sign_in(page, number, NEW_PASSWORD)
    if offline is not None:
        offline.set_offline(True)
        page.reload()
        page.get_by_text("Đang ngoại tuyến").wait_for()
    dossier_id = start_draft(page)
    if name is None:
        fill_valid_form(page)
    else:
        page.locator("#f-full_name").fill(name)
    saved(page)
    return number, dossier_id


def sent_body(request) -> dict:
    raw = request.post_data_buffer
    return json.loads(gzip.decompress(raw) if request.headers.get("content-encoding") == "gzip" else raw)


def idb(page, store: str) -> list:
    return page.evaluate("""(name) => new Promise(ok => indexedDB.open('motcua').onsuccess = e =>
        e.target.result.transaction(name).objectStore(name).getAll().onsuccess = r => ok(r.target.result))""", store)


def idb_meta(page, key: str):
    return page.evaluate("""(key) => new Promise(ok => indexedDB.open('motcua').onsuccess = e =>
        e.target.result.transaction('meta').objectStore('meta').get(key).onsuccess = r => ok(r.target.result ?? null))""", key)


def wait_outbox_empty(page) -> None:
    """Every change made so far has had its final answer: the outbox in IndexedDB is empty, then the indicator says so.

    The check polls IndexedDB inside the page (wait_for_function would take the promise itself as a true answer).
    """
    emptied = page.evaluate("""async (ms) => {
        const count = () => new Promise(ok => indexedDB.open('motcua').onsuccess = e =>
            e.target.result.transaction('outbox').objectStore('outbox').count().onsuccess = r => ok(r.target.result));
        for (const end = Date.now() + ms; Date.now() < end; await new Promise(r => setTimeout(r, 100))) {
            if (await count() === 0) return true;
        }
        return false;
    }""", WAIT_MS)
    assert emptied, "the outbox did not empty"
    page.locator("#waiting").filter(has_text="Chờ gửi: 0").wait_for()


def test_manifest_icons_and_service_worker_meet_the_install_criteria(server, phone):
    http = httpx.Client(base_url=server.url)
    manifest = http.get("/manifest.webmanifest")
    assert manifest.headers["content-type"].startswith("application/manifest+json")
    data = manifest.json()
    assert (data["name"], data["short_name"]) == ("Một cửa — Dịch vụ công", "Một cửa")
    assert (data["start_url"], data["display"], data["lang"], data["theme_color"]) == ("/app", "standalone", "vi", "#b3261e")
    sizes = {}
    for icon in data["icons"]:
        response = http.get(icon["src"])
        assert response.status_code == 200 and response.headers["cache-control"] == "public, max-age=31536000, immutable"
        width, height = Image.open(io.BytesIO(response.content)).size
        assert icon["sizes"] == f"{width}x{height}"
        sizes.setdefault(icon.get("purpose", "any"), set()).add(width)
    assert {192, 512} <= sizes["any"] and 512 in sizes["maskable"]

    worker = http.get("/sw.js")
    assert worker.headers["service-worker-allowed"] == "/" and worker.headers["cache-control"] == "no-cache"
    precache = json.loads(worker.text.split("self.__PRECACHE = ", 1)[1].split(";\n", 1)[0])
    assert "/app" in precache
    for url in precache[1:]:
        stem = url.rsplit("/", 1)[1]
        assert len(stem.split(".")) == 3, f"{url} is not content-hashed"
        response = http.get(url, headers={"accept-encoding": "gzip"})
        assert response.status_code == 200 and "immutable" in response.headers["cache-control"]
        assert response.headers.get("content-encoding") == "gzip"
    # The officers' screens are neither precached nor preloaded: a citizen's first visit never downloads them.
    shell = http.get("/app").text
    for officer_module in ("/js/queue.", "/js/intake.", "/js/receipt.", "/js/qr.", "/js/signature."):
        assert not any(officer_module in url for url in precache) and officer_module not in shell
    on_demand = json.loads(worker.text.split("self.__ON_DEMAND = ", 1)[1].split(";\n", 1)[0])
    assert any("/js/queue." in url for url in on_demand)

    phone.goto(server.url + "/app")
    script = phone.evaluate("navigator.serviceWorker.ready.then(r => r.active.scriptURL)")
    assert script == server.url + "/sw.js"
    assert phone.evaluate("document.querySelector('link[rel=manifest]').href") == server.url + "/manifest.webmanifest"
    # no inline script anywhere: the page works under the server's CSP (script-src 'self')
    assert "script-src 'self'" in http.get("/app").headers["content-security-policy"]


def test_shell_and_catalog_work_offline_after_the_first_visit(server, context, phone):
    open_app(phone, server)
    context.set_offline(True)
    phone.reload()
    phone.get_by_text("Đang ngoại tuyến").wait_for()
    phone.get_by_label("Tìm thủ tục").fill("thu nghiem dang ky ho gia dinh")  # no diacritics
    link = phone.get_by_role("link", name="Thủ tục thử nghiệm đăng ký hộ gia đình", exact=True)
    link.click()
    phone.get_by_role("heading", name="Thành phần hồ sơ").wait_for()
    phone.get_by_role("button", name="Lập hồ sơ").wait_for()
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_a_draft_made_offline_is_still_there_after_a_reload(server, context, phone):
    open_app(phone, server)
    context.set_offline(True)
    phone.reload()
    draft = start_draft(phone)
    phone.locator("#f-full_name").fill("Trần Thị Hạnh")
    phone.locator("#f-birth_date").fill("1990-02-03")
    phone.get_by_label("Nam", exact=True).check()
    phone.get_by_role("button", name="Thêm thành viên hộ gia đình").click()
    phone.locator("#f-members-0-full_name").fill("Trần Văn Long")
    phone.locator("#f-cccd").fill("12345")  # not valid yet: kept on the phone, shown with its error
    phone.get_by_text("Số định danh cá nhân phải gồm đúng 12 chữ số").wait_for()
    saved(phone)

    phone.reload()
    phone.get_by_role("link", name="‹ Danh mục").click()
    phone.get_by_role("heading", name="Hồ sơ của tôi").wait_for()
    card = phone.locator(f".dossier[data-id='{draft}']")
    card.get_by_text("Trần Thị Hạnh").wait_for()
    # Every card has the same buttons: their names say which dossier (a screen reader lists links out of their card).
    expect(card.get_by_role("link", name="Tiếp tục")).to_have_accessible_name(
        "Tiếp tục: Thủ tục thử nghiệm đăng ký hộ gia đình, Trần Thị Hạnh")
    expect(card.get_by_role("button", name="Xoá")).to_have_accessible_name(
        "Xoá: Thủ tục thử nghiệm đăng ký hộ gia đình, Trần Thị Hạnh")
    card.get_by_role("link", name="Tiếp tục").click()
    assert phone.locator("#f-full_name").input_value() == "Trần Thị Hạnh"
    assert phone.locator("#f-birth_date").input_value() == "03/02/1990"  # day first, whatever the browser (dates.js)
    assert phone.get_by_label("Nam", exact=True).is_checked()
    assert phone.locator("#f-members-0-full_name").input_value() == "Trần Văn Long"
    assert phone.locator("#f-cccd").input_value() == "12345"


def test_the_outbox_survives_a_reload(server, context, phone):
    open_app(phone, server)
    sign_in(phone)
    context.set_offline(True)
    phone.reload()
    phone.get_by_text("Đang ngoại tuyến").wait_for()
    start_draft(phone)
    phone.locator("#f-full_name").fill("Lê Văn Tám")
    saved(phone)
    before = phone.evaluate(OUTBOX)
    assert any(m.get("changes", {}).get("form.full_name", {}).get("value") == "Lê Văn Tám" for m in before)
    phone.reload()
    phone.locator("#waiting").filter(has_text="Chờ gửi: 1").wait_for()  # one dossier waits
    phone.goto(server.url + "/app#/outbox")
    item = phone.locator(f"#outbox li[data-dossier='{before[0]['entity_id']}']")
    expect(item.locator(".person")).to_have_text("Lê Văn Tám")
    expect(item.locator(".waiting-what")).to_have_text("Chờ gửi: hồ sơ mới")
    assert phone.evaluate(OUTBOX) == before


def test_submitted_offline_it_waits_then_reaches_the_server_when_online(server, context, phone):
    open_app(phone, server)
    sign_in(phone)
    context.set_offline(True)
    phone.reload()
    phone.get_by_text("Đang ngoại tuyến").wait_for()
    dossier_id = start_draft(phone)
    fill_valid_form(phone)
    phone.get_by_role("button", name="Nộp hồ sơ").click()
    phone.locator("#status").filter(has_text="Chờ gửi").wait_for()

    context.set_offline(False)  # the online event starts a round; reachability is checked by a real request
    phone.locator("#status").filter(has_text="Đã nộp, chờ tiếp nhận").wait_for()
    wait_outbox_empty(phone)
    assert phone.get_by_text("Đang ngoại tuyến").is_hidden()

    dossier = citizen_api(server).get(f"/api/dossiers/{dossier_id}").json()
    assert dossier["status"] == 1 and dossier["unit"]["code"] == VALID_FORM["address"]["commune_code"]
    form = dossier["data"]
    assert form["full_name"] == VALID_FORM["full_name"] and form["phone"] == "0912345678"
    assert form["address"] == VALID_FORM["address"] and form["members"] == VALID_FORM["members"]

    # The status timeline, as the server records it, shows on the dossier and stays readable offline.
    phone.reload()
    timeline = phone.locator("#timeline li")
    timeline.filter(has_text="Đã nộp, chờ tiếp nhận").wait_for()
    assert "Phường Vĩnh Yên" in timeline.last.inner_text()
    context.set_offline(True)
    phone.reload()
    phone.locator("#timeline").filter(has_text="bản lưu trên máy").wait_for()
    assert phone.locator("#timeline li").filter(has_text="Đã nộp, chờ tiếp nhận").count() == 1


def test_a_sync_request_cut_halfway_is_retried_and_applied_once(server, context, phone):
    open_app(phone, server)
    sign_in(phone)
    wait_outbox_empty(phone)
    rounds: list[dict] = []

    def cut_the_first(route):
        if any(r["cut"] for r in rounds):
            response = route.fetch()
            rounds.append({"cut": False, "sent": json.loads(gzip.decompress(route.request.post_data_buffer)
                           if route.request.headers.get("content-encoding") == "gzip" else route.request.post_data_buffer),
                           "answer": response.json()})
            route.fulfill(response=response)
            return
        response = route.fetch()  # the server receives and commits it; the phone never hears back
        sent = route.request.post_data_buffer
        if route.request.headers.get("content-encoding") == "gzip":
            sent = gzip.decompress(sent)
        rounds.append({"cut": True, "sent": json.loads(sent), "answer": response.json()})
        route.abort("connectionreset")

    context.set_offline(True)
    phone.reload()
    phone.get_by_text("Đang ngoại tuyến").wait_for()
    dossier_id = start_draft(phone)
    fill_valid_form(phone)
    phone.get_by_role("button", name="Nộp hồ sơ").click()
    phone.locator("#status").filter(has_text="Chờ gửi").wait_for()
    context.route("**/api/sync", cut_the_first)
    context.set_offline(False)
    phone.locator("#status").filter(has_text="Đã nộp, chờ tiếp nhận").wait_for()
    wait_outbox_empty(phone)

    first = next(r for r in rounds if r["cut"] and r["sent"]["mutations"])
    retry = next(r for r in rounds if not r["cut"] and r["sent"]["mutations"])
    sent_ids = [m["mutation_id"] for m in first["sent"]["mutations"]]
    assert [m["mutation_id"] for m in retry["sent"]["mutations"]] == sent_ids, "the same mutations, resent"
    assert {r["status"] for r in first["answer"]["results"]} == {"applied"}
    assert retry["answer"]["results"][:len(sent_ids)] == first["answer"]["results"], "stored results, not applied again"
    assert phone.locator(".problem").count() == 0
    dossier = citizen_api(server).get(f"/api/dossiers/{dossier_id}").json()
    assert dossier["status"] == 1 and dossier["data"]["full_name"] == VALID_FORM["full_name"]


def test_the_app_switches_to_english_and_back(server, phone):
    open_app(phone, server)
    open_menu(phone)
    phone.get_by_role("button", name="English").click()
    phone.get_by_role("heading", name="My dossiers").wait_for()
    assert phone.evaluate("document.documentElement.lang") == "en"
    phone.get_by_label("Find a procedure").fill("thu nghiem")
    phone.get_by_role("link", name="Thủ tục thử nghiệm đăng ký hộ gia đình", exact=True).click()
    phone.get_by_role("button", name="Start a dossier").click()
    phone.get_by_text("Saved on this phone").wait_for()
    open_menu(phone)
    phone.get_by_role("button", name="Tiếng Việt").click()
    phone.get_by_text("Đã lưu trên máy").wait_for()


def test_a_new_release_is_offered_and_runs_after_the_reload(seeded_env, context, phone, tmp_path, monkeypatch):
    release = tmp_path / "pwa"
    shutil.copytree(ROOT / "pwa", release)
    env = {**seeded_env, "MOTCUA_PWA_DIR": str(release)}
    data_dir = Path(seeded_env["MOTCUA_DATA_DIR"])
    shell_css = "document.querySelector('link[rel=stylesheet][href*=\"/shell.\"]').href"
    release_a = start_server(env, cwd=data_dir.parent, data_dir=data_dir)
    try:
        open_app(phone, release_a)
        old_css = phone.evaluate(shell_css)
    finally:
        release_a.stop()

    # Release B: one changed stylesheet, same database. A service worker belongs to its origin, so B must be
    # served on A's port (start_server otherwise picks a free one).
    css = release / "static" / "shell.css"
    css.write_text(css.read_text() + ".brand { letter-spacing: 3px; }\n")
    monkeypatch.setattr(conftest, "free_port", lambda: int(release_a.url.rsplit(":", 1)[1]))
    release_b = start_server(env, cwd=data_dir.parent, data_dir=data_dir)
    try:
        phone.reload()  # the cached shell of A opens at once; the browser finds B's /sw.js and installs it
        assert phone.evaluate(shell_css) == old_css
        offer = phone.get_by_role("button", name="Có phiên bản mới — tải lại")
        with phone.expect_navigation():
            offer.click()
        phone.locator("body[data-ready]").wait_for(state="attached")
        new_css = phone.evaluate(shell_css)
        assert new_css != old_css and new_css.removeprefix(release_b.url) in httpx.get(release_b.url + "/app").text
        assert phone.evaluate("getComputedStyle(document.querySelector('.brand')).letterSpacing") == "3px"
        assert phone.get_by_role("button", name="Có phiên bản mới — tải lại").count() == 0
    finally:
        release_b.stop()


def test_a_conflict_with_another_device_is_shown_side_by_side_and_resolved(server, context, phone):
    citizen, dossier_id = edited_draft(phone, server, name="Phạm Văn Đức")
    wait_outbox_empty(phone)

    context.set_offline(True)
    phone.locator("#f-full_name").fill("Phạm Văn Được")  # this phone, offline
    saved(phone)

    # The same citizen's tablet, through the sync endpoint, changes the same field meanwhile.
    tablet = citizen_api(server, citizen, NEW_PASSWORD)
    device = "tablet-" + uuid.uuid4().hex[:12]
    pulled = tablet.post("/api/sync", {"device_id": device, "cursor": None, "mutations": []}).json()
    record = next(c for c in pulled["changes"] if c["entity"] == "dossier" and c["id"] == dossier_id)
    assert record["data"]["form.full_name"] == "Phạm Văn Đức"
    edit = {"mutation_id": str(uuid.uuid4()), "seq": 1, "op": "update", "entity": "dossier", "entity_id": dossier_id,
            "base_version": record["version"],
            "changes": {"form.full_name": {"base": "Phạm Văn Đức", "value": "Phạm Văn Đạt"}}}
    answer = tablet.post("/api/sync", {"device_id": device, "cursor": pulled["cursor"], "mutations": [edit]}).json()
    assert answer["results"][0]["status"] == "applied"

    context.set_offline(False)
    conflict = phone.locator(".conflict")
    conflict.wait_for()
    assert conflict.locator("h3").inner_text() == "Họ và tên"
    server_side, device_side = conflict.locator(".sides > div").all()
    assert (server_side.locator("small").inner_text(), server_side.locator("p").inner_text()) == ("Trên máy chủ", "Phạm Văn Đạt")
    assert (device_side.locator("small").inner_text(), device_side.locator("p").inner_text()) == ("Trên máy này", "Phạm Văn Được")
    conflict.get_by_role("button", name="Dùng giá trị máy này").click()
    conflict.wait_for(state="detached")
    wait_outbox_empty(phone)

    assert tablet.get(f"/api/dossiers/{dossier_id}").json()["data"]["full_name"] == "Phạm Văn Được"
    later = tablet.post("/api/sync", {"device_id": device, "cursor": answer["cursor"], "mutations": []}).json()
    resolved = [c["data"] for c in later["changes"] if c["entity"] == "conflict"]
    assert [(c["field"], c["status"], c["resolution"]) for c in resolved] == [("form.full_name", "resolved", "Phạm Văn Được")]
    expect(phone.locator("#f-full_name")).to_have_value("Phạm Văn Được")  # the editor follows the resolution


def test_a_sync_request_delivered_twice_is_applied_once(server, context, phone):
    open_app(phone, server)
    sign_in(phone)
    wait_outbox_empty(phone)
    context.set_offline(True)
    phone.reload()
    phone.get_by_text("Đang ngoại tuyến").wait_for()
    dossier_id = start_draft(phone)
    fill_valid_form(phone)
    phone.get_by_role("button", name="Nộp hồ sơ").click()
    phone.locator("#status").filter(has_text="Chờ gửi").wait_for()

    deliveries: list[dict] = []

    def deliver_twice(route):
        if deliveries or not sent_body(route.request)["mutations"]:
            route.continue_()
            return
        first = route.fetch()  # a proxy that replays the request: the server receives it twice
        second = route.fetch()
        deliveries.extend([first.json(), second.json()])
        route.fulfill(response=second)

    context.route("**/api/sync", deliver_twice)
    context.set_offline(False)
    phone.locator("#status").filter(has_text="Đã nộp, chờ tiếp nhận").wait_for()
    wait_outbox_empty(phone)

    first, second = deliveries
    assert {r["status"] for r in first["results"]} == {"applied"}
    assert second["results"] == first["results"], "the stored results, not a second application"
    dossier = citizen_api(server).get(f"/api/dossiers/{dossier_id}").json()
    assert dossier["version"] == max(r["version"] for r in first["results"])
    assert dossier["status"] == 1 and dossier["data"]["full_name"] == VALID_FORM["full_name"]
    mine = [d for d in citizen_api(server).get("/api/dossiers?limit=500").json()["items"] if d["id"] == dossier_id]
    assert len(mine) == 1
    assert phone.locator(".problem").count() == 0


def test_one_stuck_outbox_item_is_removed_after_a_warning_and_the_rest_are_sent(server, context, phone):
    citizen, kept = edited_draft(phone, server, name="Vũ Văn Giữ", offline=context)
    phone.goto(server.url + "/app#/")
    stuck = start_draft(phone)
    phone.locator("#f-full_name").fill("Vũ Văn Kẹt")
    saved(phone)
    phone.goto(server.url + f"/app#/d/{kept}")
    expect(phone.locator("#f-full_name")).to_have_value("Vũ Văn Giữ")
    phone.locator("#f-phone").fill("0912 000 111")
    saved(phone)
    outbox = sorted(phone.evaluate(OUTBOX), key=lambda m: m["seq"])
    assert [(m["entity_id"], m["op"]) for m in outbox] == [(kept, "create"), (stuck, "create"), (kept, "update")]

    # Another device already used the stuck create's mutation id for something else (a client bug): the server
    # refuses every round that carries it (409, R1), so nothing of this phone gets through.
    tablet = citizen_api(server, citizen, NEW_PASSWORD)
    clash = {"mutation_id": outbox[1]["mutation_id"], "seq": 1, "op": "create", "entity": "dossier",
             "entity_id": str(uuid.uuid4()), "changes": {"procedure_code": {"value": "TEST.0001"}}}
    answer = tablet.post("/api/sync", {"device_id": "tablet-" + uuid.uuid4().hex[:12], "mutations": [clash]}).json()
    assert answer["results"][0]["status"] == "applied"
    context.set_offline(False)
    phone.get_by_text("mutation_id_reused").wait_for()
    phone.locator("#waiting").filter(has_text="Chờ gửi: 2").wait_for()  # two dossiers

    phone.goto(server.url + "/app#/outbox")
    before = sorted(phone.evaluate(OUTBOX), key=lambda m: m["seq"])
    item = phone.locator(f"#outbox li[data-dossier='{stuck}']")
    expect(item.locator(".person")).to_have_text("Vũ Văn Kẹt")
    expect(item.locator(".waiting-what")).to_have_text("Chờ gửi: hồ sơ mới")
    discard = item.get_by_role("button")
    discard.click()
    item.get_by_role("alert").filter(has_text="Những thay đổi chờ gửi của hồ sơ này sẽ không bao giờ được gửi").wait_for()
    assert len(phone.evaluate(OUTBOX)) == 3, "nothing is removed on the first tap"
    discard.click()
    item.wait_for(state="detached")
    assert sorted(phone.evaluate(OUTBOX), key=lambda m: m["seq"]) == [before[0], before[2]], "the rest untouched"

    phone.get_by_role("button", name="Gửi ngay").click()
    wait_outbox_empty(phone)
    sent = tablet.get(f"/api/dossiers/{kept}").json()["data"]
    assert (sent["full_name"], sent["phone"]) == ("Vũ Văn Giữ", "0912000111")
    assert tablet.get(f"/api/dossiers/{stuck}").status_code == 404
    assert idb_meta(phone, "lost") == []


def test_signing_out_on_a_shared_phone_warns_of_unsent_changes_then_clears_the_account(server, context, phone):
    phone.add_init_script("""(() => { window.__persistAsked = 0; const persist = navigator.storage.persist.bind(navigator.storage);
        navigator.storage.persist = () => { window.__persistAsked += 1; return persist(); }; })()""")
    citizen, _ = edited_draft(phone, server, name="Hoàng Thị Chung")
    assert phone.evaluate("window.__persistAsked") >= 1, "persistent storage is asked for with the first draft"
    wait_outbox_empty(phone)

    context.route("**/api/sync", lambda route: route.abort("connectionrefused"))  # the change cannot leave yet
    phone.locator("#f-phone").fill("0912 000 222")
    saved(phone)
    open_menu(phone)
    phone.get_by_role("button", name="Đăng xuất").click()
    warning = phone.locator("#signout-warning")
    warning.filter(has_text="Còn 1 hồ sơ có thay đổi chưa gửi").wait_for()
    assert warning.locator("li").all_inner_texts() == [
        "Thủ tục thử nghiệm đăng ký hộ gia đình — Hoàng Thị Chung: sửa Số điện thoại"]
    assert len(idb(phone, "dossiers")) == 1 and phone.locator("#signout").count() == 1  # still signed in

    context.unroute("**/api/sync")  # the person sends it first
    phone.get_by_role("button", name="Gửi ngay").click()
    wait_outbox_empty(phone)
    open_menu(phone)
    phone.get_by_role("button", name="Đăng xuất").click()
    phone.get_by_text("Chưa có hồ sơ nào trên máy này.").wait_for()
    open_menu(phone)
    phone.get_by_role("link", name="Đăng nhập", exact=True).wait_for()
    assert (idb(phone, "dossiers"), idb(phone, "outbox"), idb(phone, "conflicts")) == ([], [], [])
    assert idb_meta(phone, "device_id") is None and idb_meta(phone, "cursor") is None
    assert len(idb(phone, "procedures")) > 0, "the public catalog stays"
    assert phone.evaluate("fetch('/api/session').then(r => r.json()).then(b => b.user)") is None
    assert citizen_api(server, citizen, NEW_PASSWORD).get("/api/dossiers").json()["items"][0]["data"]["phone"] == "0912000222"


def test_a_one_field_edit_comes_back_as_a_version_and_the_round_stays_under_1_kb(server, context, phone):
    synced: list = []  # the app's sync requests as Chromium sent them (not intercepted)
    phone.on("requestfinished", lambda request: synced.append(request) if request.url.endswith("/api/sync") else None)
    citizen, dossier_id = edited_draft(phone, server, name="Lý Văn Một")
    wait_outbox_empty(phone)
    # Bytes the server decides (issue 13): the pages send no Referer and no user-agent client hints, and a JSON
    # answer carries none of the document policies.
    assert synced, "the app synced"
    for request in synced:
        sent, answer = request.all_headers(), request.response().all_headers()
        assert not {"referer", "sec-ch-ua", "sec-ch-ua-mobile", "sec-ch-ua-platform"} & set(sent), sent
        assert not {"content-security-policy", "referrer-policy", "permissions-policy"} & set(answer), answer

    rounds: list[dict] = []

    def watch(route):
        response = route.fetch()
        answer = response.body()
        rounds.append({"encoding": route.request.headers.get("content-encoding"), "bytes": len(route.request.post_data_buffer),
                       "sent": sent_body(route.request), "answer": json.loads(answer), "answer_bytes": len(answer)})
        route.fulfill(response=response, body=answer)

    context.route("**/api/sync", watch)
    phone.locator("#f-full_name").fill("Lý Văn Hai")
    saved(phone)
    wait_outbox_empty(phone)
    edit = next((r for r in rounds if r["sent"]["mutations"]), None)
    assert edit, f"no round carried the edit: {rounds}"
    assert edit["sent"]["own"] == "version"
    [mutation] = edit["sent"]["mutations"]
    assert mutation["changes"] == {"form.full_name": {"base": "Lý Văn Một", "value": "Lý Văn Hai"}}
    [change] = [c for c in edit["answer"]["changes"] if c["id"] == dossier_id]
    assert set(change) == {"entity", "id", "version", "own"} and change["own"] == mutation["mutation_id"]
    assert edit["bytes"] + edit["answer_bytes"] < 1024, "a one-field edit round fits in 1 KB on 2G"
    for sent in rounds:
        plain = len(json.dumps(sent["sent"], ensure_ascii=False, separators=(",", ":")).encode())
        if sent["encoding"] == "gzip":
            assert sent["bytes"] < plain
        if not sent["sent"]["mutations"]:
            assert sent["encoding"] is None, "a small pull is not gzipped: it would only grow"

    [dossier] = [d for d in idb(phone, "dossiers") if d["id"] == dossier_id]
    on_server = citizen_api(server, citizen, NEW_PASSWORD).get(f"/api/dossiers/{dossier_id}").json()
    assert dossier["replica"]["version"] == change["version"] == on_server["version"]
    assert dossier["replica"]["data"]["form.full_name"] == on_server["data"]["full_name"] == "Lý Văn Hai"


def wait_until(page, condition, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"waited in vain: {condition.__code__.co_names}"
        page.wait_for_timeout(200)


def test_a_sync_run_is_one_request_and_asks_who_is_signed_in_again_only_when_refused(server, context, phone):
    citizen, _ = edited_draft(phone, server, name="Lý Văn Một")
    wait_outbox_empty(phone)

    asked: list[str] = []
    context.on("request", lambda request: asked.append(request.url.split(server.url, 1)[-1].split("?")[0])
             if "/api/" in request.url else None)
    phone.locator("#f-full_name").fill("Lý Văn Hai")
    saved(phone)
    wait_until(phone, lambda: "/api/sync" in asked and not idb(phone, "outbox"))
    assert "/api/session" not in asked, asked

    # The session ended on the server (signed out elsewhere): the next run is refused, asks once who is signed
    # in now, hears "nobody" and stops, keeping the edit in the outbox.
    asked.clear()
    cookies = [c for c in context.cookies() if c["name"] == "motcua_session"]
    context.add_cookies([{**cookies[0], "value": "ended-elsewhere"}])
    phone.locator("#f-full_name").fill("Lý Văn Ba")
    saved(phone)
    try:
        wait_until(phone, lambda: "/api/sync" in asked and "/api/session" in asked[asked.index("/api/sync") + 1:])
    except AssertionError:
        raise AssertionError(f"asked: {asked}; outbox: {idb(phone, 'outbox')}") from None
    phone.wait_for_timeout(1500)
    after_refusal = asked[asked.index("/api/sync") + 1:]
    # The round is refused (the page and the service worker may each try once); then who is signed in.
    assert "/api/session" in after_refusal, asked
    assert len(idb(phone, "outbox")) == 1


def test_background_sync_sends_a_dossier_submitted_offline_with_no_page_open(server, context, phone):
    number, dossier_id = edited_draft(phone, server, offline=context)
    phone.get_by_role("button", name="Nộp hồ sơ").click()
    phone.locator("#status").filter(has_text="Chờ gửi").wait_for()
    assert [m["op"] for m in idb(phone, "outbox")][-1] == "command"
    phone.close()

    # No page of the app is open: a blank tab only, through which DevTools reaches the service worker.
    blank = context.new_page()
    cdp = context.new_cdp_session(blank)
    registrations: list[dict] = []
    cdp.on("ServiceWorker.workerRegistrationUpdated", lambda event: registrations.extend(event["registrations"]))
    cdp.send("ServiceWorker.enable")
    deadline = time.monotonic() + 20
    while not any(r["scopeURL"].startswith(server.url) for r in registrations) and time.monotonic() < deadline:
        blank.evaluate("1")  # lets Playwright deliver the DevTools events
    registration = next(r for r in registrations if r["scopeURL"].startswith(server.url) and not r["isDeleted"])
    citizen = citizen_api(server, number, NEW_PASSWORD)
    assert citizen.get(f"/api/dossiers/{dossier_id}").status_code == 404  # nothing has reached the server yet

    context.set_offline(False)
    cdp.send("ServiceWorker.dispatchSyncEvent", {"origin": server.url, "registrationId": registration["registrationId"],
                                                  "tag": "motcua-outbox", "lastChance": False})
    deadline = time.monotonic() + 30
    sent = lambda answer: answer.status_code == 200 and answer.json()["status"] == 1  # noqa: E731 - created, then submitted
    answer = citizen.get(f"/api/dossiers/{dossier_id}")
    while not sent(answer) and time.monotonic() < deadline:
        blank.evaluate("1")  # polling the server for the result, not a fixed wait
        answer = citizen.get(f"/api/dossiers/{dossier_id}")
    assert sent(answer), f"Background Sync did not send the outbox: {answer.status_code} {answer.text[:200]}"
    dossier = answer.json()
    assert dossier["status"] == 1 and dossier["unit"]["code"] == VALID_FORM["address"]["commune_code"]
    assert dossier["data"]["full_name"] == VALID_FORM["full_name"]

    # The worker applied the answer to the phone's own copy: opened with no network (so the page itself cannot
    # sync), the app shows the dossier as sent, with nothing left in the outbox.
    context.set_offline(True)
    again = context.new_page()
    again.goto(server.url + "/app#/d/" + dossier_id)
    again.locator("#status").filter(has_text="Đã nộp, chờ tiếp nhận").wait_for()
    assert idb(again, "outbox") == []


def test_the_receiving_office_is_chosen_among_the_units_of_the_procedures_level(server, context, phone):
    open_app(phone, server)
    # A province-level procedure (đổi giấy phép lái xe): the provinces, defaulting to the address's province.
    phone.get_by_label("Tìm thủ tục").fill("doi giay phep lai xe")
    phone.get_by_role("link", name="Đổi giấy phép lái xe").click()
    phone.get_by_role("button", name="Lập hồ sơ").click()
    phone.locator("#f-driver_residence-commune").wait_for()
    offices = phone.locator("#unit option").evaluate_all("(options) => options.map(o => o.value).filter(Boolean)")
    assert offices == ["25"]  # Tỉnh Phú Thọ: the one province of the seeded units, no commune
    phone.locator("#f-driver_residence-filter").fill("vinh yen")
    phone.locator("#f-driver_residence-commune").select_option(VALID_FORM["address"]["commune_code"])
    expect(phone.locator("#unit")).to_have_value("25")
    assert "Tỉnh Phú Thọ" in phone.locator("#unit option:checked").inner_text()

    # A commune-level procedure: the communes, defaulting to the address's own commune.
    phone.goto(server.url + "/app#/")
    start_draft(phone)
    communes = phone.locator("#unit option").evaluate_all("(options) => options.map(o => o.value).filter(Boolean)")
    assert len(communes) > 100 and "25" not in communes and VALID_FORM["address"]["commune_code"] in communes
    fill_valid_form(phone)
    expect(phone.locator("#unit")).to_have_value(VALID_FORM["address"]["commune_code"])


def forms_asked(context) -> list[str]:
    """The page's requests for forms. Once the service worker controls the page it fetches each one again on the
    network, which the context reports as a second request of the same URL (sw.js, network first for /api/)."""
    asked: list[str] = []
    context.on("request", lambda request: asked.append(request.url)
               if "/api/procedures" in request.url and request.service_worker is None else None)
    return asked


DETAILS_COUNT = """() => new Promise(ok => indexedDB.open('motcua').onsuccess = e => {
    const t = e.target.result.transaction(['details', 'procedures']);
    t.objectStore('details').count().onsuccess = d => t.objectStore('procedures').count().onsuccess = p =>
        ok([d.target.result, p.target.result]); })"""


def test_citizens_get_forms_on_demand_and_an_intake_officers_phone_gets_them_all_in_bulk(server, browser):
    # A citizen's phone on mobile data, as the browser says: the first visit downloads the catalog index only.
    citizen = new_phone(browser, connection=CELLULAR)
    phone = citizen.new_page()
    asked = forms_asked(citizen)
    open_app(phone, server)
    assert phone.evaluate("() => navigator.connection.type") == "cellular"
    assert idb(phone, "details") == [] and idb(phone, "procedures")
    assert not [url for url in asked if "/forms?" in url or "/api/procedures/" in url]

    # Opening a procedure fetches its form alone, and keeps it: offline, it can still be drafted.
    phone.get_by_label("Tìm thủ tục").fill("doanh nghiep tu nhan")
    phone.get_by_role("link", name="Đăng ký thành lập doanh nghiệp tư nhân", exact=True).click()
    phone.get_by_role("button", name="Lập hồ sơ").wait_for()
    assert [url.split("/api/procedures/")[1] for url in asked if "/api/procedures/" in url] == ["2.001610"]
    assert [d["code"] for d in idb(phone, "details")] == ["2.001610"]
    citizen.set_offline(True)
    phone.goto(server.url + "/app#/")
    phone.get_by_label("Tìm thủ tục").fill("doanh nghiep tu nhan")
    phone.get_by_role("link", name="Đăng ký thành lập doanh nghiệp tư nhân", exact=True).click()
    phone.get_by_role("button", name="Lập hồ sơ").click()
    phone.locator("#f-company_name").wait_for()
    # Search offline: the exact name first ("Thủ tục" ignored), a field filters, as the server does (search.js).
    phone.goto(server.url + "/app#/")
    phone.get_by_label("Tìm thủ tục").fill("dang ky khai sinh")
    expect(phone.locator("#results .card strong").first).to_have_text("Thủ tục đăng ký khai sinh")
    phone.get_by_label("Tìm thủ tục").fill("")
    phone.get_by_label("Lĩnh vực").select_option("Chứng thực")
    metas = phone.locator("#results .card .meta").all_text_contents()
    assert metas and all(meta.endswith("· Chứng thực") for meta in metas)
    # One never opened online is not on the phone: the app says so.
    phone.goto(server.url + "/app#/p/1.000894")
    phone.get_by_text("chưa được lưu trên máy").wait_for()
    a11y.assert_clean(citizen)
    citizen.close()

    # On a phone that saves data, even on Wi-Fi, nothing more either.
    saving = new_phone(browser, connection=WIFI.replace("saveData: false", "saveData: true"))
    phone = saving.new_page()
    open_app(phone, server)
    assert idb(phone, "details") == []
    a11y.assert_clean(saving)
    saving.close()

    # An intake officer's phone gets every form, 100 per request, as soon as the officer has signed in, even on
    # mobile data.
    officer = new_phone(browser, connection=CELLULAR)
    phone = officer.new_page()
    asked = forms_asked(officer)
    open_app(phone, server)
    sign_in(phone, conftest.OFFICERS["intake"].phone, conftest.OFFICER_PASSWORD)
    deadline = time.monotonic() + WAIT_MS / 1000
    while (counts := phone.evaluate(DETAILS_COUNT))[0] != counts[1] and time.monotonic() < deadline:
        phone.wait_for_timeout(200)
    procedures, details = idb(phone, "procedures"), idb(phone, "details")
    assert sorted(d["code"] for d in details) == sorted(p["code"] for p in procedures)
    assert all(d["form"]["fields"] for d in details)
    forms = [url for url in asked if "/api/procedures/forms?codes=" in url]
    assert len(forms) == -(-len(procedures) // 100)
    assert all(url.split("codes=")[1].count(",") < 100 for url in forms)
    assert not [url for url in asked if "/api/procedures/" in url and "/forms?" not in url], "a form was asked alone"
    # A later visit asks only for the forms whose version changed: none.
    asked.clear()
    phone.reload()
    phone.locator("body[data-ready]").wait_for(state="attached")
    assert not [url for url in asked if "/forms?" in url]
    a11y.assert_clean(officer)
    officer.close()
