"""Walk-in dossiers reach their citizens in the app (docs/workflow.md "Desk and field intake", docs/pwa.md "Claiming a
dossier"): in Chromium against a real server and a real OpenID provider on loopback (tests/oidc_provider.py).

- a citizen signs in through the identity provider and finds in "Hồ sơ của tôi" the dossier an officer took at the
  desk with their personal identification number;
- a citizen claims a desk dossier by its code and the one-time code sent by SMS to the phone on the dossier (the
  server's worker sends it over SMPP to the SMPP test server on loopback, where the test reads it:
  tests/smpp_server.py);
- wrong codes are refused, and then the tries are rate-limited;
- where the server has no SMS gateway, the claim screen says to bring the receipt to the desk."""

from __future__ import annotations

import random
import uuid
from pathlib import Path

import pytest

from tests.conftest import OFFICER_PASSWORD, OFFICERS, ROOT, SUITE_RATE_LIMITS, VALID_FORM, free_port, \
    motcua_env, officer_api, run_motcua, start_server, unique_phone
from tests.oidc_provider import CLIENT_ID, CLIENT_SECRET, start_provider
from tests.smpp_server import last_code, smpp_gateway  # noqa: F401  (a fixture)
from tests.test_pwa import browser, context, open_app, open_menu, phone, sign_in, new_citizen  # noqa: F401
from tests.test_sync_http import Device, create_changes


@pytest.fixture(scope="module")
def setup(tmp_path_factory, fresh_database, smpp_gateway):
    workdir = tmp_path_factory.mktemp("claim")
    data_dir = workdir / "data"
    provider_port = free_port()
    # The one-time code may be tried 3 times in 10 minutes per account here, so the test reaches the limit.
    env = motcua_env(data_dir, fresh_database(), OIDC_ISSUER=f"http://127.0.0.1:{provider_port}",
                     OIDC_CLIENT_ID=CLIENT_ID, OIDC_CLIENT_SECRET=CLIENT_SECRET,
                     OIDC_SCOPE="openid profile phone personal_id",
                     MOTCUA_RATE_LIMITS=SUITE_RATE_LIMITS + ",claim_confirm.account=3/600",
                     NOTICE_RETRY_BASE="0.2", **smpp_gateway.env())
    run_motcua(["migrate"], env)
    run_motcua(["seed"], env)
    run_motcua(["catalog", "import", str(ROOT / "tests" / "data" / "catalog-test.json")], env)
    officer = OFFICERS["intake"]
    run_motcua(["user", "add", "--phone", officer.phone, "--name", officer.name, "--role", officer.role,
                "--unit", officer.unit, "--password", OFFICER_PASSWORD], env)
    server = start_server(env, cwd=workdir, data_dir=data_dir)
    provider = start_provider(provider_port, server.url, workdir)
    yield server, provider
    provider.stop()
    server.stop()


@pytest.fixture
def server(setup):
    return setup[0]


@pytest.fixture
def provider(setup):
    setup[1].mode("normal")
    return setup[1]


def personal_id() -> str:
    return "026301" + f"{random.randrange(10**6):06d}"  # VALID_FORM's applicant: Vĩnh Phúc, a woman born in 2001


def take_at_desk(server, phone_number: str, number: str) -> tuple[str, str]:
    """An intake officer files and receives a walk-in dossier for this phone and personal id: its id and code."""
    desk = Device(officer_api(server, "intake"))
    dossier_id = str(uuid.uuid4())
    changes = {**create_changes(**{**VALID_FORM, "phone": phone_number, "cccd": number}),
               "channel": {"value": "direct"}}
    for mutation in (desk.mutation("create", dossier_id, changes=changes),
                     desk.mutation("command", dossier_id, command="receive")):
        result = desk.sync([mutation]).json()["results"][0]
        assert result["status"] == "applied", result
    return dossier_id, desk.record(dossier_id)["data"]["code"]


def card(page, dossier_id: str):
    return page.locator(f'.card.dossier[data-id="{dossier_id}"]')


def test_a_citizen_signing_in_through_the_provider_finds_the_desk_dossier_taken_with_their_personal_id(
        server, provider, phone):
    number = personal_id()
    dossier_id, _ = take_at_desk(server, unique_phone(), number)
    provider.account(sub=number, name="Nguyễn Thị Mai", phone_number=unique_phone())
    open_app(phone, server)
    phone.goto(server.url + "/app#/signin")
    phone.locator("#signin-oidc").click()
    phone.wait_for_url(server.url + "/app")
    card(phone, dossier_id).wait_for()  # pulled by the first sync round after signing in
    # A dossier taken later with the same number is theirs from the start: it arrives with the next round.
    later, _ = take_at_desk(server, unique_phone(), number)
    phone.locator("#send-now").click()
    card(phone, later).wait_for()


