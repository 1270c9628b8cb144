"""Rate limits per account, device and address, counted in the database and so shared by app instances.

Two real uvicorn instances on one database, with limits lowered through MOTCUA_RATE_LIMITS. The windows are
set to 10⁹ seconds (aligned to the clock, the current one ends in 2033) so a window boundary never falls inside
a test. Each test speaks from its own client address (X-Forwarded-For, trusted from loopback as behind the
proxy), so the tests do not share address counts.
"""

from __future__ import annotations

import uuid

import pytest

from server.web.rate_limits import RateLimitSettingError, Rule, address_key, parse_limits
from tests.conftest import Api, motcua_env, run_motcua, start_server, unique_phone

FOREVER = 10**9
LIMITS = ",".join([
    f"signin.account=3/{FOREVER}", f"signin.address=12/{FOREVER}",
    f"signup.device=2/{FOREVER}",
    f"sync.device=3/{FOREVER}",
    f"track.account=3/{FOREVER}",
])
PASSWORD = "matkhau-gioi-han"


@pytest.fixture(scope="module")
def instances(tmp_path_factory, fresh_database):
    data_dir = tmp_path_factory.mktemp("limits") / "data"
    env = motcua_env(data_dir, fresh_database(), MOTCUA_RATE_LIMITS=LIMITS)
    run_motcua(["migrate"], env)
    run_motcua(["seed"], env)
    first = start_server(env, cwd=data_dir.parent, data_dir=data_dir)
    second = start_server(env, cwd=data_dir.parent, data_dir=data_dir)
    yield first, second
    first.stop()
    second.stop()


class Client(Api):
    """An API client speaking from a given (forwarded) address."""

    def __init__(self, base_url: str, address: str) -> None:
        self.address = address
        super().__init__(base_url)
        self.http.headers["X-Forwarded-For"] = address


def new_address() -> str:
    number = uuid.uuid4().int
    return f"100.{64 + number % 64}.{number >> 8 & 255}.{number >> 16 & 255}"  # carrier-grade NAT space


def register(url: str, address: str) -> str:
    phone = unique_phone()
    response = Client(url, address).post("/api/accounts", {"phone": phone, "password": PASSWORD, "full_name": "Lò Văn Páo"})
    assert response.status_code == 201, response.text
    return phone


def sign_in(url: str, address: str, phone: str):
    return Client(url, address).post("/api/session", {"phone": phone, "password": PASSWORD})


def assert_refused(response) -> None:
    assert response.status_code == 429, response.text
    assert int(response.headers["retry-after"]) > 0
    assert response.json()["error"]["code"] == "too_many_requests"
    assert "Vui lòng thử lại sau" in response.json()["error"]["message"]
    assert response.headers["x-content-type-options"] == "nosniff"


def test_an_accounts_sign_in_limit_is_shared_by_both_instances(instances):
    first, second = instances
    address = new_address()
    phone = register(first.url, address)
    answers = [sign_in(server.url, address, phone) for server in (first, second, first)]
    assert [answer.status_code for answer in answers] == [200, 200, 200]
    assert_refused(sign_in(second.url, address, phone))
    assert_refused(sign_in(first.url, address, phone))


def test_one_accounts_excess_does_not_lock_out_its_address(instances):
    first, second = instances
    address = new_address()  # a commune behind one carrier address
    noisy, *neighbours = [register(first.url, address) for _ in range(6)]
    answers = [sign_in((first, second)[i % 2].url, address, noisy) for i in range(25)]
    assert [a.status_code for a in answers[:3]] == [200] * 3
    assert {a.status_code for a in answers[3:]} == {429}, "the noisy account is held back"
    # 25 attempts from the address, more than its limit of 12: the refused ones were not counted against it.
    for phone in neighbours:
        assert sign_in(second.url, address, phone).status_code == 200, "neighbours still sign in"


def test_an_address_has_its_own_much_higher_limit(instances):
    first, second = instances
    address = new_address()
    phones = [register(first.url, address) for _ in range(7)]
    statuses = [sign_in((first, second)[i % 2].url, address, phone).status_code
                for i, phone in enumerate(phones + phones)]
    assert statuses[:12] == [200] * 12 and statuses[12:] == [429, 429]
    assert sign_in(first.url, new_address(), phones[0]).status_code == 200, "other addresses are not affected"


