"""Paying at a gateway, end to end against a loopback VNPAY-like gateway process (tests/vnpay_gateway.py;
docs/payments.md "Gateway"): our signed redirect passes its checks; only a verified notification with the right
amount pays, once; tampered signatures, wrong amounts, replays, unknown orders, failures and a return without a
notification change nothing."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit, urlencode

import httpx
import pytest

from tests.conftest import ROOT, VALID_FORM, free_port, officer_api, start_server
from tests.test_pwa import (NEW_PASSWORD, browser, citizen_api, context, open_app, phone,  # noqa: F401 - fixtures
                            sign_in)
from tests.test_pwa import new_citizen as new_phone
from tests.processes import stop_process
from tests.test_supplement import command
from tests.test_sync_http import Device, create_changes, new_citizen

TMN, SECRET = "MOTCUA01", "KHOABIMATTHUNGHIEM0123456789ABCD"
FEE = 15000


@pytest.fixture(scope="module")
def gateway():
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "tests.vnpay_gateway", "--port", str(port), "--tmn", TMN,
                                "--secret", SECRET], cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(url + "/", timeout=2)
            break
        except httpx.TransportError:
            time.sleep(0.1)  # polling for the port to open
    yield url
    stop_process(process)


@pytest.fixture(scope="module")
def paying_server(seeded_env, gateway):
    """A second instance on the suite's database, with the gateway configured."""
    data_dir = Path(seeded_env["MOTCUA_DATA_DIR"])
    env = {**seeded_env, "VNPAY_URL": gateway + "/paymentv2/vpcpay.html", "VNPAY_TMN_CODE": TMN,
           "VNPAY_HASH_SECRET": SECRET}
    running = start_server(env, cwd=data_dir.parent, data_dir=data_dir)
    yield running
    running.stop()


def awaiting(server) -> tuple[Device, str]:
    phone = Device(new_citizen(server))
    leader = Device(officer_api(server, "leader"))
    dossier_id = str(uuid.uuid4())
    phone.sync([phone.mutation("create", dossier_id, changes=create_changes(**VALID_FORM))])
    assert command(phone, dossier_id, "submit")["status"] == "applied"
    assert command(Device(officer_api(server, "intake")), dossier_id, "receive")["status"] == "applied"
    assert command(leader, dossier_id, "start")["status"] == "applied"
    assert command(leader, dossier_id, "request_payment", reason="Nộp lệ phí")["status"] == "applied"
    return phone, dossier_id


def start(phone: Device, dossier_id: str) -> tuple[str, str]:
    response = phone.api.post(f"/api/dossiers/{dossier_id}/payment/gateway")
    assert response.status_code == 201, response.text
    return response.json()["url"], response.json()["txn_ref"]


def simulate(gateway: str, server, txn_ref: str, **options) -> dict:
    body = {"txn_ref": txn_ref, "ipn_url": server.url + "/api/payments/vnpay/ipn", **options}
    return httpx.post(gateway + "/simulate", json=body, timeout=60).json()


def status(phone: Device, dossier_id: str) -> dict:
    return phone.api.get(f"/api/dossiers/{dossier_id}/payment").json() | {
        "status": phone.api.get(f"/api/dossiers/{dossier_id}").json()["status"]}


def test_the_redirect_passes_the_gateways_checks(paying_server, gateway):
    phone, dossier_id = awaiting(paying_server)
    url, _ = start(phone, dossier_id)
    assert url.startswith(gateway + "/paymentv2/vpcpay.html?")
    params = dict(parse_qsl(urlsplit(url).query))
    assert (params["vnp_Amount"], params["vnp_CurrCode"], params["vnp_Version"]) == (str(FEE * 100), "VND", "2.1.0")
    assert params["vnp_ReturnUrl"] == paying_server.url + "/api/payments/vnpay/return"
    assert httpx.get(url).status_code == 200
    # The gateway refuses a redirect whose amount was changed after we signed it.
    forged = url.replace(f"vnp_Amount={FEE * 100}", "vnp_Amount=100")
    assert httpx.get(forged).json() == {"error": "invalid vnp_SecureHash"}


