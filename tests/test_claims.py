"""Walk-in dossiers belong to people (docs/workflow.md "Desk and field intake", server/dossiers/claims.py): a desk
dossier keeps the applicant's phone and personal identification number in their own columns, and a citizen claims
it with its code and a one-time code sent by SMS to the phone on the dossier. Nobody else can.

The server here has an SMS gateway: the SMPP test server (tests/smpp/server.cjs) on loopback, to which its worker sends
the texts; the one-time code is read from what that gateway received (tests/smpp_server.py), as a phone would read
it. No endpoint reveals it. Without an SMS gateway (the suite's shared server), claiming by code is refused."""

from __future__ import annotations

import random
import uuid

from pathlib import Path

import pytest

from tests.conftest import OFFICER_PASSWORD, OFFICERS, ROOT, SUITE_RATE_LIMITS, VALID_FORM, Api, motcua_env, \
    officer_api, run_motcua, start_server, unique_phone
from tests.smpp_server import code_in, last_code, smpp_gateway, texts_to  # noqa: F401  (a fixture)
from tests.test_sync_http import Device, create_changes, new_citizen


def personal_id() -> str:
    """A valid số định danh for VALID_FORM's applicant (Vĩnh Phúc 026, a woman born in 2001), unique per test."""
    return "026301" + f"{random.randrange(10**6):06d}"


@pytest.fixture(scope="module")
def server(tmp_path_factory, fresh_database, smpp_gateway):
    """A motcua server of this module, with the SMPP test server as its SMS gateway and its in-process worker
    sending; on a database of its own, so no other server's worker sends (or fails) its texts."""
    data_dir = tmp_path_factory.mktemp("claims") / "data"
    env = motcua_env(data_dir, fresh_database(), MOTCUA_RATE_LIMITS=SUITE_RATE_LIMITS, NOTICE_RETRY_BASE="0.2",
                     **smpp_gateway.env())
    run_motcua(["migrate"], env)
    run_motcua(["seed"], env)
    run_motcua(["catalog", "import", str(ROOT / "tests" / "data" / "catalog-test.json")], env)
    officer = OFFICERS["intake"]
    run_motcua(["user", "add", "--phone", officer.phone, "--name", officer.name, "--role", officer.role,
                "--unit", officer.unit, "--password", OFFICER_PASSWORD], env)
    running = start_server(env, cwd=data_dir.parent, data_dir=data_dir)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def server_without_sms(seeded_env):
    """A server of the suite's seeded instance, which has no SMS gateway (SMPP_HOST unset)."""
    data_dir = Path(seeded_env["MOTCUA_DATA_DIR"])
    running = start_server(seeded_env, cwd=data_dir.parent, data_dir=data_dir)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def desk(server) -> Device:
    return Device(officer_api(server, "intake"))


def take_at_desk(desk: Device, phone: str, number: str, *, receive: bool = True) -> tuple[str, str | None]:
    """An officer files a walk-in dossier for this phone and personal id and receives it: its id and code."""
    dossier_id = str(uuid.uuid4())
    changes = {**create_changes(**{**VALID_FORM, "phone": phone, "cccd": number}), "channel": {"value": "direct"}}
    result = desk.sync([desk.mutation("create", dossier_id, changes=changes)]).json()["results"][0]
    assert result["status"] == "applied", result
    if receive:
        result = desk.sync([desk.mutation("command", dossier_id, command="receive")]).json()["results"][0]
        assert result["status"] == "applied", result
    return dossier_id, desk.record(dossier_id)["data"].get("code")


def db_url(server) -> str:
    return server.env["DATABASE_URL"]


def applicant_columns(server, dossier_id: str) -> tuple[str | None, str | None]:
    import asyncio
    import threading

    from tortoise import Tortoise

    from server import db
    from server.models import Dossier

    class Settings:
        database_url = db_url(server)

    async def read() -> tuple[str | None, str | None]:
        await Tortoise.init(config=db.tortoise_config(Settings()))
        try:
            row = await Dossier.get(id=dossier_id)
            return row.applicant_phone, row.applicant_personal_id
        finally:
            await Tortoise.close_connections()

    found: list = []
    thread = threading.Thread(target=lambda: found.append(asyncio.run(read())))
    thread.start()
    thread.join(60)
    return found[0]


def test_a_desk_dossier_keeps_the_applicants_phone_and_personal_id_in_their_columns(server, desk):
    phone, number = unique_phone(), personal_id()
    dossier_id, _ = take_at_desk(desk, f"+84 {phone[1:4]} {phone[4:]}", number, receive=False)
    assert applicant_columns(server, dossier_id) == (phone, number)  # normalised to 0…


