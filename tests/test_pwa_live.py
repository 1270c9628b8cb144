"""The citizen's app while a dossier is on its way (issue 16, "While working"): the view after "Nộp hồ sơ", an open
dossier following what officers do (a push, the app coming back to the foreground, a pull every minute), one request
for one edit, the outbox in plain words per dossier, and the documents' list (required ones marked, no photo asked
of the declaration the form fills in).

Real Chromium at 360×740 (tests/test_pwa.py fixtures) against the suite's server on loopback.
"""

from __future__ import annotations

import time

from playwright.sync_api import expect

from tests.test_pwa import OUTBOX, browser, context, edited_draft, idb, open_app, phone, saved, submit_draft, \
    wait_outbox_empty  # noqa: F401 - fixtures
from tests.test_pwa_pages import small_photo
from tests.test_pwa_queue import leader_command

# No sync round running or waiting, in the page or in the service worker (they share the Web Lock "motcua-sync").
IDLE = """async () => { const { held, pending } = await navigator.locks.query();
    return ![...held, ...pending].some((lock) => lock.name === "motcua-sync"); }"""


def wait_idle(page, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not page.evaluate(IDLE):
        assert time.monotonic() < deadline, "a sync round never ended"
        page.wait_for_timeout(100)


def registration_id(context, page, origin: str) -> tuple:
    """The service worker registration's id, through DevTools (to deliver a push to it)."""
    cdp = context.new_cdp_session(page)
    found: list[dict] = []
    cdp.on("ServiceWorker.workerRegistrationUpdated", lambda event: found.extend(event["registrations"]))
    cdp.send("ServiceWorker.enable")
    deadline = time.monotonic() + 20
    while not any(r["scopeURL"].startswith(origin) and not r["isDeleted"] for r in found):
        assert time.monotonic() < deadline, "no service worker registration"
        page.wait_for_timeout(50)
    registration = next(r for r in found if r["scopeURL"].startswith(origin) and not r["isDeleted"])
    return cdp, registration["registrationId"]


def test_after_submitting_the_view_shows_the_new_state_and_the_open_dossier_follows_the_office(server, context, phone):
    # The page's clock is Playwright's: it runs as usual, and jumps ahead a minute when the test says so.
    phone.clock.install()
    context.grant_permissions(["notifications"], origin=server.url)
    number, dossier_id = edited_draft(phone, server)
    wait_outbox_empty(phone)
    submit_draft(phone)  # "Nộp hồ sơ" is at the bottom of the long form: the page is scrolled down to it

    # The new state is where the citizen is looking: at the top, a confirmation that has the focus, then the status.
    confirmation = phone.locator("#submitted")
    expect(confirmation).to_contain_text("Đã nộp hồ sơ")
    status = phone.locator("#status")
    expect(status).to_have_text("Đã nộp, chờ tiếp nhận")
    expect(confirmation).to_be_in_viewport()
    expect(status).to_be_in_viewport()
    assert phone.evaluate("window.scrollY") < 200
    expect(confirmation).to_be_focused()
    assert confirmation.get_attribute("role") == "status"
    wait_outbox_empty(phone)
    wait_idle(phone)

    # The office receives it: the citizen comes back to the app (it was in the background) and sees it at once.
    assert leader_command(server, dossier_id, "receive")["status"] == "applied"
    phone.evaluate("() => document.dispatchEvent(new Event('visibilitychange'))")  # visible again
    expect(status).to_have_text("Đã tiếp nhận", timeout=5000)
    wait_idle(phone)

    # The office starts processing and the server pushes a notice: the open dossier follows within seconds.
    assert leader_command(server, dossier_id, "start")["status"] == "applied"
    cdp, registration = registration_id(context, phone, server.url)
    cdp.send("ServiceWorker.deliverPushMessage", {"origin": server.url, "registrationId": registration,
                                                  "data": '{"title": "Hồ sơ đang được giải quyết", "body": "", '
                                                          f'"url": "/app#/d/{dossier_id}"}}'})
    expect(status).to_have_text("Đang giải quyết", timeout=5000)
    wait_idle(phone)

    # No push, the app simply open: a minute later it has pulled what the office did.
    assert leader_command(server, dossier_id, "request_payment", reason="Nộp lệ phí")["status"] == "applied"
    phone.clock.fast_forward("01:01")
    expect(status).to_have_text("Chờ nộp phí, lệ phí", timeout=5000)


def test_one_edit_is_one_request_from_the_page_and_none_from_the_service_worker(server, context, phone):
    edited_draft(phone, server, name="Lý Văn Một")
    wait_outbox_empty(phone)
    wait_idle(phone)

    from_page: list[str] = []
    from_worker: list[str] = []

    def seen(request) -> None:
        if "/api/" in request.url:
            path = request.url.split(server.url, 1)[-1].split("?")[0]
            (from_worker if request.service_worker else from_page).append(f"{request.method} {path}")

    context.on("request", seen)
    phone.locator("#f-full_name").fill("Lý Văn Hai")
    saved(phone)
    wait_outbox_empty(phone)
    wait_idle(phone)
    phone.wait_for_timeout(1500)  # room for a second round, had anything asked for one
    wait_idle(phone)
    assert from_page.count("POST /api/sync") == 1, (from_page, from_worker)
    assert "POST /api/sync" not in from_worker, from_worker
    assert not any("/api/session" in r for r in from_page + from_worker), (from_page, from_worker)


def test_the_outbox_lists_each_dossier_in_plain_words_and_the_header_counts_dossiers(server, context, phone, tmp_path):
    number, dossier_id = edited_draft(phone, server, offline=context)
    document = phone.locator("[data-document='Tờ khai']")
    chooser = document.locator("input[type=file]:not([capture])")
    chooser.set_input_files([str(small_photo(tmp_path, f"p{i}.jpg", 40 + 60 * i)) for i in range(3)])
    expect(document.locator("li.thumb")).to_have_count(3)
    submit_draft(phone)
    phone.locator("#status").filter(has_text="Chờ gửi").wait_for()
    assert len(phone.evaluate(OUTBOX)) >= 2  # the create and the submit (and perhaps an edit) of one dossier

    # One dossier waits: the header counts it once.
    phone.locator("#waiting").filter(has_text="Chờ gửi: 1").wait_for()
    phone.goto(server.url + "/app#/outbox")
    item = phone.locator(f"#outbox li[data-dossier='{dossier_id}']")
    expect(phone.locator("#outbox li")).to_have_count(1)
    expect(item.locator("strong")).to_have_text("Thủ tục thử nghiệm đăng ký hộ gia đình")
    expect(item.locator(".person")).to_have_text("Nguyễn Thị Mai")
    expect(item.locator(".waiting-what")).to_have_text("Chờ gửi: hồ sơ mới, nộp và 3 ảnh")
    text = phone.locator("#outbox").inner_text()
    for internal in ("create", "command", "procedure_code", "channel", "form.", "#"):
        assert internal not in text, text

    # Back in range: the dossier and its photos go; nothing waits any more.
    context.set_offline(False)
    phone.locator("#outbox li").first.wait_for(state="detached", timeout=30_000)
    phone.get_by_text("Không có thay đổi nào chờ gửi.").wait_for()
    phone.locator("#waiting").filter(has_text="Chờ gửi: 0").wait_for()
    assert idb(phone, "outbox") == []


def test_required_documents_are_marked_and_the_declaration_the_form_fills_asks_for_no_photo(server, context, phone):
    open_app(phone, server)
    phone.get_by_label("Tìm thủ tục").fill("dang ky khai sinh")
    phone.get_by_role("link", name="Thủ tục đăng ký khai sinh", exact=True).click()
    phone.get_by_role("button", name="Lập hồ sơ").click()
    phone.wait_for_url("**/app#/d/*")
    pages = phone.locator("#pages")
    declaration = pages.locator(".document[data-document='Tờ khai đăng ký khai sinh (theo mẫu)']")
    certificate = pages.locator(".document").filter(has=phone.get_by_role("heading", name="Giấy chứng sinh", exact=False))
    authorisation = pages.locator(".document").filter(has=phone.get_by_role("heading", name="Văn bản ủy quyền", exact=False))

    # Required documents say so, in their heading (what a screen reader reads); optional ones do not.
    expect(certificate.get_by_role("heading")).to_contain_text("(bắt buộc)")
    expect(authorisation.get_by_role("heading")).not_to_contain_text("bắt buộc")
    # The declaration is what the form above fills in: no camera, no file, a sentence saying why.
    expect(declaration).to_contain_text("không cần chụp ảnh")
    assert declaration.locator("input[type=file]").count() == 0
    assert declaration.get_by_text("Chụp ảnh", exact=True).count() == 0
    # The others ask for their photos as before.
    assert certificate.locator("input[type=file]").count() == 2
    # The identity card is shown at the desk (xuất trình): a photo is offered, not required, and the page says so.
    identity = pages.locator(".document").filter(has=phone.get_by_role("heading", name="Giấy tờ tùy thân", exact=False))
    expect(identity).to_contain_text("Ông/Bà mang bản chính để xuất trình tại nơi tiếp nhận; không bắt buộc gửi ảnh.")
    assert identity.locator("input[type=file]").count() == 2
    expect(certificate).not_to_contain_text("xuất trình tại nơi tiếp nhận")
