"""Accessibility of the app as a screen-reader user meets it (issue 16): every main screen passes axe-core
(WCAG 2 A and AA, no serious or critical violation), the pages editor's buttons say which document they act on,
required fields are announced as required, disabled buttons look disabled, and the notices link says how many
notices are unread.

Real Chromium at a phone's size (tests/test_pwa.py fixtures, which also run axe on every screen the suite reaches:
tests/a11y.py) against a real server on loopback.
"""

from __future__ import annotations

from playwright.sync_api import expect

from tests import a11y
from tests.conftest import OFFICER_PASSWORD, OFFICERS, officer_api
from tests.test_pwa import (NEW_PASSWORD, browser, context, fill_valid_form, new_citizen, open_app, open_menu, phone,  # noqa: F401
                            saved, sign_in, submit_draft, wait_outbox_empty)
from tests.test_pwa_pages import small_photo
from tests.test_pwa_queue import card, go_to_queue, submitted_online
from tests.test_sync_http import Device

# The birth registration (1.001193, the shipped catalog): four documents; the first is the declaration the form
# fills in (no photo asked), so three of every pages button.
BIRTH_DOCUMENTS = [
    "Tờ khai đăng ký khai sinh (theo mẫu)",
    "Giấy chứng sinh (hoặc văn bản của người làm chứng / giấy cam đoan về việc sinh)",
    "Giấy tờ tùy thân của người đi đăng ký (xuất trình; không nộp nếu đã khai thác được từ CSDL quốc gia về dân cư)",
    "Văn bản ủy quyền có chứng thực (nếu đăng ký thay)",
]


def no_serious_violations(page, what: str) -> None:
    """axe on the screen as it is now (whatever the session already checked)."""
    violations = a11y.check(page, what)
    assert not violations, "\n".join(str(v) for v in violations)


def test_the_main_screens_pass_axe_and_the_notices_link_says_how_many_are_unread(server, context, phone):  # noqa: F811
    open_app(phone, server)
    no_serious_violations(phone, "home, signed out")
    phone.goto(server.url + "/app#/signin")
    phone.get_by_label("Số điện thoại").wait_for()
    no_serious_violations(phone, "sign-in")

    number = new_citizen(server)
    sign_in(phone, number, NEW_PASSWORD)
    no_serious_violations(phone, "home, signed in")
    phone.get_by_label("Tìm thủ tục").fill("thu nghiem ho gia dinh")
    phone.get_by_role("link", name="Thủ tục thử nghiệm đăng ký hộ gia đình", exact=True).click()
    phone.get_by_role("button", name="Lập hồ sơ").wait_for()
    no_serious_violations(phone, "catalog: a procedure")

    phone.get_by_role("button", name="Lập hồ sơ").click()
    phone.wait_for_url("**/app#/d/*")
    phone.locator("#f-full_name").wait_for()
    fill_valid_form(phone)
    saved(phone)
    no_serious_violations(phone, "draft")
    phone.goto(server.url + "/app#/outbox")
    phone.get_by_role("heading", name="Hộp thư đi").wait_for()
    no_serious_violations(phone, "outbox")
    phone.go_back()
    phone.locator("#submit").wait_for()
    dossier_id = phone.url.rsplit("/", 1)[1]
    submit_draft(phone)
    wait_outbox_empty(phone)
    no_serious_violations(phone, "dossier, submitted")

    # The office asks for a supplement: the citizen has one unread notice, and the header's link says so in its
    # name (a screen reader reads the link, not the red badge).
    intake = Device(officer_api(server, "intake"))
    answer = intake.sync([intake.mutation("command", dossier_id, command="request_supplement",
                                          args={"reason": "Thiếu bản sao giấy khai sinh"})])
    assert answer.json()["results"][0]["status"] == "applied", answer.text
    phone.reload()
    phone.locator("#inbox-count").filter(has_text="1").wait_for()
    expect(phone.locator("#inbox-link")).to_have_accessible_name("Thông báo, 1 chưa đọc")
    phone.locator("#status").filter(has_text="bổ sung").wait_for()
    no_serious_violations(phone, "dossier, supplement requested")
    phone.locator("#inbox-link").click()
    phone.get_by_role("heading", name="Thông báo", exact=True).wait_for()
    no_serious_violations(phone, "notices")

    # The officer's queue, on the same phone after signing out.
    khoa = submitted_online(server, "Trần Văn Khoa")
    phone.goto(server.url + "/app#/")
    open_menu(phone)  # the header is one row: signing out is in its menu
    no_serious_violations(phone, "the header's menu, open")
    phone.locator("#signout").click()
    phone.locator("#nav-signin").wait_for(state="attached")  # signed out: the menu offers "Đăng nhập"
    sign_in(phone, OFFICERS["intake"].phone, OFFICER_PASSWORD)
    go_to_queue(phone)
    card(phone, khoa).wait_for()
    no_serious_violations(phone, "officer: the queue")
    # A step's small form, with the error it shows when the reason is missing.
    card(phone, khoa).get_by_role("button", name="Từ chối").click()
    card(phone, khoa).get_by_role("button", name="Xác nhận").click()
    card(phone, khoa).get_by_text("Hãy ghi rõ lý do.").wait_for()
    no_serious_violations(phone, "officer: a step's form with its error")
    # Offline: the banner and the sync bar's error.
    context.set_offline(True)
    phone.locator("#send-now").click()
    phone.locator("#offline").wait_for()
    no_serious_violations(phone, "offline banner")


