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
    box = phone.get_by_role("button", name="Đăng xuất").bounding_box()
    assert box["height"] >= 44, "touch targets are thumb-sized"


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
