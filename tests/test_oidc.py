"""OpenID Connect sign-in (server/accounts/oidc.py) against a real provider on loopback (tests/oidc_provider.py):
the flow with PKCE, accounts linked by the personal identification number, sign-out at the provider, and each
broken answer refused with a message that tells the person to sign in again."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.conftest import OFFICER_PASSWORD, OFFICERS, free_port, motcua_env, run_motcua, start_server
from tests.oidc_provider import CLIENT_ID, CLIENT_SECRET, start_provider
from tests.test_pwa import browser, context, open_app, open_menu, phone  # noqa: F401  (fixtures)

TRY_AGAIN = "để đăng nhập lại"


@pytest.fixture(scope="module")
def setup(tmp_path_factory, fresh_database):
    workdir = tmp_path_factory.mktemp("oidc")
    data_dir = workdir / "data"
    provider_port = free_port()
    env = motcua_env(data_dir, fresh_database(), OIDC_ISSUER=f"http://127.0.0.1:{provider_port}",
                     OIDC_CLIENT_ID=CLIENT_ID, OIDC_CLIENT_SECRET=CLIENT_SECRET, OIDC_REQUIRED_FOR_OFFICERS="1",
                     OIDC_SCOPE="openid profile phone personal_id")
    run_motcua(["migrate"], env)
    run_motcua(["seed"], env)
    officer = OFFICERS["intake"]
    run_motcua(["user", "add", "--phone", officer.phone, "--name", officer.name, "--role", officer.role,
                "--unit", officer.unit, "--password", OFFICER_PASSWORD], env)
    server = start_server(env, cwd=workdir, data_dir=data_dir)
    provider = start_provider(provider_port, server.url, workdir)
    yield server, provider, env
    provider.stop()
    server.stop()


@pytest.fixture
def provider(setup):
    setup[1].mode("normal")
    return setup[1]


@pytest.fixture
def server(setup):
    return setup[0]


def to_callback(client: httpx.Client, server) -> httpx.URL:
    """Start at motcua and follow the provider's redirects (its login signs the test account in at once) up to
    the address the provider sends the browser back to."""
    response = client.get(server.url + "/auth/oidc/start", params={"next": "/app"})
    for _ in range(10):
        assert response.status_code in (302, 303), response.text
        location = httpx.URL(response.headers["location"])
        url = response.url.join(location)
        if str(url).startswith(server.url + "/auth/oidc/callback"):
            return url
        response = client.get(url)
    raise AssertionError("the provider never sent the browser back")


def sign_in(server, **kwargs) -> tuple[httpx.Client, httpx.Response]:
    client = httpx.Client(timeout=30)
    callback = to_callback(client, server)
    return client, client.get(callback, headers=kwargs.get("headers", {}))


def test_config_flag_and_pkce(server, provider):
    answer = httpx.get(server.url + "/api/session").json()
    assert answer["oidc"] is True
    page = httpx.get(server.url + "/signin")
    assert "Đăng nhập bằng VNeID / tài khoản định danh" in page.text
    start = httpx.get(server.url + "/auth/oidc/start")
    assert start.status_code == 303
    query = parse_qs(urlsplit(start.headers["location"]).query)
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"][0]
    assert query["state"][0] and query["nonce"][0] and query["client_id"] == [CLIENT_ID]
    assert "motcua_oidc_flow" in start.cookies


def test_citizen_signs_in_and_is_linked_by_personal_id(server, provider):
    provider.account(sub="079203001234", name="Trần Thị Bình", phone_number="0987654321")
    client, response = sign_in(server)
    assert response.status_code == 303 and response.headers["location"] == "/app"
    me = client.get(server.url + "/api/session").json()["user"]
    assert me["full_name"] == "Trần Thị Bình" and me["phone"] == "0987654321" and me["role"] == "citizen"
    # the same number again: the same account, not a new one
    again, response = sign_in(server)
    assert again.get(server.url + "/api/session").json()["user"]["id"] == me["id"]
    # sign-out ends the local session and goes on to the provider's end_session_endpoint with id_token_hint
    out = client.get(server.url + "/auth/oidc/signout")
    assert out.status_code == 303 and out.headers["location"].startswith(provider.issuer)
    assert "id_token_hint=" in out.headers["location"]
    assert client.get(server.url + "/api/session").json()["user"] is None


def test_personal_id_from_a_claim_when_sub_is_not_one(server, provider):
    provider.account(sub="opaque-subject-42", name="Lê Văn Cường", personal_id="001099000777")
    client, response = sign_in(server)
    assert response.status_code == 303
    me = client.get(server.url + "/api/session").json()["user"]
    assert me["full_name"] == "Lê Văn Cường" and me["phone"] == ""  # no phone asserted


def test_no_personal_id_is_refused(server, provider):
    provider.account(sub="opaque-subject-43", name="Không Số")
    _, response = sign_in(server)
    assert response.status_code == 400 and "số định danh cá nhân" in response.text


def test_officer_must_use_the_provider(server):
    officer = OFFICERS["intake"]
    client = httpx.Client(base_url=server.url)
    csrf = client.get("/api/session").json()["csrf_token"]
    response = client.post("/api/session", json={"phone": officer.phone, "password": OFFICER_PASSWORD},
                           headers={"x-csrf-token": csrf})
    assert response.status_code == 403
    assert "Tài khoản cán bộ phải đăng nhập bằng VNeID" in response.json()["error"]["message"]


def test_an_officer_linked_by_the_command_signs_in_through_the_provider(setup, provider):
    server, _, env = setup
    officer = OFFICERS["intake"]
    # Refused: Unicode digits, a number that is another account's (the citizen of the test above, if it ran first).
    arabic_indic = run_motcua(["user", "set-personal-id", "--phone", officer.phone, "--personal-id", "٠" * 12], env,
                              check=False)
    assert arabic_indic.returncode != 0 and "12 digits" in arabic_indic.stderr
    provider.account(sub="079203009999", name="Ai Đó", phone_number="0987000999")
    sign_in(server)
    taken = run_motcua(["user", "set-personal-id", "--phone", officer.phone, "--personal-id", "079203009999"], env,
                       check=False)
    assert taken.returncode != 0 and "already belongs" in taken.stderr

    linked = run_motcua(["user", "set-personal-id", "--phone", officer.phone, "--personal-id", "001088000123"], env)
    assert "001088000123" in linked.stdout
    provider.account(sub="001088000123", name=officer.name, phone_number=officer.phone)
    client, response = sign_in(server)
    assert response.status_code == 303
    me = client.get(server.url + "/api/session").json()["user"]
    assert me["role"] == officer.role and me["phone"] == officer.phone
    run_motcua(["user", "set-personal-id", "--phone", officer.phone, "--personal-id", "none"], env)


@pytest.mark.parametrize("mode, code, words", [
    ("tamper", "oidc_bad_signature", "Chữ ký"),
    ("wrong_nonce", "oidc_wrong_nonce", "nonce"),
    ("expired", "oidc_expired", "hết hạn"),
    ("unknown_key", "oidc_unknown_key", "khoá"),
])
def test_broken_id_tokens_are_refused(server, provider, mode, code, words):
    provider.account(sub="079203005555", name="Phạm Văn Dũng")
    provider.mode(mode)
    client, response = sign_in(server, headers={"accept": "application/json"})
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == code and words in error["message"] and TRY_AGAIN in error["message"]
    assert client.get(server.url + "/api/session").json()["user"] is None
    # the same refusal as a page for a person
    _, page = sign_in(server)
    assert page.status_code == 400 and words in page.text and "Đăng nhập bằng VNeID" in page.text


def test_wrong_state_is_refused(server, provider):
    provider.account(sub="079203006666", name="Hoàng Thị Em")
    client = httpx.Client(timeout=30)
    callback = to_callback(client, server)
    forged = callback.copy_merge_params({"state": "forged-state"})
    response = client.get(forged)
    assert response.status_code == 400 and "state" in response.text and TRY_AGAIN in response.text
    assert client.get(server.url + "/api/session").json()["user"] is None
    # and a callback without the flow cookie (another browser)
    response = httpx.get(callback)
    assert response.status_code == 400 and TRY_AGAIN in response.text


def test_key_rotation(server, provider):
    provider.account(sub="079203007777", name="Đỗ Văn Giang")
    client, response = sign_in(server)  # motcua caches the current keys
    assert response.status_code == 303
    old = provider.kid()
    provider.restart(new_key=True)
    assert provider.kid() != old
    provider.account(sub="079203007777", name="Đỗ Văn Giang")  # a restarted provider forgot its test account
    client, response = sign_in(server)  # an unknown kid: motcua fetches the keys again once, and it works
    assert response.status_code == 303, response.text
    assert client.get(server.url + "/api/session").json()["user"]["full_name"] == "Đỗ Văn Giang"


def test_citizen_signs_in_from_the_app(server, provider, phone):
    provider.account(sub="079203008888", name="Vũ Thị Hoa", phone_number="0911222333")
    open_app(phone, server)
    phone.goto(server.url + "/app#/signin")
    button = phone.locator("#signin-oidc")
    button.wait_for(state="visible")
    assert button.inner_text() == "Đăng nhập bằng VNeID / tài khoản định danh"
    button.click()
    phone.wait_for_url(server.url + "/app")
    phone.wait_for_function("async () => (await (await fetch('/api/session')).json()).user?.full_name === 'Vũ Thị Hoa'")
    # signing out of the app goes on to the provider's sign-out, with the ID token as the hint
    with phone.expect_request(lambda r: r.url.startswith(provider.issuer) and "id_token_hint=" in r.url):
        open_menu(phone)
        phone.locator("#signout").click()
    phone.wait_for_url(server.url + "/")  # the provider's session ended, it sends the browser back home
    left = {c["name"]: c["value"] for c in phone.context.cookies() if c["name"] == "motcua_session"}
    assert httpx.get(server.url + "/api/session", cookies=left).json()["user"] is None


def test_oidc_settings_are_all_or_nothing(tmp_path):
    from server.config import ConfigError, load_settings

    base = {"MOTCUA_DATA_DIR": str(tmp_path)}
    assert load_settings(base).oidc is None  # off by default in the embedded default
    with pytest.raises(ConfigError, match="OIDC_ISSUER, OIDC_CLIENT_ID and OIDC_CLIENT_SECRET"):
        load_settings({**base, "OIDC_ISSUER": "https://sso.example.gov.vn"})
    with pytest.raises(ConfigError, match="OIDC_ISSUER: must be"):
        load_settings({**base, "OIDC_ISSUER": "sso", "OIDC_CLIENT_ID": "a", "OIDC_CLIENT_SECRET": "b"})
    oidc = load_settings({**base, "OIDC_ISSUER": "https://sso.example.gov.vn", "OIDC_CLIENT_ID": "a",
                          "OIDC_CLIENT_SECRET": "b", "OIDC_REQUIRED_FOR_OFFICERS": "1"}).oidc
    assert oidc is not None and oidc.required_for_officers and oidc.personal_id_claim is None


def test_website_sign_out_goes_through_the_provider(server, provider):
    provider.account(sub="079203009999", name="Ngô Văn Khánh")
    client, response = sign_in(server)
    assert response.status_code == 303
    csrf = client.get(server.url + "/api/session").json()["csrf_token"]
    out = client.post(server.url + "/signout", data={"csrf_token": csrf})
    assert out.status_code == 303 and out.headers["location"] == "/auth/oidc/signout"
    onward = client.get(server.url + "/auth/oidc/signout")
    assert onward.headers["location"].startswith(provider.issuer) and "id_token_hint=" in onward.headers["location"]
    assert client.get(server.url + "/api/session").json()["user"] is None