@pytest.mark.parametrize("phone, number, code", [
    ("0912345678", "026301123", "invalid_form"),  # this form takes 12 digits only
    ("0912345678", "02630112345x", "invalid_form"),
    ("12345", "026301123456", "invalid_form"),
    ("0912345678", "0" * 5000, "invalid_form"),
    ("0912345678", "", "invalid_form"),  # required by this form (contact_required where a form leaves it optional)
])
def test_hostile_or_wrong_numbers_on_a_desk_dossier_are_refused(desk, phone, number, code):
    changes = {**create_changes(**{**VALID_FORM, "phone": phone, "cccd": number}), "channel": {"value": "direct"}}
    result = desk.sync([desk.mutation("create", str(uuid.uuid4()), changes=changes)]).json()["results"][0]
    assert (result["status"], result["code"]) == ("rejected", code), result


def test_an_old_identity_card_number_does_not_make_a_walk_in_dossier_linkable():
    """A form that accepts the old 9-digit identity card number still needs the 12-digit personal id from the desk."""
    from server.workflow.policy import _walk_in_contact

    form = {"fields": [{"name": "dien_thoai", "type": "phone"}, {"name": "so_giay_to", "type": "cccd",
                                                                 "allow_cmnd": True}]}
    old = _walk_in_contact(form, {"form.dien_thoai": "0912345678", "form.so_giay_to": "026301123"})
    assert old is not None and old.code == "personal_id_required" and "12 chữ số" in old.reason["vi"]
    assert _walk_in_contact(form, {"form.dien_thoai": "0912345678", "form.so_giay_to": "026301123456"}) is None


def start(citizen: Api, code: object):
    return citizen.post("/api/claims", {"code": code})


def confirm(citizen: Api, claim_id: str, otp: str):
    return citizen.post(f"/api/claims/{claim_id}/confirm", {"code": otp})


def test_a_citizen_claims_a_desk_dossier_with_its_code_and_the_one_time_code(server, desk, smpp_gateway):
    phone = unique_phone()
    dossier_id, code = take_at_desk(desk, phone, personal_id())
    citizen = new_citizen(server)
    answer = start(citizen, code)
    assert answer.status_code == 201, answer.text
    claim = answer.json()
    assert claim["phone_hint"] == "…" + phone[-3:] and claim["attempts_left"] == 5
    [text] = texts_to(smpp_gateway, phone)
    assert code in text and len(text) <= 160 and text.isascii()  # one GSM-7 segment
    [message] = [m for m in smpp_gateway.messages() if m["text"] == text]
    assert message["data_coding"] == 0 and message["registered_delivery"] == 1
    otp = code_in(text)
    wrong = confirm(citizen, claim["claim_id"], "000000" if otp != "000000" else "111111")
    assert wrong.status_code == 400 and wrong.json()["error"]["code"] == "wrong_code"
    assert "còn 4 lần" in wrong.json()["error"]["message"]
    assert citizen.get(f"/api/dossiers/{dossier_id}").status_code == 404  # not theirs yet
    right = confirm(citizen, claim["claim_id"], otp)
    assert right.status_code == 200, right.text
    assert right.json()["id"] == dossier_id
    assert dossier_id in [d["id"] for d in citizen.get("/api/dossiers").json()["items"]]
    # Through the one write path: the citizen's phone pulls it, the officer's sees the new version, the
    # processing-control record names the step.
    phone_device = Device(citizen)
    phone_device.catch_up()
    assert phone_device.record(dossier_id)["data"]["owner_id"] is not None
    events = citizen.get(f"/api/dossiers/{dossier_id}/events").json()["items"]
    assert events[-1]["action"] == "claim"
    # The code is used: it cannot be entered again
    assert confirm(citizen, claim["claim_id"], otp).status_code == 409


def test_a_code_allows_five_tries_then_even_the_right_one_is_refused(server, desk, smpp_gateway):
    phone = unique_phone()
    _, code = take_at_desk(desk, phone, personal_id())
    citizen = new_citizen(server)
    claim = start(citizen, code).json()
    otp = last_code(smpp_gateway, phone)
    wrong = "000000" if otp != "000000" else "111111"
    for left in (4, 3, 2, 1):
        answer = confirm(citizen, claim["claim_id"], wrong)
        assert answer.status_code == 400 and f"còn {left} lần" in answer.json()["error"]["message"]
    assert confirm(citizen, claim["claim_id"], wrong).status_code == 410
    ended = confirm(citizen, claim["claim_id"], otp)
    assert ended.status_code == 410 and ended.json()["error"]["code"] == "code_expired"
    assert "Gửi lại mã" in ended.json()["error"]["message"]


