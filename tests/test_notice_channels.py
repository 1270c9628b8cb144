"""Notice channels beside Web Push: Zalo ZNS and SMS over SMPP, in the province's order, with fallback, retries,
delivery receipts and idempotency (docs/push.md "Channels").

The gateways are real processes on loopback: an SMPP server (tests/smpp/server.cjs, node `smpp`) that checks the
bind, records each submit_sm and sends delivery receipts, and a ZNS stand-in (tests/zalo_server.py) that checks the
documented request and answers Zalo's documented responses. The motcua server runs as its own process with its
in-process worker, on a database of its own (so other modules' servers do not send its notices).
"""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from server.config import ConfigError, SmppSettings, load_settings
from server.notify import sms
from tests.conftest import OFFICER_PASSWORD, OFFICERS, ROOT, SUITE_RATE_LIMITS, VALID_FORM, VINH_YEN, Api, \
    motcua_env, officer_api, run_motcua, start_server, unique_phone
from tests.gateways import SOURCE, ZALO_TEMPLATE, ZALO_TOKEN, ZaloApi
from tests.push_service import PushService
from tests.smpp_server import intl, smpp_gateway  # noqa: F401  (a fixture)
from tests.test_push_delivery import wait_until
from tests.test_sync_http import Device


@pytest.fixture(scope="module")
def zalo_api(tmp_path_factory):
    api = ZaloApi(tmp_path_factory.mktemp("zalo")).start()
    yield api
    api.stop()


@pytest.fixture(scope="module")
def push_service():
    with PushService() as service:
        yield service


@pytest.fixture(scope="module")
def channel_env(tmp_path_factory, fresh_database, smpp_gateway, zalo_api):
    data_dir = tmp_path_factory.mktemp("channels") / "data"
    env = motcua_env(data_dir, fresh_database(), MOTCUA_RATE_LIMITS=SUITE_RATE_LIMITS, MOTCUA_PUSH_INSECURE_ENDPOINTS="1",
                     NOTICE_CHANNELS="push,zalo,sms", NOTICE_COST="sms=750,zalo=300", NOTICE_RETRY_BASE="0.2",
                     **smpp_gateway.env(), **zalo_api.env())
    run_motcua(["migrate"], env)
    run_motcua(["seed"], env)
    run_motcua(["catalog", "import", str(ROOT / "tests" / "data" / "catalog-test.json")], env)
    officer = OFFICERS["intake"]
    run_motcua(["user", "add", "--phone", officer.phone, "--name", officer.name, "--role", officer.role,
                "--unit", officer.unit, "--password", OFFICER_PASSWORD], env)
    return env


@pytest.fixture(scope="module")
def channel_server(channel_env):
    data_dir = Path(channel_env["MOTCUA_DATA_DIR"])
    running = start_server(channel_env, cwd=data_dir.parent, data_dir=data_dir)
    yield running
    running.stop()


def new_citizen(server) -> tuple[Api, str]:
    api, phone = Api(server.url), unique_phone()
    response = api.post("/api/accounts", {"phone": phone, "password": "matkhau-an-toan", "full_name": "Lò Văn Páo"})
    assert response.status_code == 201, response.text
    return api, phone


def received_dossier(server, citizen: Api) -> str:
    response = citizen.post("/api/dossiers", {"procedure_code": "TEST.0001", "unit_code": VINH_YEN, "data": VALID_FORM,
                                              "submit": True})
    assert response.status_code == 201, response.text
    dossier_id = response.json()["id"]
    officer = Device(officer_api(server, "intake"))
    result = officer.sync([officer.mutation("command", dossier_id, command="receive", args={})]).json()["results"][0]
    assert result["status"] == "applied", result
    return dossier_id


def channels_of(citizen: Api, kind: str = "received") -> list[dict]:
    items = [n for n in citizen.get("/api/notices").json()["items"] if n["kind"] == kind]
    return items[0]["channels"] if items else []