def claim_screen(page) -> None:
    open_menu(page)
    page.locator("#nav-claim").click()
    page.get_by_role("heading", name="Nhận hồ sơ nộp tại bộ phận một cửa").wait_for()


def test_a_citizen_claims_a_desk_dossier_by_its_code_and_the_one_time_code(server, phone, smpp_gateway):
    dossier_phone = unique_phone()
    dossier_id, code = take_at_desk(server, dossier_phone, personal_id())
    open_app(phone, server)
    sign_in(phone, new_citizen(server), "matkhau-an-toan")
    claim_screen(phone)
    phone.get_by_label("Mã hồ sơ (trên giấy tiếp nhận)").fill(code)
    phone.get_by_role("button", name="Gửi mã xác nhận").click()
    sent = phone.locator("#claim-sent")
    sent.wait_for()
    assert f"Mã xác nhận đã gửi đến số điện thoại …{dossier_phone[-3:]}" in sent.inner_text()
    otp = last_code(smpp_gateway, dossier_phone)
    phone.get_by_label("Mã xác nhận (6 chữ số)").fill("000000" if otp != "000000" else "111111")
    phone.get_by_role("button", name="Xác nhận").click()
    phone.get_by_text("Mã xác nhận không đúng. Ông/Bà còn 4 lần nhập.").wait_for()
    phone.get_by_label("Mã xác nhận (6 chữ số)").fill(otp)
    phone.get_by_role("button", name="Xác nhận").click()
    phone.get_by_text(f"Hồ sơ {code} đã được thêm vào mục “Hồ sơ của tôi”.").wait_for()
    phone.locator("#claim-to-home").click()
    card(phone, dossier_id).wait_for()


def test_wrong_codes_are_refused_then_rate_limited(server, phone, smpp_gateway):
    dossier_phone = unique_phone()
    _, code = take_at_desk(server, dossier_phone, personal_id())
    open_app(phone, server)
    sign_in(phone, new_citizen(server), "matkhau-an-toan")
    phone.goto(server.url + "/app#/claim")  # also reached from the home screen
    phone.get_by_label("Mã hồ sơ (trên giấy tiếp nhận)").fill(code)
    phone.get_by_role("button", name="Gửi mã xác nhận").click()
    phone.locator("#claim-sent").wait_for()
    otp = last_code(smpp_gateway, dossier_phone)
    wrong = "000000" if otp != "000000" else "111111"
    error = phone.locator("#claim-error")
    for left in (4, 3):
        phone.get_by_label("Mã xác nhận (6 chữ số)").fill(wrong)
        phone.get_by_role("button", name="Xác nhận").click()
        phone.get_by_text(f"Mã xác nhận không đúng. Ông/Bà còn {left} lần nhập.").wait_for()
    phone.get_by_label("Mã xác nhận (6 chữ số)").fill(wrong)
    phone.get_by_role("button", name="Xác nhận").click()
    phone.get_by_text("Mã xác nhận không đúng. Ông/Bà còn 2 lần nhập.").wait_for()
    # The fourth try in ten minutes is not even checked (claim_confirm.account=3/600 on this server)
    phone.get_by_label("Mã xác nhận (6 chữ số)").fill(otp)
    phone.get_by_role("button", name="Xác nhận").click()
    phone.get_by_text("Đã gửi quá nhiều yêu cầu trong thời gian ngắn", exact=False).wait_for()
    assert "Vui lòng thử lại sau" in error.inner_text()


@pytest.fixture(scope="module")
def server_without_sms(seeded_env):
    """A server of the suite's seeded instance, which has no SMS gateway (SMPP_HOST unset)."""
    data_dir = Path(seeded_env["MOTCUA_DATA_DIR"])
    running = start_server(seeded_env, cwd=data_dir.parent, data_dir=data_dir)
    yield running
    running.stop()


def test_without_sms_the_claim_screen_says_to_bring_the_receipt_to_the_desk(server_without_sms, phone):
    _, code = take_at_desk(server_without_sms, unique_phone(), personal_id())
    open_app(phone, server_without_sms)
    sign_in(phone, new_citizen(server_without_sms), "matkhau-an-toan")
    claim_screen(phone)
    phone.get_by_label("Mã hồ sơ (trên giấy tiếp nhận)").fill(code)
    phone.get_by_role("button", name="Gửi mã xác nhận").click()
    error = phone.locator("#claim-error")
    error.wait_for()
    assert error.inner_text() == ("Chưa gửi được mã xác nhận vì hệ thống chưa có kênh tin nhắn SMS. Ông/Bà hãy mang "
                                  "giấy hẹn đến bộ phận một cửa để được gắn hồ sơ vào tài khoản.")
    assert phone.locator("#claim-sent").count() == 0  # still asking for the dossier code: no code went anywhere