def test_another_citizen_cannot_claim_it(server, desk, smpp_gateway):
    phone = unique_phone()
    dossier_id, code = take_at_desk(desk, phone, personal_id())
    owner, other = new_citizen(server), new_citizen(server)
    theirs = start(other, code).json()  # the code goes to the phone on the dossier, not to them
    other_otp = last_code(smpp_gateway, phone)  # waited for, so the owner's text is the second one
    mine = start(owner, code).json()
    owner_otp = last_code(smpp_gateway, phone, count=2)
    # another account cannot use someone's claim, even with its code
    assert confirm(other, mine["claim_id"], owner_otp).status_code == 404
    assert confirm(owner, mine["claim_id"], owner_otp).status_code == 200
    # already owned: a new claim is refused, and a code obtained before is refused too
    refused = start(other, code)
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "already_owned"
    assert len(texts_to(smpp_gateway, phone)) == 2
    late = confirm(other, theirs["claim_id"], other_otp)
    assert late.status_code == 409 and late.json()["error"]["code"] == "already_owned", late.text
    assert other.get(f"/api/dossiers/{dossier_id}").status_code == 404
    assert start(owner, code).json()["error"]["code"] == "already_yours"


def test_claims_need_a_citizen_account_and_sane_input(server, api, desk):
    _, code = take_at_desk(desk, unique_phone(), personal_id())
    assert api.post("/api/claims", {"code": code}).status_code == 401
    assert officer_api(server, "intake").post("/api/claims", {"code": code}).status_code == 403
    for hostile in ("x" * 500, 12, None, ["a"], "<script>", "000.00.01.H57-250705-9999'--", "KHONG-CO-MA-NAY"):
        answer = start(new_citizen(server), hostile)  # each account may ask 5 times an hour
        assert answer.status_code in (400, 404), (hostile, answer.text)
        assert "Ông/Bà" in answer.json()["error"]["message"]
    citizen = new_citizen(server)
    claim = start(citizen, code).json()
    for otp in ("12345", "abcdef", "1" * 5000, 123456):
        answer = confirm(citizen, claim["claim_id"], otp)  # type: ignore[arg-type]
        assert answer.status_code == 400 and answer.json()["error"]["code"] == "invalid_otp", answer.text
    assert confirm(citizen, "x" * 100, "123456").status_code in (400, 404)


def test_codes_for_one_dossier_are_rate_limited(server, desk, smpp_gateway):
    phone = unique_phone()
    _, code = take_at_desk(desk, phone, personal_id())
    citizen = new_citizen(server)
    for _ in range(3):
        assert start(citizen, code).status_code == 201
    refused = start(new_citizen(server), code)  # per dossier, whoever asks: its phone is not flooded
    assert refused.status_code == 429 and "Retry-After" in refused.headers
    assert len(texts_to(smpp_gateway, phone, count=3)) == 3


def test_without_an_sms_gateway_a_claim_by_code_is_refused_and_nothing_changes(server_without_sms):
    """The suite's instance has no SMPP_HOST: the citizen is told to go to the desk, nothing is written or counted."""
    phone = unique_phone()
    desk = Device(officer_api(server_without_sms, "intake"))
    dossier_id, code = take_at_desk(desk, phone, personal_id())
    citizen = new_citizen(server_without_sms)
    for _ in range(7):  # more than the 5 an account may ask an hour: refused requests are not even counted
        refused = start(citizen, code)
        assert refused.status_code == 409, refused.text
        error = refused.json()["error"]
        assert error["code"] == "sms_unavailable"
        assert error["message"] == ("Chưa gửi được mã xác nhận vì hệ thống chưa có kênh tin nhắn SMS. Ông/Bà hãy mang "
                                    "giấy hẹn đến bộ phận một cửa để được gắn hồ sơ vào tài khoản.")
    assert citizen.get(f"/api/dossiers/{dossier_id}").status_code == 404  # not theirs
    assert desk.record(dossier_id)["data"].get("owner_id") is None
    assert rows(server_without_sms, f"SELECT COUNT(*) AS n FROM dossier_claims WHERE dossier_id = '{dossier_id}'") == 0
    assert rows(server_without_sms, "SELECT COUNT(*) AS n FROM notice_deliveries WHERE key LIKE 'sms:claim:%'") == 0


def rows(server, sql: str) -> int:
    """One COUNT(*) AS n from the server's database, read in a thread of its own (as applicant_columns)."""
    import asyncio
    import threading

    from tortoise import Tortoise
    from tortoise.connection import get_connection

    from server import db

    class Settings:
        database_url = db_url(server)

    async def read() -> int:
        await Tortoise.init(config=db.tortoise_config(Settings()))
        try:
            return int((await get_connection("default").execute_query_dict(sql))[0]["n"])
        finally:
            await Tortoise.close_connections()

    found: list[int] = []
    thread = threading.Thread(target=lambda: found.append(asyncio.run(read())))
    thread.start()
    thread.join(60)
    return found[0]