def test_zalo_comes_before_sms_and_carries_the_documented_request(channel_server, zalo_api, smpp_gateway):
    citizen, phone = new_citizen(channel_server)
    dossier_id = received_dossier(channel_server, citizen)
    wait_until(lambda: any(m["phone"] == intl(phone) for m in zalo_api.messages()))
    [message] = [m for m in zalo_api.messages() if m["phone"] == intl(phone)]
    assert message["template_id"] == ZALO_TEMPLATE
    data = message["template_data"]
    assert data["tieu_de"] == "Hồ sơ đã được tiếp nhận" and "của Ông/Bà đã được tiếp nhận" in data["noi_dung"]
    code = citizen.get(f"/api/dossiers/{dossier_id}").json()["code"]
    assert data["ma_ho_so"] == code and code in data["noi_dung"]
    wait_until(lambda: [c["status"] for c in channels_of(citizen)] == ["sent"])
    [zalo] = channels_of(citizen)
    assert zalo["channel"] == "zalo"
    assert message["tracking_id"].endswith(":zalo")
    # Zalo took it: no SMS is paid for.
    assert not [m for m in smpp_gateway.messages() if m["destination_addr"] == intl(phone)]


# -- Zalo's delivery receipts (the OA's webhook) --------------------------------------------------------------

def webhook(server) -> str:
    return server.url + "/api/notices/zalo/events"


def zalo_message_of(zalo_api: ZaloApi, phone: str) -> dict:
    wait_until(lambda: any(m["phone"] == intl(phone) for m in zalo_api.messages()))
    return [m for m in zalo_api.messages() if m["phone"] == intl(phone)][-1]


def test_zalo_delivery_receipt_from_the_webhook_marks_the_notice_delivered_once(channel_server, zalo_api):
    zalo_api.mode(webhook=webhook(channel_server))  # Zalo now tells the OA's webhook when a message arrives
    try:
        citizen, phone = new_citizen(channel_server)
        received_dossier(channel_server, citizen)
        msg_id = zalo_message_of(zalo_api, phone)["msg_id"]
        wait_until(lambda: [c["status"] for c in channels_of(citizen)] == ["delivered"])
    finally:
        zalo_api.mode(webhook="")
    [answer] = [r for r in zalo_api.receipts() if r["msg_id"] == msg_id]
    assert answer["status"] == 200 and '"delivered"' in answer["body"]
    # Zalo retries a call it thinks failed: the same receipt again changes nothing.
    again = zalo_api.deliver(webhook(channel_server), msg_id)
    assert again["status"] == 200 and '"already"' in again["body"]
    # A message this server never sent (another system on the same OA) is answered 200 and ignored.
    other = zalo_api.deliver(webhook(channel_server), "z99999999")
    assert other["status"] == 200 and '"unknown"' in other["body"]
    assert [c["status"] for c in channels_of(citizen)] == ["delivered"]


def test_a_forged_stale_or_malformed_zalo_receipt_is_refused_and_changes_nothing(channel_server, zalo_api):
    citizen, phone = new_citizen(channel_server)
    received_dossier(channel_server, citizen)
    msg_id = zalo_message_of(zalo_api, phone)["msg_id"]
    wait_until(lambda: [c["status"] for c in channels_of(citizen)] == ["sent"])
    url = webhook(channel_server)
    tampered = zalo_api.deliver(url, msg_id, tamper=1)  # the body changed after Zalo signed it
    assert tampered["status"] == 401 and "invalid_signature" in tampered["body"]
    stale = zalo_api.deliver(url, msg_id, age=3 * 3600)  # signed, but replayed hours later
    assert stale["status"] == 400 and "stale_event" in stale["body"]
    for body, headers, status in [
            (b'{"event_name": "user_received_message", "timestamp": "1"}', {}, 401),
            (b'{"event_name": "user_received_message", "timestamp": "1"}', {"X-ZEvent-Signature": "mac=00"}, 401),
            (b"not json", {"X-ZEvent-Signature": "mac=00"}, 400),
            (b"[1, 2]", {"X-ZEvent-Signature": "mac=00"}, 400),
            (b'{"timestamp": {"a": 1}}', {"X-ZEvent-Signature": "mac=00"}, 400),
            (b"x" * 70_000, {"X-ZEvent-Signature": "mac=00"}, 413)]:
        response = httpx.post(url, content=body, headers={"Content-Type": "application/json", **headers})
        assert response.status_code == status, (body[:40], response.text)
        assert response.json()["error"]["message"]  # says what is wrong
    assert [c["status"] for c in channels_of(citizen)] == ["sent"]
    genuine = zalo_api.deliver(url, msg_id)
    assert genuine["status"] == 200 and '"delivered"' in genuine["body"]
    assert [c["status"] for c in channels_of(citizen)] == ["delivered"]


