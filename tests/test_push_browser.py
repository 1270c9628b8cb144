"""Push in Chromium: the offer after submitting, subscribing with the server's key, the service worker showing a
pushed notice (delivered through the DevTools protocol) and a tap opening the dossier in the open app.

Headless Chromium has no push service to subscribe with, so pushManager is stubbed at the browser level with a
subscription of the test push service (tests/push_service.py): the server's real delivery to it is checked,
and what it decrypted is what DevTools then delivers to the service worker.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from playwright.sync_api import Error as PlaywrightError

from tests.conftest import VALID_FORM, VINH_YEN, Api, officer_api, start_server
from tests.push_service import PushService
from tests.test_pwa import NEW_PASSWORD, OUTBOX, browser, context, edited_draft, new_citizen, open_app, phone, \
    sign_in, submit_draft  # noqa: F401 - fixtures
from tests.test_sync_http import Device

STUB = """(fake) => {
  let current = null;
  const make = (options) => ({
    endpoint: fake.endpoint, expirationTime: null, options,
    toJSON: () => ({ endpoint: fake.endpoint, expirationTime: null, keys: fake.keys }),
    unsubscribe: async () => { current = null; return true; },
  });
  PushManager.prototype.subscribe = async function (options) {
    const key = new Uint8Array(options.applicationServerKey);
    window.__subscribedWith = btoa(String.fromCharCode(...key)).replace(/\\+/g, "-").replace(/\\//g, "_").replace(/=+$/, "");
    current = make({ userVisibleOnly: options.userVisibleOnly, applicationServerKey: key.buffer });
    return current;
  };
  PushManager.prototype.getSubscription = async function () { return current; };
}"""

DEVICE_ID = """() => new Promise((ok) => indexedDB.open('motcua').onsuccess = (e) =>
    e.target.result.transaction('meta').objectStore('meta').get('device_id').onsuccess = (r) => ok(r.target.result))"""

NOTIFICATIONS = """async () => (await (await navigator.serviceWorker.ready).getNotifications())
    .map((n) => ({ title: n.title, body: n.body, tag: n.tag, url: n.data && n.data.url }))"""


def eventually(page, probe, timeout: float = 20.0):
    """Poll `probe` until it returns something truthy (a condition, not a fixed wait); returns that. Waiting
    through the page lets Playwright deliver DevTools events meanwhile."""
    deadline = time.monotonic() + timeout
    while not (value := probe()):
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        page.wait_for_timeout(50)
    return value


TAP = """async () => {
    const [notification] = await self.registration.getNotifications();
    if (!notification) return false;
    self.dispatchEvent(new NotificationEvent("notificationclick", { notification }));
    return true;
}"""


def tap_notification(context, page, origin: str) -> bool:
    """Fire notificationclick in the running service worker. An idle worker is stopped by the browser (and a new
    one started by the next event), so wake it with a message and use the newest that answers."""
    page.evaluate("() => navigator.serviceWorker.controller && navigator.serviceWorker.controller.postMessage({})")
    for worker in reversed(context.service_workers):
        if not worker.url.startswith(origin):
            continue
        try:
            return worker.evaluate(TAP)
        except PlaywrightError:  # that instance has been stopped
            continue
    return False


@pytest.fixture(scope="module")
def push_service():
    with PushService() as service:
        yield service


@pytest.fixture(scope="module")
def push_server(seeded_env):
    data_dir = Path(seeded_env["MOTCUA_DATA_DIR"])
    running = start_server({**seeded_env, "MOTCUA_PUSH_INSECURE_ENDPOINTS": "1"}, cwd=data_dir.parent, data_dir=data_dir)
    yield running
    running.stop()


def test_notifications_are_offered_after_submitting_and_a_pushed_notice_opens_the_dossier(
        push_server, push_service, context, phone):  # noqa: F811 - fixtures from test_pwa
    subscription = push_service.subscribe()
    context.add_init_script(f"({STUB})({json.dumps(subscription.to_json())})")
    number, dossier_id = edited_draft(phone, push_server)
    # Not offered on the first screens: only once a dossier has been sent.
    assert phone.locator("#push-offer").count() == 0
    # The draft's first sync round ends by redrawing the dossier: a tap during that redraw can land on the old view.
    eventually(phone, lambda: phone.evaluate(OUTBOX) == [])
    submit_draft(phone)
    offer = phone.locator("#push-offer")
    offer.get_by_text("Bật thông báo để biết ngay").wait_for()
    context.grant_permissions(["notifications"], origin=push_server.url)  # the person says yes to the prompt
    offer.get_by_role("button", name="Bật thông báo").click()
    offer.get_by_text("Đã bật thông báo trên máy này.").wait_for()

    citizen = Api(push_server.url)
    citizen.sign_in(number, NEW_PASSWORD)
    assert phone.evaluate("window.__subscribedWith") == citizen.get("/api/push/key").json()["public_key"]
    [device] = citizen.get("/api/push/subscriptions").json()["items"]
    assert device["endpoint"] == subscription.endpoint and "Chrome" in device["label"]
    # Linked to this phone's sync device, once the phone has synced (the subscription stands alone before).
    assert device["device_id"] in (None, phone.evaluate(DEVICE_ID))

    # The officer receives the dossier once it has synced; the server pushes to the (test) push service.
    phone.locator("#status").filter(has_text="Đã nộp, chờ tiếp nhận").wait_for()
    officer = Device(officer_api(push_server, "intake"))
    result = officer.sync([officer.mutation("command", dossier_id, command="receive", args={})]).json()["results"][0]
    assert result["status"] == "applied", result
    push_service.wait_for(lambda got: any(r.token == subscription.token and r.payload for r in got))
    payload = push_service.for_token(subscription.token)[0].payload

    # The browser's push service would hand the decrypted payload to the service worker: DevTools does.
    cdp = context.new_cdp_session(phone)
    registrations: list[dict] = []
    cdp.on("ServiceWorker.workerRegistrationUpdated", lambda event: registrations.extend(event["registrations"]))
    cdp.send("ServiceWorker.enable")
    [registration] = eventually(phone, lambda: [r for r in registrations
                                         if r["scopeURL"].startswith(push_server.url) and not r["isDeleted"]][:1])
    phone.goto(push_server.url + "/app#/")
    phone.get_by_role("heading", name="Hồ sơ của tôi").wait_for()
    cdp.send("ServiceWorker.deliverPushMessage", {"origin": push_server.url, "registrationId": registration["registrationId"],
                                                  "data": json.dumps(payload, ensure_ascii=False)})
    [shown] = eventually(phone, lambda: phone.evaluate(NOTIFICATIONS))
    assert shown["title"] == "Hồ sơ đã được tiếp nhận" and "đã được tiếp nhận" in shown["body"]
    assert shown["tag"] == payload["tag"] and shown["url"] == f"/app#/d/{dossier_id}"
    # The app's header counts it as unread (the worker told the open page).
    phone.locator("#inbox-count").filter(has_text="1").wait_for()

    # A tap on the notification: DevTools cannot tap, so the worker is handed the same event its tap would fire.
    eventually(phone, lambda: tap_notification(context, phone, push_server.url))
    phone.wait_for_url(f"**/app#/d/{dossier_id}")
    phone.locator("#status").filter(has_text="Đã tiếp nhận").wait_for()
    assert phone.evaluate(NOTIFICATIONS) == []  # the tapped notification is closed


def test_the_inbox_lists_notices_and_this_phone_can_stop_notifications(push_server, push_service, context, phone):  # noqa: F811
    subscription = push_service.subscribe()
    context.add_init_script(f"({STUB})({json.dumps(subscription.to_json())})")
    context.grant_permissions(["notifications"], origin=push_server.url)
    number = new_citizen(push_server)
    citizen = Api(push_server.url)
    citizen.sign_in(number, NEW_PASSWORD)
    response = citizen.post("/api/dossiers", {"procedure_code": "TEST.0001", "unit_code": VINH_YEN,
                                              "data": VALID_FORM, "submit": True})
    dossier_id = response.json()["id"]
    officer = Device(officer_api(push_server, "intake"))
    officer.sync([officer.mutation("command", dossier_id, command="request_supplement",
                                   args={"reason": "Thiếu bản sao giấy khai sinh"})])
    open_app(phone, push_server)
    sign_in(phone, number, NEW_PASSWORD)
    phone.locator("#inbox-count").filter(has_text="1").wait_for()
    phone.locator("#inbox-link").click()
    notice = phone.locator("#notices li.unread")
    notice.filter(has_text="Cần bổ sung hồ sơ").wait_for()
    assert "Thiếu bản sao giấy khai sinh" in notice.inner_text()
    # This phone is not subscribed yet: turn on from the inbox, see it listed as this phone, then turn off.
    phone.get_by_role("button", name="Bật thông báo").click()
    phone.locator("#devices li.device").filter(has_text="máy này").wait_for()
    assert len(citizen.get("/api/push/subscriptions").json()["items"]) == 1
    phone.get_by_role("button", name="Tắt thông báo trên máy này").click()
    phone.get_by_text("Chưa có thiết bị nào nhận thông báo.").wait_for()
    assert citizen.get("/api/push/subscriptions").json()["items"] == []
    # Opening the notice marks it read and shows its dossier.
    phone.locator("#notices li a").first.click()
    phone.wait_for_url(f"**/app#/d/{dossier_id}")
    assert citizen.get("/api/notices").json()["unread"] == 0
