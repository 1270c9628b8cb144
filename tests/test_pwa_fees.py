"""The fee (phí, lệ phí) shows in the app before a dossier is sent, computed on the phone with the procedure's rule
(pwa/static/js/fees.js, the twin of server/catalog/fees.py; docs/catalog.md "Fees").

Real Chromium at a phone's size (tests/test_pwa.py fixtures) against a real server on loopback.
"""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.test_pwa import browser, context, open_app, phone  # noqa: F401


def test_a_certified_copy_shows_its_fee_as_the_pages_and_copies_are_typed(server, context, phone):
    """Certified copies (2.000815): 2,000 đ a page, 1,000 đ from the third page, at most 200,000 đ a copy
    (the schedule in docs/domain.md; Circular 226/2016/TT-BTC *(verify)*)."""
    open_app(phone, server)
    phone.get_by_label("Tìm thủ tục").fill("chung thuc ban sao tu ban chinh")
    phone.get_by_role("link", name=re.compile("^Chứng thực bản sao từ bản chính")).first.click()
    phone.get_by_role("button", name="Lập hồ sơ").click()
    phone.locator("#f-pages").fill("10")
    phone.locator("#f-copies").fill("2")
    expect(phone.locator("#fee")).to_have_text("Phí, lệ phí: 24.000 đ")  # 2 × (2 × 2.000 + 8 × 1.000)
    phone.locator("#f-pages").fill("400")
    expect(phone.locator("#fee")).to_have_text("Phí, lệ phí: 400.000 đ")  # the cap, 200.000 đ, for each copy