def test_without_zalo_the_notice_falls_to_sms_with_its_receipt(channel_server, zalo_api, smpp_gateway):
    citizen, phone = new_citizen(channel_server)
    zalo_api.mode(no_zalo=intl(phone))
    dossier_id = received_dossier(channel_server, citizen)
    wait_until(lambda: [c["status"] for c in channels_of(citizen)] == ["failed", "delivered"])
    zalo, by_sms = channels_of(citizen)
    assert zalo["channel"] == "zalo" and "-118" in zalo["error"]
    assert by_sms["channel"] == "sms"
    [message] = [m for m in smpp_gateway.messages() if m["destination_addr"] == intl(phone)]
    # GSM-7 without marks, one segment, a receipt asked for, from the registered brand name
    assert message["data_coding"] == 0 and message["registered_delivery"] == 1 and message["source_addr"] == SOURCE
    assert message["text"].startswith("Ho so ") and "cua Ong/Ba da duoc tiep nhan" in message["text"]
    assert len(message["text"]) <= 160 and message["text"].isascii()
    # The officer sees which channels the notice reached, on the dossier's record.
    events = officer_api(channel_server, "intake").get(f"/api/dossiers/{dossier_id}/events").json()["items"]
    [receive] = [e for e in events if e["action"] == "receive"]
    [notice] = receive["notices"]
    assert notice["kind"] == "received" and notice["reached_by"] == ["sms"]
    assert [c["channel"] for c in notice["channels"]] == ["zalo", "sms"]
    # A citizen's own view of the record does not list other people's notices.
    assert "notices" not in citizen.get(f"/api/dossiers/{dossier_id}/events").json()["items"][0]


def test_throttling_and_dropped_connections_are_retried_and_the_sms_goes_once(channel_server, smpp_gateway):
    citizen, phone = new_citizen(channel_server)
    assert citizen.send("PUT", "/api/account/channels", {"stopped": ["zalo"]}).json()["stopped"] == ["zalo"]
    binds_before = smpp_gateway.state()["binds"]
    smpp_gateway.mode(throttle=2, drop=1)
    received_dossier(channel_server, citizen)
    wait_until(lambda: [c["status"] for c in channels_of(citizen)] == ["delivered"])
    assert [c["channel"] for c in channels_of(citizen)] == ["sms"]
    assert len([m for m in smpp_gateway.messages() if m["destination_addr"] == intl(phone)]) == 1
    state = smpp_gateway.state()
    assert state["binds"] > binds_before and state["refused_binds"] == 0  # the dropped link was bound again


def test_an_undelivered_receipt_marks_the_sms_failed(channel_server, smpp_gateway):
    citizen, phone = new_citizen(channel_server)
    citizen.send("PUT", "/api/account/channels", {"stopped": ["zalo"]})
    smpp_gateway.mode(undeliverable=intl(phone), receipt_delay=300)
    received_dossier(channel_server, citizen)
    wait_until(lambda: [c["status"] for c in channels_of(citizen)] == ["failed"])
    assert "UNDELIV" in channels_of(citizen)[0]["error"]
    smpp_gateway.mode(undeliverable="", receipt_delay=0)


def test_a_citizen_who_stopped_sms_and_zalo_has_the_inbox_only(channel_server, smpp_gateway, zalo_api):
    citizen, phone = new_citizen(channel_server)
    choices = citizen.get("/api/account/channels").json()
    assert choices["offered"] == ["push", "zalo", "sms"] and choices["stopped"] == [] and choices["has_phone"]
    assert citizen.send("PUT", "/api/account/channels", {"stopped": ["sms", "zalo"]}).status_code == 200
    received_dossier(channel_server, citizen)
    wait_until(lambda: any(n["kind"] == "received" for n in citizen.get("/api/notices").json()["items"]))
    assert channels_of(citizen) == []
    assert not [m for m in smpp_gateway.messages() if m["destination_addr"] == intl(phone)]
    assert not [m for m in zalo_api.messages() if m["phone"] == intl(phone)]
    # Allowed again: []
    assert citizen.send("PUT", "/api/account/channels", {"stopped": []}).json()["stopped"] == []


