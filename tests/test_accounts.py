"""Citizens register and sign in with a phone number; sessions are kept on the server and survive weeks offline."""

from __future__ import annotations

from tests.conftest import Api, unique_phone


def register(api: Api, phone: str, password: str = "mat-khau-dai", name: str = "Trần Thị Bình"):
    return api.post("/api/accounts", {"phone": phone, "password": password, "full_name": name})


def test_register_signs_in_and_normalises_the_phone_number(api):
    local = unique_phone()
    response = register(api, "+84 " + local[1:4] + " " + local[4:])
    assert response.status_code == 201
    assert response.json()["user"]["phone"] == local
    assert response.json()["user"]["role"] == "citizen"
    assert api.get("/api/session").json()["user"]["phone"] == local


def test_the_session_cookie_is_httponly_samesite_lax_and_lasts_for_weeks(api):
    response = register(api, unique_phone())
    cookie = [h for h in response.headers.get_list("set-cookie") if h.startswith("motcua_session=")][0].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    max_age = int(cookie.split("max-age=")[1].split(";")[0])
    assert max_age >= 14 * 24 * 3600
    assert "secure" not in cookie.replace("samesite", ""), "plain http on loopback: Secure would drop the cookie"


def test_a_phone_number_has_one_account(api, server):
    phone = unique_phone()
    assert register(api, phone).status_code == 201
    again = register(Api(server.url), phone)
    assert again.status_code == 409
    assert "đã có tài khoản" in again.json()["error"]["message"]


def test_registration_refuses_bad_input_with_a_reason(api):
    cases = [({"phone": "0123", "password": "mat-khau-dai", "full_name": "A"}, "invalid_phone"),
             ({"phone": unique_phone(), "password": "ngan", "full_name": "A"}, "weak_password"),
             ({"phone": unique_phone(), "password": "mat-khau-dai", "full_name": ""}, "required"),
             ({"phone": unique_phone(), "password": "mat-khau-dai", "full_name": "A" * 101}, "too_long"),
             ({"phone": 912345678, "password": "mat-khau-dai", "full_name": "A"}, "invalid_phone")]
    for body, code in cases:
        response = api.post("/api/accounts", body)
        assert response.status_code == 400, body
        assert response.json()["error"]["code"] == code
        assert response.json()["error"]["message"]  # a Vietnamese sentence
    assert api.get("/api/session").json()["user"] is None


def test_sign_in_with_the_wrong_password_is_refused_without_saying_which_part_was_wrong(api, server):
    phone = unique_phone()
    register(api, phone)
    stranger = Api(server.url)
    for attempt in ({"phone": phone, "password": "sai-mat-khau"}, {"phone": unique_phone(), "password": "sai-mat-khau"}):
        response = stranger.post("/api/session", attempt)
        assert response.status_code == 401
        assert response.json()["error"]["message"] == "Số điện thoại hoặc mật khẩu không đúng."


def test_repeated_failures_are_slowed_then_locked_per_phone_number(api, server):
    phone = unique_phone()
    register(api, phone, password="dung-mat-khau")
    attacker = Api(server.url)
    statuses = [attacker.post("/api/session", {"phone": phone, "password": f"sai-{i}"}).status_code for i in range(5)]
    assert statuses[:4] == [401, 401, 401, 401] and statuses[4] == 429
    locked = attacker.post("/api/session", {"phone": phone, "password": "dung-mat-khau"})
    assert locked.status_code == 429, "even the right password waits while the number is slowed"
    assert int(locked.headers["retry-after"]) > 0
    assert "thử lại sau" in locked.json()["error"]["message"]
    # Others behind the same carrier address are not locked out by one person's mistakes.
    neighbour = unique_phone()
    register(Api(server.url), neighbour, password="mat-khau-hang-xom")
    assert Api(server.url).post("/api/session", {"phone": neighbour, "password": "mat-khau-hang-xom"}).status_code == 200


def test_changing_the_password_signs_out_the_other_devices_but_not_this_one(server):
    phone = unique_phone()
    phone_a, phone_b = Api(server.url), Api(server.url)
    register(phone_a, phone, password="mat-khau-cu-1")
    phone_b.sign_in(phone, "mat-khau-cu-1")
    changed = phone_a.post("/api/account/password", {"current_password": "mat-khau-cu-1", "new_password": "mat-khau-moi-2"})
    assert changed.status_code == 200
    assert phone_a.get("/api/session").json()["user"]["phone"] == phone
    assert phone_b.get("/api/session").json()["user"] is None
    assert Api(server.url).post("/api/session", {"phone": phone, "password": "mat-khau-cu-1"}).status_code == 401
    Api(server.url).sign_in(phone, "mat-khau-moi-2")


def test_sign_out_everywhere_keeps_only_this_device(server):
    phone = unique_phone()
    here, elsewhere = Api(server.url), Api(server.url)
    register(here, phone)
    elsewhere.sign_in(phone, "mat-khau-dai")
    assert here.post("/api/session/everywhere").status_code == 200
    assert here.get("/api/session").json()["user"] is not None
    assert elsewhere.get("/api/session").json()["user"] is None


def test_sign_out_ends_the_session(citizen):
    assert citizen.send("DELETE", "/api/session").status_code == 200
    assert citizen.get("/api/session").json()["user"] is None
    assert citizen.get("/api/dossiers").status_code == 401


def test_sign_out_ends_the_session_on_the_server_so_a_copied_cookie_stops_working(server, citizen):
    copied = Api(server.url)
    copied.http.cookies.set("motcua_session", citizen.http.cookies.get("motcua_session"), domain="127.0.0.1", path="/")
    assert copied.get("/api/dossiers").status_code == 200, "the copy works while the session lives"
    assert citizen.send("DELETE", "/api/session").status_code == 200
    assert copied.get("/api/dossiers").status_code == 401
    assert copied.get("/api/session").json()["user"] is None


def test_state_changes_without_the_csrf_token_are_refused(server):
    client = Api(server.url)
    phone = unique_phone()
    response = client.http.post("/api/accounts", json={"phone": phone, "password": "mat-khau-dai", "full_name": "A"})
    assert response.status_code == 403 and response.json()["error"]["code"] == "csrf"
    forged = client.http.post("/api/accounts", json={"phone": phone, "password": "mat-khau-dai", "full_name": "A"},
                              headers={"X-CSRF-Token": "A" * 22})
    assert forged.status_code == 403
    assert client.post("/api/accounts", {"phone": phone, "password": "mat-khau-dai", "full_name": "A"}).status_code == 201


def test_a_tampered_session_cookie_is_ignored(server, citizen):
    cookie = citizen.http.cookies.get("motcua_session")
    forged = Api(server.url)
    forged.http.cookies.set("motcua_session", cookie[:-2] + ("AA" if not cookie.endswith("AA") else "BB"))
    assert forged.get("/api/session").json()["user"] is None


def test_a_name_with_control_characters_is_refused_by_the_signup_page_too(server):
    client = Api(server.url)
    page = client.get("/signup")
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    response = client.http.post("/signup", data={"phone": unique_phone(), "password": "mat-khau-dai",
                                                 "full_name": "Nguy\x1bn V\x00n A", "csrf_token": token})
    assert response.status_code == 400, response.status_code
    assert "ký tự" in response.text