def test_sign_ups_are_limited_per_device_on_the_api_and_the_page(instances):
    first, second = instances
    device = Client(first.url, new_address())
    for server in (first, second):
        device.http.base_url = server.url
        response = device.post("/api/accounts", {"phone": unique_phone(), "password": PASSWORD, "full_name": "Hà Thị Mỷ"})
        assert response.status_code == 201, response.text
        assert device.send("DELETE", "/api/session").status_code == 200
    assert_refused(device.post("/api/accounts", {"phone": unique_phone(), "password": PASSWORD, "full_name": "Hà Thị Mỷ"}))
    page = device.http.post("/signup", data={"phone": unique_phone(), "password": PASSWORD, "full_name": "Hà Thị Mỷ",
                                             "csrf_token": device.csrf})
    assert page.status_code == 429 and int(page.headers["retry-after"]) > 0
    assert "Vui lòng thử lại sau" in page.text
    other_device = Client(second.url, device.address)
    response = other_device.post("/api/accounts", {"phone": unique_phone(), "password": PASSWORD, "full_name": "Hà Văn Tú"})
    assert response.status_code == 201, "another phone on the same address may still register"


def test_sync_is_limited_per_device_across_instances(instances):
    first, second = instances
    address = new_address()
    phone = register(first.url, address)
    device = Client(first.url, address)
    device.sign_in(phone, PASSWORD)
    body = {"device_id": "phone-" + uuid.uuid4().hex[:12], "mutations": []}
    for server in (first, second, first):
        device.http.base_url = server.url  # the session cookie is valid on both instances
        response = device.post("/api/sync", body)
        assert response.status_code == 200, response.text
    device.http.base_url = second.url
    assert_refused(device.post("/api/sync", body))
    other = device.post("/api/sync", {**body, "device_id": "tablet-" + uuid.uuid4().hex[:12]})
    assert other.status_code == 200, "the same account's other device still syncs"


def test_guessing_the_digits_of_one_dossier_code_is_limited(instances):
    first, second = instances
    address = new_address()
    code = "08707-261125-" + str(uuid.uuid4().int)[:4]
    guesses = [Client(server.url, address).post("/api/track", {"code": code, "digits": f"{n:04d}"})
               for n, server in enumerate((first, second, first))]
    assert [guess.status_code for guess in guesses] == [404, 404, 404]
    assert_refused(Client(second.url, address).post("/api/track", {"code": code, "digits": "0003"}))
    page_client = Client(first.url, address)
    page = page_client.http.post("/track", data={"code": code, "digits": "0004", "csrf_token": page_client.csrf})
    assert page.status_code == 429 and "Vui lòng thử lại sau" in page.text and int(page.headers["retry-after"]) > 0
    other = Client(first.url, address).post("/api/track", {"code": code[:-4] + "9999", "digits": "0000"})
    assert other.status_code == 404, "another code is looked up as usual"


def test_the_limits_setting_is_read_strictly():
    assert parse_limits("off") == {}
    changed = parse_limits("sync.address=20000/60, signin.account=10/600")
    assert changed["sync"]["address"] == Rule(20000, 60) and changed["signin"]["account"] == Rule(10, 600)
    assert changed["sync"]["device"] == parse_limits(None)["sync"]["device"]
    for bad in ("sync.device=0/60", "nope.device=1/60", "sync.house=1/60", "sync.device=ten/60", "sync"):
        with pytest.raises(RateLimitSettingError, match="MOTCUA_RATE_LIMITS"):
            parse_limits(bad)


def test_addresses_are_counted_per_ipv4_address_and_per_ipv6_64():
    assert address_key("100.64.1.2") == "100.64.1.2"
    assert address_key("2402:800:6310:1a2b:1:2:3:4") == address_key("2402:800:6310:1a2b:ffff::1") == "2402:800:6310:1a2b::/64"
    assert address_key("::ffff:100.64.1.2") == "100.64.1.2"


def test_clearing_old_windows_keeps_the_ones_still_running(tmp_path):
    """The occasional clean-up deletes only windows that have ended, even when a window is very long."""
    import asyncio
    import time

    from tortoise import Tortoise

    from server.web import rate_limits
    from server.models import RateWindow

    async def scenario() -> list[str]:
        await Tortoise.init(db_url=f"sqlite://{tmp_path / 'limits.sqlite3'}", modules={"motcua": ["server.models"]})
        await Tortoise.generate_schemas()
        try:
            rate_limits._limits = parse_limits(f"sync.device=3/{FOREVER}")
            running = int(time.time() // FOREVER * FOREVER)  # began in 2001, ends in 2033
            await rate_limits._count([("sync:device:running", running), ("sync:device:ended", 60)])  # 1970
            await rate_limits.forget_ended(time.time())
            return await RateWindow.all().values_list("key", flat=True)
        finally:
            rate_limits._limits = None
            await Tortoise.close_connections()

    assert asyncio.run(scenario()) == ["sync:device:running"]
