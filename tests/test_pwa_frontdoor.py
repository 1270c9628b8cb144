"""The app as a newcomer meets it (issue 16, "Getting in" and the header): one front door from the website, the
account known offline, a procedure tapped while the forms download, a one-row header with a menu, and dates
written dd/mm/yyyy whatever the browser's language. Chromium at 360x740 against the session's server."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import expect

from tests.test_pwa import (NEW_PASSWORD, WIFI, browser, context, new_citizen, new_phone, open_app,  # noqa: F401 - fixtures
                            phone, sign_in)


class Hanging:
    """A route handler for requests that hang, as on a slow link, until release(): then those held go on, and so
    does every later one (a next batch of forms, a request the app makes a moment after the screen said "Đang tải")."""

    def __init__(self) -> None:
        self.held: list = []
        self.released = False

    def __call__(self, route) -> None:
        if self.released:
            route.continue_()
        else:
            self.held.append(route)

    def release(self) -> None:
        self.released = True
        for route in self.held:
            route.continue_()


def test_a_procedure_tapped_while_the_forms_download_loads_its_form_and_recovers_by_itself(server, browser):  # noqa: F811
    tab = new_phone(browser, connection=WIFI)  # a phone that downloads every form in advance
    hanging = Hanging()
    # The download of every form hangs, as on a slow link, and the first request for the tapped form is lost.
    tab.route("**/api/procedures/forms?*", hanging)
    lost = []

    def flaky(route):
        if not lost:
            lost.append(route.request.url)
            route.abort()
        else:
            route.continue_()
    tab.route("**/api/procedures/2.001610", flaky)
    page = tab.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(server.url + "/app")
    page.get_by_label("Tìm thủ tục").fill("doanh nghiep tu nhan")
    page.get_by_role("link", name="Đăng ký thành lập doanh nghiệp tư nhân", exact=True).click()
    # Online, it never says the form is missing from the phone: it loads, tries again, and draws the form.
    page.get_by_role("button", name="Lập hồ sơ").wait_for()
    assert lost, "the first request was not the one lost"
    view = page.locator("#view").inner_text()
    assert "null" not in view and "chưa được lưu trên máy" not in view
    page.get_by_role("heading", name="Đăng ký thành lập doanh nghiệp tư nhân").wait_for()

    # Another procedure, whose form comes with the download still running: it says it is loading, then draws.
    tab.unroute("**/api/procedures/2.001610")
    tab.route("**/api/procedures/TEST.0001", hanging)
    # The screen says "Đang tải" before the app asks for the form (it looks on the phone first): the form's own
    # request is waited for, so that both it and the download are under way when the link comes back. On the
    # context: once the service worker controls the page, the request that goes out is the worker's.
    with tab.expect_event("request", lambda request: request.url.endswith("/api/procedures/TEST.0001")):
        page.goto(server.url + "/app#/p/TEST.0001")
    page.locator("#procedure-state").filter(has_text="Đang tải thủ tục").wait_for()
    hanging.release()
    page.get_by_role("button", name="Lập hồ sơ").wait_for()
    assert not errors, errors
    tab.unroute_all(behavior="ignoreErrors")
    tab.close()


# What the old header showed in its rows, for a signed-in citizen: every one must be reachable from the menu (or,
# for the notices, stay in the header's row).
MENU_DESTINATIONS = {"#nav-home": "#/", "#nav-outbox": "#/outbox", "#nav-track": "/track"}
BANDS = """() => ['header.top', '#sync', '#offline'].map(s => document.querySelector(s))
    .filter(e => e && !e.hidden).reduce((sum, e) => sum + e.getBoundingClientRect().height, 0)"""


def open_menu(page) -> None:
    button = page.locator("#menu-button")
    if button.get_attribute("aria-expanded") != "true":
        button.click()
    expect(button).to_have_attribute("aria-expanded", "true")
    page.locator("#account").wait_for()


def test_offline_the_app_knows_who_is_signed_in_and_the_header_is_one_row_with_a_menu(server, context, phone):  # noqa: F811
    number = new_citizen(server)
    open_app(phone, server)
    sign_in(phone, number, NEW_PASSWORD)
    phone.locator("#inbox-link").wait_for()

    # An offline reload: still signed in (the notices link, "Đăng xuất" in the menu, no "Hãy đăng nhập").
    context.set_offline(True)
    phone.reload()
    phone.get_by_text("Đang ngoại tuyến").wait_for()
    phone.locator("#inbox-link").wait_for()
    assert "Hãy đăng nhập để gửi" not in phone.locator("#sync").inner_text()

    # One row: the header, the sync bar and the offline banner take at most ~120 of the 740 px.
    brand, button = phone.locator("header .brand").bounding_box(), phone.locator("#menu-button").bounding_box()
    assert abs(brand["y"] - button["y"]) < 10 and button["height"] >= 44, (brand, button)
    used = phone.evaluate(BANDS)
    assert used <= 120, f"header, sync bar and offline banner take {used} px"
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    # The menu: closed, then open with aria-expanded; it holds every destination; Escape closes it.
    menu = phone.locator("#account")
    expect(menu).to_be_hidden()
    open_menu(phone)
    for selector, href in MENU_DESTINATIONS.items():
        expect(menu.locator(selector)).to_have_attribute("href", href)
    expect(menu.get_by_role("button", name="Đăng xuất")).to_be_visible()
    expect(menu.get_by_role("button", name="English")).to_be_visible()
    assert menu.get_by_role("link", name="Đăng nhập").count() == 0
    phone.keyboard.press("Escape")
    expect(phone.locator("#menu-button")).to_have_attribute("aria-expanded", "false")
    expect(menu).to_be_hidden()
    assert phone.evaluate("document.activeElement.id") == "menu-button"
    open_menu(phone)
    menu.locator("#nav-outbox").click()
    phone.wait_for_function("() => location.hash === '#/outbox'")
    expect(menu).to_be_hidden()

    # Back online, a server that no longer knows the session (401) signs the app out, and it stays signed out.
    context.route("**/api/sync", lambda route: route.fulfill(status=401, content_type="application/json",
                  body='{"error": {"code": "not_signed_in", "message": "Cần đăng nhập", "message_en": "Sign in"}}'))
    context.route("**/api/session", lambda route: route.fulfill(status=200, content_type="application/json",
                  body='{"user": null, "csrf_token": "x"}') if route.request.method == "GET" else route.continue_())
    context.set_offline(False)
    phone.locator("#send-now").click()
    phone.get_by_text("Hãy đăng nhập để gửi").first.wait_for()
    expect(phone.locator("#inbox-link")).to_have_count(0)
    context.set_offline(True)
    phone.reload()
    phone.get_by_text("Đang ngoại tuyến").wait_for()
    open_menu(phone)
    expect(phone.locator("#account").get_by_role("link", name="Đăng nhập")).to_be_visible()
    expect(phone.locator("#inbox-link")).to_have_count(0)



def test_dates_read_dd_mm_yyyy_and_24_hours_in_a_browser_set_to_american_english(server, browser):  # noqa: F811
    from datetime import datetime, timedelta, timezone

    from tests.conftest import VALID_FORM, VINH_YEN, Api
    number = new_citizen(server)
    api = Api(server.url)
    api.sign_in(number, NEW_PASSWORD)
    sent = api.post("/api/dossiers", {"procedure_code": "TEST.0001", "unit_code": VINH_YEN, "data": VALID_FORM,
                                      "submit": True})
    assert sent.status_code == 201, sent.text
    events = api.get(f"/api/dossiers/{sent.json()['id']}/events").json()["items"]
    american = browser.new_context(viewport={"width": 360, "height": 740}, device_scale_factor=2, is_mobile=True,
                                   has_touch=True, locale="en-US", timezone_id="America/New_York",
                                   service_workers="allow")
    american.add_init_script(WIFI)
    american.set_default_timeout(20_000)
    page = american.new_page()
    assert page.evaluate("new Date(2026, 10, 26).toLocaleDateString()") == "11/26/2026"  # the browser's own order
    open_app(page, server)
    sign_in(page, number, NEW_PASSWORD)

    # The timeline: dd/mm/yyyy HH:mm in Vietnam's time, as the office writes it.
    page.locator(f".dossier[data-id='{sent.json()['id']}']").get_by_role("link").click()
    first = page.locator("#timeline time").first
    first.wait_for()
    at = datetime.fromisoformat(events[0]["at"].replace("Z", "+00:00")).astimezone(timezone(timedelta(hours=7)))
    expect(first).to_have_text(at.strftime("%d/%m/%Y %H:%M"))
    expect(page.locator("#sync .last")).to_have_text(re.compile(r"^Gửi lần cuối: \d{2}:\d{2}$"))

    # A date in a form is typed and shown day first, kept as a date, and still day first after a reload.
    page.goto(server.url + "/app#/p/TEST.0001")
    page.get_by_role("button", name="Lập hồ sơ").click()
    birth = page.locator("#f-birth_date")
    assert birth.get_attribute("type") == "text" and birth.get_attribute("placeholder") == "ngày/tháng/năm"
    birth.fill("04/05/2001")
    page.locator("#saved").filter(has_text="Đã lưu trên máy").wait_for()
    draft = page.url.rsplit("/", 1)[1]
    stored = page.evaluate("""(id) => new Promise(ok => indexedDB.open('motcua').onsuccess = e =>
        e.target.result.transaction('dossiers').objectStore('dossiers').get(id).onsuccess = r => ok(r.target.result))""", draft)
    assert stored["input"]["birth_date"] == "2001-05-04"
    page.reload()
    expect(page.locator("#f-birth_date")).to_have_value("04/05/2001")
    page.locator("#f-birth_date").fill("31/02/2001")  # no such day: the validator says so under the field
    page.locator("[data-error-for='birth_date']").filter(has_text="không phải là ngày hợp lệ").wait_for()
    american.close()


FAKE_INSTALL_PROMPT = """() => {
    // What Chromium fires when the app can be installed: the page shows its own button and calls prompt() on a tap.
    const event = new Event("beforeinstallprompt", { cancelable: true });
    event.prompt = async () => { window.__prompted = (window.__prompted || 0) + 1; };
    event.userChoice = Promise.resolve({ outcome: "accepted", platform: "web" });
    window.dispatchEvent(event);
}"""


def test_the_website_leads_into_the_app_which_has_its_own_sign_up(server, browser):  # noqa: F811
    # The address `motcua serve` (and so `motcua quickstart`) prints opens the app.
    port = server.url.rsplit(":", 1)[1]
    printed = (server.data_dir.parent / f"server-{port}.log").read_text()
    address = re.search(r"open the app at (\S+)", printed)
    assert address, printed[:500]
    tab = new_phone(browser)
    page = tab.new_page()
    page.goto(address.group(1))
    page.locator("body[data-ready]").wait_for(state="attached")
    expect(page.locator("#menu-button")).to_be_visible()

    # The website's home offers the app: a link, and an install button where the browser can install it.
    page.goto(server.url + "/")
    expect(page.locator("#open-app")).to_have_attribute("href", "/app")
    expect(page.locator("#nav-app")).to_have_attribute("href", "/app")
    install = page.locator("#app-offer [data-install-app]")
    expect(install).to_be_hidden()
    page.evaluate(FAKE_INSTALL_PROMPT)
    install.click()
    page.wait_for_function("() => window.__prompted === 1")
    expect(install).to_be_hidden()  # a prompt is shown once

    # A procedure's page: "Nộp hồ sơ" opens it in the app, ready to draft.
    page.goto(server.url + "/procedures/TEST.0001")
    page.get_by_role("link", name="Nộp hồ sơ", exact=True).click()
    page.wait_for_url("**/app#/p/TEST.0001")
    page.get_by_role("button", name="Lập hồ sơ").click()
    page.locator("#f-full_name").wait_for()

    # Signing up on the website leads into the app, signed in.
    page.goto(server.url + "/signup")
    page.get_by_label("Họ và tên").fill("Vũ Thị Hoa")
    page.get_by_label("Số điện thoại").fill("09" + str(uuid.uuid4().int)[:8])
    page.get_by_label("Mật khẩu").fill(NEW_PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url("**/app")
    page.locator("#inbox-link").wait_for()
    tab.close()

    # The app's own sign-up, for a newcomer who opened the app first.
    newcomer = new_phone(browser)
    page = newcomer.new_page()
    open_app(page, server)
    page.locator("#menu-button").click()
    page.locator("#account").get_by_role("link", name="Đăng ký tài khoản").click()
    page.get_by_role("heading", name="Đăng ký tài khoản").wait_for()
    page.get_by_label("Họ và tên").fill("Lò Văn Páo")
    page.get_by_label("Số điện thoại").fill("09" + str(uuid.uuid4().int)[:8])
    page.get_by_label("Mật khẩu").fill("ngan")
    page.get_by_role("button", name="Đăng ký tài khoản").click()
    assert page.locator("#password").evaluate("e => !e.validity.valid")  # 8 characters at least: the form says so
    page.get_by_label("Mật khẩu").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Đăng ký tài khoản").click()
    page.get_by_role("heading", name="Hồ sơ của tôi").wait_for()
    page.locator("#inbox-link").wait_for()
    newcomer.close()


def test_screens_loaded_at_first_use_say_offline_that_they_need_the_network_then_work_offline_once_fetched(server, context, phone):  # noqa: F811
    """Sign-in and the claim are not precached (docs/pwa.md "What a first visit downloads"): never opened, offline,
    the screen says the network is needed; opened once online, the worker keeps them and they draw offline."""
    open_app(phone, server)
    context.set_offline(True)
    phone.goto(server.url + "/app#/signin")
    expect(phone.locator("#needs-network")).to_have_text("Cần có mạng để đăng nhập.")
    phone.goto(server.url + "/app#/claim")
    expect(phone.locator("#needs-network")).to_contain_text("Cần có mạng để nhận hồ sơ")
    context.set_offline(False)
    phone.goto(server.url + "/app#/signin")
    phone.get_by_label("Mật khẩu").wait_for()
    phone.goto(server.url + "/app#/")
    context.set_offline(True)
    phone.goto(server.url + "/app#/signin")
    phone.get_by_label("Mật khẩu").wait_for()
    assert phone.locator("#needs-network").count() == 0
