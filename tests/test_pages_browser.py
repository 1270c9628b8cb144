"""In a real Chromium at a phone's width: the catalog can be searched and read without sideways scrolling."""

from __future__ import annotations

import pytest

from tests import a11y
from tests.browser import chromium


@pytest.fixture(scope="module")
def browser():
    with chromium() as browser:
        yield browser


@pytest.fixture
def phone(browser):
    context = browser.new_context(viewport={"width": 360, "height": 740}, device_scale_factor=2, is_mobile=True,
                                  has_touch=True, locale="vi-VN")
    a11y.watch(context)  # axe-core on each new page (tests/a11y.py)
    try:
        yield context.new_page()
        a11y.assert_clean(context)
    finally:
        context.close()


def no_sideways_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_search_the_catalog_without_diacritics_on_a_360px_phone(server, phone):
    phone.goto(server.url + "/")
    phone.get_by_label("Tìm thủ tục").fill("dang ky khai sinh")
    phone.get_by_role("button", name="Tìm").click()
    phone.wait_for_url("**/procedures?q=*")
    first = phone.locator(".card a").first
    assert "khai sinh" in first.inner_text().lower()
    assert no_sideways_scroll(phone)
    first.click()
    phone.get_by_role("heading", name="Thành phần hồ sơ").wait_for()
    assert no_sideways_scroll(phone)


def test_sign_in_on_a_phone_with_the_demo_citizen(server, phone):
    phone.goto(server.url + "/signin")
    phone.get_by_label("Số điện thoại").fill("0912345678")
    phone.get_by_label("Mật khẩu").fill("congdan123")
    phone.get_by_role("button", name="Đăng nhập").click()
    phone.get_by_role("heading", name="Hồ sơ của tôi").wait_for()
    assert no_sideways_scroll(phone)
    phone.locator("#menu-button").click()
    box = phone.get_by_role("button", name="Đăng xuất").bounding_box()
    assert box["height"] >= 44, "touch targets are thumb-sized"


def one_row(page) -> None:
    """The header's name, its way into the app and its menu button sit on one row, the header no taller than it."""
    boxes = [page.locator(selector).bounding_box() for selector in ("header .brand", "#nav-app", "#menu-button")]
    assert max(box["y"] for box in boxes) - min(box["y"] for box in boxes) < 10, boxes
    header = page.locator("header.top").bounding_box()
    assert header["height"] <= 56, f"the header takes {header['height']} px"
    assert no_sideways_scroll(page)


def test_the_website_header_is_one_row_with_a_menu_at_360px(server, phone):
    """Issue 16: the website's header took 2–3 rows at 360 px; now the name, "Mở ứng dụng" and a menu, as in the
    app. The menu says whether it is open, holds every destination, and closes with Escape (focus back on it)."""
    for path in ("/", "/procedures/1.001193", "/track"):
        phone.goto(server.url + path)
        one_row(phone)
    button, menu = phone.locator("#menu-button"), phone.locator("#site-menu")
    assert button.get_attribute("aria-expanded") == "false" and menu.is_hidden()
    button.click()
    assert button.get_attribute("aria-expanded") == "true"
    for name in ("Thủ tục", "Tra cứu hồ sơ", "Đăng nhập", "English"):
        assert menu.get_by_role("link", name=name, exact=True).is_visible(), name
    assert phone.evaluate("document.activeElement.closest('#site-menu') !== null"), "the focus goes into the menu"
    violations = a11y.check(phone, "/track (menu open)")
    assert not violations, "\n".join(map(str, violations))
    phone.keyboard.press("Escape")
    assert button.get_attribute("aria-expanded") == "false" and menu.is_hidden()
    assert phone.evaluate("document.activeElement.id") == "menu-button"

    # Signed in (the demo citizen: "Hồ sơ của tôi" and "Đăng xuất" join the menu), still one row.
    phone.goto(server.url + "/signin")
    phone.get_by_label("Số điện thoại").fill("0912345678")
    phone.get_by_label("Mật khẩu").fill("congdan123")
    phone.get_by_role("button", name="Đăng nhập").click()
    phone.get_by_role("heading", name="Hồ sơ của tôi").wait_for()
    one_row(phone)
    phone.locator("#menu-button").click()
    for name in ("Hồ sơ của tôi", "Thủ tục", "Tra cứu hồ sơ"):
        assert menu.get_by_role("link", name=name, exact=True).is_visible(), name
    phone.get_by_role("button", name="Đăng xuất").click()
    phone.wait_for_load_state()
    phone.locator("#menu-button").click()
    assert menu.get_by_role("link", name="Đăng nhập", exact=True).is_visible()

    # In English too (the longer words), one row.
    menu.get_by_role("link", name="English", exact=True).click()
    phone.wait_for_function("() => document.documentElement.lang === 'en'")
    one_row(phone)


def test_without_javascript_the_website_menu_shows_its_links(server, browser):
    """The website works without JavaScript (tests/test_pages.py): the menu cannot open there, so its links show."""
    context = browser.new_context(viewport={"width": 360, "height": 740}, java_script_enabled=False, locale="vi-VN")
    try:
        page = context.new_page()
        page.goto(server.url + "/")
        assert page.locator("#menu-button").is_hidden()
        for name in ("Thủ tục", "Tra cứu hồ sơ", "Đăng nhập"):
            assert page.locator("#site-menu").get_by_role("link", name=name, exact=True).is_visible(), name
    finally:
        context.close()


def test_the_website_pages_pass_axe(server, phone):
    """axe-core (WCAG 2 A and AA) on each page of the website, signed out and signed in, whatever the session
    already checked: no serious or critical violation."""
    def clean(path: str) -> None:
        if path:
            phone.goto(server.url + path)
        violations = a11y.check(phone, path or phone.url)
        assert not violations, "\n".join(map(str, violations))

    for path in ("/", "/procedures", "/procedures?q=khai+sinh", "/procedures/1.001193", "/track", "/signup", "/signin"):
        clean(path)
    phone.get_by_label("Số điện thoại").fill("0912345678")
    phone.get_by_label("Mật khẩu").fill("congdan123")
    phone.get_by_role("button", name="Đăng nhập").click()
    phone.get_by_role("heading", name="Hồ sơ của tôi").wait_for()
    clean("")