@pytest.mark.parametrize("body", [{"stopped": "sms"}, {"stopped": ["push"]}, {"stopped": ["fax"]}, {}])
def test_channel_choices_refuse_what_they_cannot_mean(channel_server, body):
    citizen, _ = new_citizen(channel_server)
    response = citizen.send("PUT", "/api/account/channels", body)
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_channels"
    anonymous = Api(channel_server.url)
    assert anonymous.get("/api/account/channels").status_code == 401


def test_a_push_that_no_browser_takes_falls_to_zalo(channel_server, push_service, zalo_api):
    citizen, phone = new_citizen(channel_server)
    gone = push_service.subscribe(410)
    response = citizen.post("/api/push/subscriptions", {**gone.to_json(), "label": "Chrome"})
    assert response.status_code == 201, response.text
    received_dossier(channel_server, citizen)
    wait_until(lambda: [c["status"] for c in channels_of(citizen)] == ["failed", "sent"])
    assert [c["channel"] for c in channels_of(citizen)] == ["push", "zalo"]
    assert [m for m in zalo_api.messages() if m["phone"] == intl(phone)]


SEND_TWICE = """
import asyncio, json, sys
from server import config, db
from server.notify.channels import send_sms

async def main():
    settings = config.install(config.load_settings())
    await db.connect(settings)
    try:
        first = await send_sms(sys.argv[1], "Mã xác nhận của Ông/Bà: 482913", key=sys.argv[2])
        again = await send_sms(sys.argv[1], "Mã xác nhận của Ông/Bà: 482913", key=sys.argv[2])
        print(json.dumps([first.created, again.created, first.id == again.id]))
    finally:
        await db.disconnect()

asyncio.run(main())
"""


