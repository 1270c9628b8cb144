"""Pages the server holds reach the app through sync (docs/sync.md §11.1): attachment records are synced state.

A citizen sends pages from another phone (here: over HTTP); the unit's officer, and the citizen's own second
phone, pull the server's record of each page with the dossier, see it with its verdict (verified, or refused
with the reason) even offline, and open a verified one through a short-lived link when online.

Real Chromium at a phone's size (tests/test_pwa.py fixtures) against a real server on loopback.
"""

from __future__ import annotations

from playwright.sync_api import expect

from tests.conftest import OFFICER_PASSWORD, OFFICERS
from tests.conftest import officer_api
from tests.test_attachments_http import big_pdf, finalize, jpeg, put, register
from tests.test_pwa import DEMO_PASSWORD, DEMO_PHONE, browser, context, idb, open_app, open_menu, phone, sign_in  # noqa: F401
from tests.test_pwa_queue import card, go_to_queue, submitted_online
from tests.conftest import Api


def sent_from_elsewhere(server, dossier_id: str, content: bytes, page: int, content_type: str = "image/jpeg") -> dict:
    """The demo citizen sends one page of "Tờ khai" from another device; returns the server's answer."""
    citizen = Api(server.url)
    citizen.sign_in(DEMO_PHONE, DEMO_PASSWORD)
    registered = register(citizen, dossier_id, content, page=page, content_type=content_type).json()
    assert put(server.url, registered["upload"], content).status_code == 200
    return finalize(citizen, registered["attachment"]["id"]).json()


def page_item(phone, attachment_id: str):
    return phone.locator(f"#pages li[data-page='{attachment_id}']")


def test_an_officer_sees_the_citizens_pages_with_their_verdicts_offline_too(server, context, phone):
    dossier_id = submitted_online(server, "Lò Thị Mai")
    good = sent_from_elsewhere(server, dossier_id, jpeg(seed=21), page=1)
    bad = sent_from_elsewhere(server, dossier_id, jpeg(seed=22)[:4000], page=2)
    scan = sent_from_elsewhere(server, dossier_id, big_pdf(3000), page=3, content_type="application/pdf")
    unopened = sent_from_elsewhere(server, dossier_id, jpeg(seed=23), page=4)
    assert (good["status"], bad["status"], scan["status"], unopened["status"]) == ("verified", "rejected", "verified", "verified")
    # Only the dossier's unit and its owner may list its pages and their links (the access rule, dossier.read).
    assert officer_api(server, "intake_elsewhere").get(f"/api/dossiers/{dossier_id}/attachments").status_code == 404

    open_app(phone, server)
    sign_in(phone, OFFICERS["intake"].phone, OFFICER_PASSWORD)
    go_to_queue(phone)
    # The officer sees what the citizen owes, by the procedure's rule for the online channel (fees.js).
    expect(card(phone, dossier_id).locator(".fee")).to_have_text("Phí, lệ phí: 15.000 đ")
    card(phone, dossier_id).get_by_role("link", name="Xem").click()
    expect(page_item(phone, good["id"])).to_have_attribute("data-status", "verified")
    expect(page_item(phone, good["id"])).to_contain_text("Đã gửi và kiểm tra")
    expect(page_item(phone, bad["id"])).to_contain_text("Bị từ chối: " + bad["reject_reason"])
    document = phone.locator("#pages .document[data-document='Tờ khai']")
    expect(document.locator("li")).to_have_count(4)
    records = {r["id"]: r for r in idb(phone, "attachments")}
    assert records[good["id"]]["dossier_id"] == dossier_id and records[bad["id"]]["reject_code"] == bad["reject_code"]
    # Only the pages' records come with sync, never their bytes: an officer's phone opens a page when asked.
    assert "blob" not in records[good["id"]]

    # Online: each verified photo shows as the server's thumbnail (320 px), fetched through its signed link.
    for page in (good, unopened):
        phone.wait_for_function("id => { const img = document.querySelector(`#pages li[data-page='${id}'] img`);"
                                " return img && img.complete && img.naturalWidth === 320; }", arg=page["id"])
    # A tap opens the full page over the screen; "Đóng" closes it.
    page_item(phone, good["id"]).get_by_role("button", name="Mở Tờ khai, trang 1").click()
    viewer = phone.locator("#page-viewer")
    expect(viewer).to_be_visible()
    phone.wait_for_function("() => { const img = document.querySelector('#page-viewer img');"
                            " return img && img.complete && img.naturalWidth === 800; }")
    viewer.get_by_role("button", name="Đóng").click()
    expect(viewer).to_have_count(0)
    # A PDF opens in the browser's own viewer.
    with context.expect_page() as opened:
        page_item(phone, scan["id"]).get_by_role("button").click()
    assert opened.value.url.startswith("blob:")
    opened.value.close()
    expect(page_item(phone, bad["id"]).get_by_role("button")).to_be_disabled()

    # Offline, after a reload: the records stay on the phone, the thumbnails and the pages already opened show from
    # the phone's cache; a page never opened says a connection is needed.
    context.set_offline(True)
    try:
        phone.reload()
        expect(page_item(phone, good["id"])).to_contain_text("Đã gửi và kiểm tra")
        for page in (good, unopened):
            phone.wait_for_function("id => { const img = document.querySelector(`#pages li[data-page='${id}'] img`);"
                                    " return img && img.complete && img.naturalWidth === 320; }", arg=page["id"])
        page_item(phone, good["id"]).get_by_role("button").click()
        phone.wait_for_function("() => { const img = document.querySelector('#page-viewer img');"
                                " return img && img.complete && img.naturalWidth === 800; }")
        phone.locator("#page-viewer").get_by_role("button", name="Đóng").click()
        with context.expect_page() as opened:
            page_item(phone, scan["id"]).get_by_role("button").click()
        assert opened.value.url.startswith("blob:")
        opened.value.close()
        page_item(phone, unopened["id"]).get_by_role("button").click()
        expect(phone.locator("#pages-error")).to_contain_text("Cần có mạng")
    finally:
        context.set_offline(False)


