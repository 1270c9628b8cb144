"""The installable offline app (/app) in a real Chromium at a phone's size, against a real server on loopback.

Each test starts from a fresh browser profile: the service worker, IndexedDB and the outbox are its own.
"""

from __future__ import annotations

import gzip
import io
import json
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from PIL import Image

from tests.conftest import VALID_FORM, Api, RunningServer, free_port

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]
DEMO_PHONE, DEMO_PASSWORD = "0912345678", "congdan123"
WAIT_MS = 20_000

# Until server/app.py mounts server.pwa_routes.routes itself, this adds them in front of the /static mount
# (hashed names must be answered before the plain files); once app.py has them it changes nothing.
LAUNCHER = """
import sys
import uvicorn
from starlette.routing import Mount
from server.app import create_app
from server.config import load_settings
from server import pwa_routes
app = create_app(load_settings())
if not any(getattr(route, "path", None) == "/sw.js" for route in app.router.routes):
    at = next(i for i, r in enumerate(app.router.routes) if isinstance(r, Mount) and r.path == "/static")
    app.router.routes[at:at] = pwa_routes.routes
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""


@pytest.fixture(scope="module")
def app_server(seeded_env):
    data_dir = Path(seeded_env["MOTCUA_DATA_DIR"])
    port = free_port()
    log = open(data_dir.parent / f"pwa-server-{port}.log", "w")
    process = subprocess.Popen([sys.executable, "-c", LAUNCHER, str(port)], env=seeded_env, cwd=data_dir.parent,
                               stdout=log, stderr=subprocess.STDOUT)
    running = RunningServer(url=f"http://127.0.0.1:{port}", env=seeded_env, data_dir=data_dir, process=process)
    deadline = time.monotonic() + 60
    while True:
        assert process.poll() is None, Path(log.name).read_text()
        try:
            if httpx.get(f"{running.url}/healthz", timeout=2).status_code in (200, 503):
                break
        except httpx.TransportError:
            assert time.monotonic() < deadline, Path(log.name).read_text()
            time.sleep(0.1)  # polling for the port to open
    yield running
    running.stop()


@pytest.fixture(scope="module")
def browser():
    assert CHROMIUM.exists(), "Chromium is missing (apt-get install chromium)"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def context(browser):
    context = browser.new_context(viewport={"width": 360, "height": 740}, device_scale_factor=2, is_mobile=True,
                                  has_touch=True, locale="vi-VN", service_workers="allow")
    context.set_default_timeout(WAIT_MS)
    yield context
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


def sign_in(page) -> None:
    page.goto(page.url.split("#")[0] + "#/signin")
    page.get_by_label("Số điện thoại").fill(DEMO_PHONE)
    page.get_by_label("Mật khẩu").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.get_by_role("heading", name="Hồ sơ của tôi").wait_for()
    page.wait_for_function("() => !document.body.textContent.includes('Hãy đăng nhập để gửi')")


def start_draft(page) -> str:
    page.get_by_label("Tìm thủ tục").fill("thu nghiem ho gia dinh")
    page.get_by_role("link", name="Thủ tục thử nghiệm đăng ký hộ gia đình").click()
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


OUTBOX = """() => new Promise(ok => indexedDB.open('motcua').onsuccess = e =>
    e.target.result.transaction('outbox').objectStore('outbox').getAll().onsuccess = r => ok(r.target.result))"""


def saved(page) -> None:
    """Every change is in IndexedDB once the editor says so."""
    page.locator("#saved").filter(has_text="Đã lưu trên máy").wait_for()


def citizen_api(server) -> Api:
    api = Api(server.url)
    api.sign_in(DEMO_PHONE, DEMO_PASSWORD)
    return api


def wait_outbox_empty(page) -> None:
    page.locator("#waiting").filter(has_text="Chờ gửi: 0").wait_for()


def test_manifest_icons_and_service_worker_meet_the_install_criteria(app_server, phone):
    http = httpx.Client(base_url=app_server.url)
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

    phone.goto(app_server.url + "/app")
    script = phone.evaluate("navigator.serviceWorker.ready.then(r => r.active.scriptURL)")
    assert script == app_server.url + "/sw.js"
    assert phone.evaluate("document.querySelector('link[rel=manifest]').href") == app_server.url + "/manifest.webmanifest"
    # no inline script anywhere: the page works under the server's CSP (script-src 'self')
    assert "script-src 'self'" in http.get("/app").headers["content-security-policy"]


def test_shell_and_catalog_work_offline_after_the_first_visit(app_server, context, phone):
    open_app(phone, app_server)
    context.set_offline(True)
    phone.reload()
    phone.get_by_text("Đang ngoại tuyến").wait_for()
    phone.get_by_label("Tìm thủ tục").fill("thu nghiem dang ky ho gia dinh")  # no diacritics
    link = phone.get_by_role("link", name="Thủ tục thử nghiệm đăng ký hộ gia đình")
    link.click()
    phone.get_by_role("heading", name="Thành phần hồ sơ").wait_for()
    phone.get_by_role("button", name="Lập hồ sơ").wait_for()
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_a_draft_made_offline_is_still_there_after_a_reload(app_server, context, phone):
    open_app(phone, app_server)
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
    card.get_by_role("link", name="Tiếp tục").click()
    assert phone.locator("#f-full_name").input_value() == "Trần Thị Hạnh"
    assert phone.locator("#f-birth_date").input_value() == "1990-02-03"
    assert phone.get_by_label("Nam", exact=True).is_checked()
    assert phone.locator("#f-members-0-full_name").input_value() == "Trần Văn Long"
    assert phone.locator("#f-cccd").input_value() == "12345"


def test_the_outbox_survives_a_reload(app_server, context, phone):
    open_app(phone, app_server)
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
    phone.locator("#waiting").filter(has_text=f"Chờ gửi: {len(before)}").wait_for()
    phone.goto(app_server.url + "/app#/outbox")
    phone.get_by_text(f"#{before[0]['seq']} create").wait_for()
    assert phone.evaluate(OUTBOX) == before


def test_submitted_offline_it_waits_then_reaches_the_server_when_online(app_server, context, phone):
    open_app(phone, app_server)
    sign_in(phone)
    context.set_offline(True)
    phone.reload()
    phone.get_by_text("Đang ngoại tuyến").wait_for()
    dossier_id = start_draft(phone)
    fill_valid_form(phone)
    phone.get_by_role("button", name="Nộp hồ sơ").click()
    phone.locator("#status").filter(has_text="Chờ gửi").wait_for()

    context.set_offline(False)  # the online event starts a round; reachability is checked by a real request
    phone.locator("#status").filter(has_text="Mới đăng ký").wait_for()
    wait_outbox_empty(phone)
    assert phone.get_by_text("Đang ngoại tuyến").is_hidden()

    dossier = citizen_api(app_server).get(f"/api/dossiers/{dossier_id}").json()
    assert dossier["status"] == 1 and dossier["unit"]["code"] == VALID_FORM["address"]["commune_code"]
    form = dossier["data"]
    assert form["full_name"] == VALID_FORM["full_name"] and form["phone"] == "0912345678"
    assert form["address"] == VALID_FORM["address"] and form["members"] == VALID_FORM["members"]


def test_a_sync_request_cut_halfway_is_retried_and_applied_once(app_server, context, phone):
    open_app(phone, app_server)
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
    phone.route("**/api/sync", cut_the_first)
    context.set_offline(False)
    phone.locator("#status").filter(has_text="Mới đăng ký").wait_for()
    wait_outbox_empty(phone)

    first = next(r for r in rounds if r["cut"] and r["sent"]["mutations"])
    retry = next(r for r in rounds if not r["cut"] and r["sent"]["mutations"])
    sent_ids = [m["mutation_id"] for m in first["sent"]["mutations"]]
    assert [m["mutation_id"] for m in retry["sent"]["mutations"]] == sent_ids, "the same mutations, resent"
    assert {r["status"] for r in first["answer"]["results"]} == {"applied"}
    assert retry["answer"]["results"][:len(sent_ids)] == first["answer"]["results"], "stored results, not applied again"
    assert phone.locator(".problem").count() == 0
    dossier = citizen_api(app_server).get(f"/api/dossiers/{dossier_id}").json()
    assert dossier["status"] == 1 and dossier["data"]["full_name"] == VALID_FORM["full_name"]


def test_the_app_switches_to_english_and_back(app_server, phone):
    open_app(phone, app_server)
    phone.get_by_role("button", name="English").click()
    phone.get_by_role("heading", name="My dossiers").wait_for()
    assert phone.evaluate("document.documentElement.lang") == "en"
    phone.get_by_label("Find a procedure").fill("thu nghiem")
    phone.get_by_role("link", name="Thủ tục thử nghiệm đăng ký hộ gia đình").click()
    phone.get_by_role("button", name="Start a dossier").click()
    phone.get_by_text("Saved on this phone").wait_for()
    phone.get_by_role("button", name="Tiếng Việt").click()
    phone.get_by_text("Đã lưu trên máy").wait_for()