def test_a_verified_notification_pays_once_and_the_rest_change_nothing(paying_server, gateway):
    phone, dossier_id = awaiting(paying_server)
    url, txn = start(phone, dossier_id)
    assert httpx.get(url).status_code == 200

    # The citizen comes back before any notification: brought to the app, nothing paid.
    early = simulate(gateway, paying_server, txn, times=0)
    back = httpx.get(early["return_url"], follow_redirects=False)
    assert (back.status_code, back.headers["location"]) == (303, f"/app#/d/{dossier_id}")
    assert status(phone, dossier_id)["status"] == 6

    assert simulate(gateway, paying_server, txn, tamper=True)["ipn"] == [
        {"RspCode": "97", "Message": "Invalid signature"}]
    assert simulate(gateway, paying_server, txn, amount_vnd=FEE - 1000)["ipn"][0]["RspCode"] == "04"
    assert simulate(gateway, paying_server, "NO-SUCH-ORDER")["ipn"][0]["RspCode"] == "01"
    assert status(phone, dossier_id)["status"] == 6

    # The real notification, then its replay: paid once.
    answers = simulate(gateway, paying_server, txn, times=2)["ipn"]
    assert [answer["RspCode"] for answer in answers] == ["00", "02"]
    paid = status(phone, dossier_id)
    assert (paid["status"], paid["channel"]) == (4, "gateway") and paid["reference"].startswith("vnpay ")
    assert simulate(gateway, paying_server, txn)["ipn"][0]["RspCode"] == "02"


def test_a_failed_payment_changes_nothing(paying_server, gateway):
    phone, dossier_id = awaiting(paying_server)
    url, txn = start(phone, dossier_id)
    assert httpx.get(url).status_code == 200
    assert simulate(gateway, paying_server, txn, response_code="24")["ipn"][0]["RspCode"] == "00"  # cancelled
    assert status(phone, dossier_id)["status"] == 6


def test_a_forged_return_is_refused(paying_server):
    forged = urlencode({"vnp_TxnRef": "X", "vnp_Amount": "1500000", "vnp_ResponseCode": "00", "vnp_TmnCode": TMN,
                        "vnp_SecureHash": "0" * 128})
    response = httpx.get(f"{paying_server.url}/api/payments/vnpay/return?{forged}", follow_redirects=False)
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_signature"


def test_no_device_can_claim_a_gateway_payment(paying_server, gateway):
    phone, dossier_id = awaiting(paying_server)
    start(phone, dossier_id)
    claimed = command(phone, dossier_id, "payment_done", channel="gateway", gateway_order=1)
    assert (claimed["status"], claimed["code"]) == ("rejected", "gateway_not_confirmed")
    cash = command(phone, dossier_id, "payment_done")
    assert (cash["status"], cash["code"]) == ("rejected", "forbidden")


def test_only_the_owner_starts_a_gateway_payment(paying_server, server):
    phone, dossier_id = awaiting(paying_server)
    assert new_citizen(paying_server).post(f"/api/dossiers/{dossier_id}/payment/gateway").status_code == 404
    assert officer_api(paying_server, "leader").post(f"/api/dossiers/{dossier_id}/payment/gateway").status_code == 403
    # Without a gateway configured (the suite's own server): said so, in words a citizen understands.
    other = Device(phone.api)
    other.api.http.base_url = server.url
    refused = other.api.post(f"/api/dossiers/{dossier_id}/payment/gateway")
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "gateway_not_configured")


def test_the_citizen_pays_online_from_the_app(paying_server, gateway, context, phone):
    """In Chromium: the app offers the gateway (this server has one), the button sends the browser to the loopback
    gateway with a redirect it accepts; the gateway's notification pays and the app shows the dossier moving on."""
    number = new_phone(paying_server)
    citizen = Device(citizen_api(paying_server, number, NEW_PASSWORD))
    leader = Device(officer_api(paying_server, "leader"))
    dossier_id = str(uuid.uuid4())
    citizen.sync([citizen.mutation("create", dossier_id, changes=create_changes(**VALID_FORM))])
    assert command(citizen, dossier_id, "submit")["status"] == "applied"
    assert command(Device(officer_api(paying_server, "intake")), dossier_id, "receive")["status"] == "applied"
    assert command(leader, dossier_id, "start")["status"] == "applied"
    assert command(leader, dossier_id, "request_payment", reason="Nộp lệ phí")["status"] == "applied"

    open_app(phone, paying_server)
    sign_in(phone, number, NEW_PASSWORD)
    phone.locator(f"li.dossier[data-id='{dossier_id}'] a").click()
    button = phone.get_by_role("button", name="Thanh toán trực tuyến (VNPAY)")
    button.wait_for()
    with phone.expect_navigation(url=lambda url: url.startswith(gateway)):
        button.click()
    assert "accepted" in phone.content()  # the gateway checked our signed redirect and took the order
    txn = dict(parse_qsl(urlsplit(phone.url).query))["vnp_TxnRef"]
    answer = simulate(gateway, paying_server, txn)
    assert answer["ipn"] == [{"RspCode": "00", "Message": "Confirm Success"}]
    phone.goto(answer["return_url"])  # back through our return, to the dossier in the app
    phone.wait_for_url(lambda url: url.endswith(f"#/d/{dossier_id}"))
    phone.locator("#send-now").click()
    phone.locator("#payment-state").filter(has_text="Đã nộp phí, lệ phí 15.000 đ").wait_for()