def test_pages_buttons_name_their_document_required_fields_say_so_and_disabled_buttons_look_disabled(
        server, context, phone, tmp_path):  # noqa: F811
    open_app(phone, server)  # drafting needs no account
    phone.get_by_label("Tìm thủ tục").fill("dang ky khai sinh")
    phone.get_by_role("link", name="Thủ tục đăng ký khai sinh", exact=True).click()
    phone.get_by_role("button", name="Lập hồ sơ").click()
    phone.locator("#f-requester_name").wait_for()

    # Required fields are announced as required; optional ones are not.
    for required in ("#f-requester_name", "#f-requester_cccd", "#f-child_birth_date", "#f-requester_address-commune", "#unit"):
        expect(phone.locator(required)).to_have_attribute("aria-required", "true")
    expect(phone.locator("#f-child_hometown")).not_to_have_attribute("aria-required", "true")
    expect(phone.locator("#f-requester_address-detail")).not_to_have_attribute("aria-required", "true")
    expect(phone.get_by_role("radiogroup", name="Giới tính")).to_have_attribute("aria-required", "true")

    # Each document's buttons say which document they add to (three documents, three of each).
    for document in BIRTH_DOCUMENTS[1:]:
        expect(phone.get_by_label(f"Chụp ảnh: {document}", exact=True)).to_have_count(1)
        expect(phone.get_by_label(f"Chọn ảnh hoặc PDF: {document}", exact=True)).to_have_count(1)
        expect(phone.get_by_role("button", name=f"Dùng giấy tờ đã có: {document}", exact=True)).to_have_count(1)

    # Two pages of the birth certificate: each page's buttons name the page and the document.
    certificate = BIRTH_DOCUMENTS[1]
    phone.get_by_label(f"Chọn ảnh hoặc PDF: {certificate}").set_input_files(
        [small_photo(tmp_path, "a.jpg", 10), small_photo(tmp_path, "b.jpg", 90)])
    section = phone.locator(f"[data-document='{certificate}']")
    section.locator("li.thumb").nth(1).wait_for()
    up_first = phone.get_by_role("button", name=f"Chuyển lên trang 1 của {certificate}", exact=True)
    up_second = phone.get_by_role("button", name=f"Chuyển lên trang 2 của {certificate}", exact=True)
    expect(up_first).to_be_disabled()
    expect(up_second).to_be_enabled()

    # A disabled button looks disabled: not the colours of the same button enabled, and no hand pointer.
    look = "(b) => { const s = getComputedStyle(b); return [s.backgroundColor, s.color, s.borderColor, s.cursor]; }"
    disabled, enabled = up_first.evaluate(look), up_second.evaluate(look)
    assert disabled[0] != enabled[0] and disabled[1] != enabled[1], (disabled, enabled)
    assert disabled[3] == "not-allowed", disabled
    # The sync bar's red button as it is while a round runs (disabled and read in one task: a sync round redraws it).
    busy = phone.locator("#send-now").evaluate(f"(b) => {{ b.disabled = true; return ({look})(b); }}")
    assert busy[0] != phone.locator("#submit").evaluate(look)[0], f"a disabled red button stays red: {busy}"

    phone.get_by_role("button", name=f"Xoá trang 2 của {certificate}", exact=True).click()
    expect(section.locator("li.thumb")).to_have_count(1)
    no_serious_violations(phone, "draft with pages")