def test_send_sms_is_idempotent_by_its_key(channel_server, channel_env, smpp_gateway):
    phone = unique_phone()
    result = subprocess.run([sys.executable, "-c", SEND_TWICE, phone, f"claim-test-{phone}"], env=channel_env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[true, false, true]"
    wait_until(lambda: [m for m in smpp_gateway.messages() if m["destination_addr"] == intl(phone)])
    [message] = [m for m in smpp_gateway.messages() if m["destination_addr"] == intl(phone)]
    assert message["text"] == "Ma xac nhan cua Ong/Ba: 482913"


def test_the_same_step_never_queues_a_channel_twice(channel_server, channel_env):
    """The idempotency key is unique: a second row for the same notice and channel is refused by the database."""
    script = """
import asyncio, sys
from server import config, db
from server.models import NoticeDelivery
from server.notify.channels import _queue

async def main():
    settings = config.install(config.load_settings())
    await db.connect(settings)
    try:
        row = await NoticeDelivery.filter(channel="sms").order_by("id").first()
        print(await _queue(row.notification_id, "sms", row.key) is None, await NoticeDelivery.filter(key=row.key).count())
    finally:
        await db.disconnect()

asyncio.run(main())
"""
    result = subprocess.run([sys.executable, "-c", script], env=channel_env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "1"]


# -- the texts and the settings, without a server ------------------------------------------------------------

def test_sms_text_is_one_gsm_segment_without_marks_or_ucs2_with_them():
    text = ("Hồ sơ 000.00.01.H57-260305-0001 của Ông/Bà đã được tiếp nhận. Ngày hẹn trả kết quả: 05/03/2026.")
    plain = sms.compose(text, diacritics=False)
    assert plain.segments == 1 and plain.data_coding == 0
    assert plain.parts[0] == b"Ho so 000.00.01.H57-260305-0001 cua Ong/Ba da duoc tiep nhan. Ngay hen tra ket qua: 05/03/2026."
    long_plain = sms.compose("Đường " * 60, diacritics=False)
    assert long_plain.segments == 1 and len(long_plain.parts[0]) == 160 and long_plain.parts[0].endswith(b"...")
    short = sms.compose("Hồ sơ đã có kết quả.", diacritics=True)
    assert short.segments == 1 and short.data_coding == 8 and short.parts[0].decode("utf-16-be") == "Hồ sơ đã có kết quả."
    marked = sms.compose(text, diacritics=True)
    assert marked.segments == 2 and marked.esm_class & 0x40  # concatenated, 67 characters a part
    assert sms.strip_marks("“Đăng ký” — Ông/Bà…") == '"Dang ky" - Ong/Ba...'


def test_a_delivery_receipt_is_read_from_its_tlvs_or_its_text():
    class Pdu:
        esm_class = 0x04
        short_message = b"id:M42 sub:001 dlvrd:000 submit date:2603050930 done date:2603050931 stat:UNDELIV err:001 text:"
        receipted_message_id = None
        message_state = None

    receipt = sms.parse_receipt(Pdu())
    assert receipt == sms.Receipt("M42", False, "UNDELIV")
    Pdu.receipted_message_id, Pdu.message_state = b"M43", 2
    assert sms.parse_receipt(Pdu()) == sms.Receipt("M43", True, "DELIVRD")
    Pdu.esm_class = 0  # a message from a person, not a receipt
    assert sms.parse_receipt(Pdu()) is None


def test_closing_a_broken_smpp_link_says_what_failed_and_still_lets_it_go(caplog):
    class Broken:
        def unbind(self):
            raise OSError("gateway gone")

        def disconnect(self):
            raise OSError("socket already closed")

    settings = SmppSettings("127.0.0.1", 1, "motcua", "secret", "UBND")
    link = sms.SmppLink(settings, on_receipt=lambda receipt: None)
    link.client = Broken()
    with caplog.at_level(logging.DEBUG, logger="motcua.sms"):
        link._unbind()
    assert link.client is None and link.reconnect_at > 0  # dropped, and rebinds later as after any lost link
    said = [(record.levelname, record.getMessage()) for record in caplog.records]
    assert any(level == "WARNING" and "unbind" in text and "gateway gone" in text for level, text in said), said
    assert any(level == "DEBUG" and "socket already closed" in text for level, text in said), said


def test_channel_settings_say_what_is_wrong(tmp_path):
    base = {"MOTCUA_DATA_DIR": str(tmp_path)}
    settings = load_settings(base)
    assert settings.notices.order == ("push", "zalo", "sms") and settings.notices.sms is None
    assert settings.notices.zalo is None  # off by default: push and the inbox only
    for env, words in [({"NOTICE_CHANNELS": "push,fax"}, "NOTICE_CHANNELS"),
                       ({"NOTICE_CHANNELS": "sms,sms"}, "at most once"),
                       ({"NOTICE_DAILY_CAP": "sms=lots"}, "NOTICE_DAILY_CAP"),
                       ({"SMPP_HOST": "127.0.0.1"}, "SMPP_SYSTEM_ID"),
                       ({"SMPP_HOST": "h", "SMPP_SYSTEM_ID": "a", "SMPP_PASSWORD": "b", "SMPP_SOURCE_ADDR": "c",
                         "SMPP_PORT": "x"}, "SMPP_PORT"),
                       ({"ZALO_ACCESS_TOKEN": "t"}, "ZALO_TEMPLATE_ID"),
                       ({"ZALO_ACCESS_TOKEN": "t", "ZALO_TEMPLATE_ID": "1", "ZALO_APP_ID": "42"}, "ZALO_OA_SECRET_KEY")]:
        with pytest.raises(ConfigError, match=words):
            load_settings({**base, **env})
    configured = load_settings({**base, "NOTICE_CHANNELS": "push,sms", "NOTICE_DAILY_CAP": "sms=5000",
                                "ZALO_ACCESS_TOKEN": ZALO_TOKEN, "ZALO_TEMPLATE_ID": "1",
                                "ZALO_TEMPLATES": "result_ready=2"})
    assert configured.notices.order == ("push", "sms") and configured.notices.daily_cap == {"sms": 5000}
    assert configured.notices.zalo is not None and configured.notices.zalo.templates == {"result_ready": "2"}


# -- in the app --------------------------------------------------------------------------------------------------

from tests.test_pwa import NEW_PASSWORD, browser, context, open_app, phone, sign_in  # noqa: E402,F401 - fixtures
from tests.test_pwa import new_citizen as new_app_citizen  # noqa: E402


def test_in_the_app_a_citizen_sees_how_a_notice_came_and_stops_sms(channel_server, zalo_api, context, phone):  # noqa: F811
    number = new_app_citizen(channel_server)
    citizen = Api(channel_server.url)
    citizen.sign_in(number, NEW_PASSWORD)
    received_dossier(channel_server, citizen)
    wait_until(lambda: [c["status"] for c in channels_of(citizen)] == ["sent"])
    open_app(phone, channel_server)
    sign_in(phone, number, NEW_PASSWORD)
    phone.locator("#menu-button").click()
    phone.locator("#nav-channels").click()
    phone.locator("#notices li").filter(has_text="Đã gửi qua Zalo").wait_for()
    by_sms = phone.get_by_label("Nhận tin nhắn SMS")
    assert by_sms.is_checked() and phone.get_by_label("Nhận thông báo qua Zalo").is_checked()
    by_sms.uncheck()
    wait_until(lambda: citizen.get("/api/account/channels").json()["stopped"] == ["sms"])
    phone.locator("#channel-sms:not(:checked)").wait_for()
    assert phone.get_by_label("Nhận thông báo qua Zalo").is_checked()


def test_the_daily_cap_counts_messages_and_cost_per_channel_and_province(channel_server, channel_env):
    script = """
import asyncio, json
from server import config, db
from server.notify import channels

async def main():
    settings = config.install(config.load_settings())
    await db.connect(settings)
    try:
        before = await channels.under_cap("sms", "T1")
        await channels.count_sent("sms", "T1", 1, 750)
        await channels.count_sent("sms", "T1", 2, 1500)  # a two-part SMS counts two
        after = await channels.under_cap("sms", "T1")
        other = await channels.under_cap("sms", "T2"), await channels.under_cap("zalo", "T1")
        usage = [u for u in await channels.usage() if u["province"] == "T1"]
        print(json.dumps([before, after, other, usage]))
    finally:
        await db.disconnect()

asyncio.run(main())
"""
    env = {**channel_env, "NOTICE_DAILY_CAP": "sms=3,zalo=100"}
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    import json

    before, after, other, usage = json.loads(result.stdout)
    assert before is True and after is False and other == [True, True]
    assert usage == [{"channel": "sms", "province": "T1", "sent": 3, "cost": 2250}]


from tests.test_pwa_queue import card, go_to_queue  # noqa: E402


def test_the_officer_sees_in_the_processing_record_that_the_citizen_was_told_by_zalo(channel_server, zalo_api, context, phone):  # noqa: F811
    zalo_api.mode(webhook=webhook(channel_server))
    try:
        citizen, number = new_citizen(channel_server)
        dossier_id = received_dossier(channel_server, citizen)
        wait_until(lambda: [c["status"] for c in channels_of(citizen)] == ["delivered"])
    finally:
        zalo_api.mode(webhook="")
    open_app(phone, channel_server)
    sign_in(phone, OFFICERS["intake"].phone, OFFICER_PASSWORD)
    go_to_queue(phone)
    item = card(phone, dossier_id)
    item.wait_for()
    item.get_by_role("link", name="Xem", exact=True).click()
    told = phone.locator("#timeline .told[data-kind='received']")
    told.wait_for()
    assert told.inner_text() == "Đã báo công dân qua: Zalo (đã đến máy)"
    assert told.get_attribute("data-reached") == "zalo"


def test_the_app_knows_the_same_citizen_notice_kinds_as_the_server():
    from server.notify.channels import CITIZEN_KINDS

    source = (ROOT / "pwa" / "static" / "js" / "dossier.js").read_text()
    line = next(x for x in source.splitlines() if x.startswith("const CITIZEN_KINDS"))
    assert set(line.split("[", 1)[1].split("]", 1)[0].replace('"', "").replace(" ", "").split(",")) == set(CITIZEN_KINDS)