def test_the_citizens_other_phone_learns_the_servers_verdict_and_a_later_page(server, context, phone):
    dossier_id = submitted_online(server, "Hà Văn Sơn")
    first = sent_from_elsewhere(server, dossier_id, jpeg(seed=31), page=1)
    open_app(phone, server)
    sign_in(phone, DEMO_PHONE, DEMO_PASSWORD)
    phone.locator(f"a[href='#/d/{dossier_id}']").click()
    expect(page_item(phone, first["id"])).to_contain_text("Đã gửi và kiểm tra")
    # A page sent meanwhile from the other phone appears at the next sync, without leaving the screen.
    second = sent_from_elsewhere(server, dossier_id, jpeg(seed=32), page=2)
    phone.get_by_role("button", name="Gửi ngay").click()
    expect(page_item(phone, second["id"])).to_have_attribute("data-number", "2")
    # Signing out takes the records with the account (a shared phone).
    open_menu(phone)
    phone.locator("#signout").click()
    expect(phone.locator("#account #nav-signin")).to_be_attached()  # in the menu, closed after the tap
    assert idb(phone, "attachments") == []


def test_a_phone_that_synced_before_the_page_records_pulls_everything_again_once(server, context, phone):
    """Version 1 of the app's database had no attachments store: its cursor had skipped the page records."""
    phone.goto(server.url + "/healthz")  # the app's origin, before the app ever ran
    phone.evaluate("""() => new Promise((ok, fail) => {
        const request = indexedDB.open('motcua', 1);
        request.onupgradeneeded = () => {
            const db = request.result;
            for (const [name, keyPath] of [['meta', null], ['procedures', 'code'], ['details', 'code'], ['units', 'code'],
                                           ['dossiers', 'id'], ['outbox', 'seq'], ['conflicts', 'id']]) {
                db.createObjectStore(name, keyPath ? { keyPath } : undefined);
            }
            request.transaction.objectStore('meta').put('YzE6OTk', 'cursor');
        };
        request.onsuccess = () => { request.result.close(); ok(); };
        request.onerror = () => fail(request.error);
    })""")
    open_app(phone, server)
    opened = phone.evaluate("""() => new Promise(ok => indexedDB.open('motcua').onsuccess = e => {
        const db = e.target.result;
        const names = [...db.objectStoreNames];
        db.transaction('meta').objectStore('meta').get('cursor').onsuccess = r => ok([db.version, names, r.target.result ?? null]);
    })""")
    version, stores, cursor = opened
    assert version == 2 and "attachments" in stores
    assert cursor != "YzE6OTk"  # dropped at the upgrade (a later pull may have stored a new one)
