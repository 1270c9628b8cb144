"""The pages a citizen or officer reads: Vietnamese by default, English on request, usable without JavaScript."""

from __future__ import annotations

import re
import uuid

from tests.conftest import Api


def form_token(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def test_home_is_vietnamese_by_default_with_a_search_box(api):
    page = api.get("/")
    assert page.status_code == 200
    assert '<html lang="vi">' in page.text and "Tìm thủ tục" in page.text
    assert 'name="viewport" content="width=device-width' in page.text


def test_english_switch_is_remembered(api):
    switched = api.get("/lang/en?next=/procedures", follow_redirects=False)
    assert switched.status_code == 303 and switched.headers["location"] == "/procedures"
    page = api.get("/procedures")
    assert '<html lang="en">' in page.text and "Find a procedure" in page.text
    api.get("/lang/vi")
    assert "Tìm thủ tục" in api.get("/procedures").text


def test_the_switch_never_redirects_to_another_site(api):
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        response = api.get("/lang/en", params={"next": target}, follow_redirects=False)
        assert response.headers["location"] == "/"


def test_catalog_page_search_ignores_diacritics(api):
    page = api.get("/procedures", params={"q": "dang ky khai sinh"}).text
    assert re.search(r"Đăng ký khai sinh", page, re.IGNORECASE)
    assert "Không tìm thấy thủ tục nào" in api.get("/procedures", params={"q": "zzzz khong co"}).text


def test_procedure_page_lists_documents_fee_and_time(api):
    page = api.get("/procedures/TEST.0001").text
    assert "Thành phần hồ sơ" in page and "Tờ khai" in page
    assert "15.000 đ" in page and "3 ngày làm việc" in page and "Toàn trình" in page
    assert api.get("/procedures/0.000000").status_code == 404


def test_sign_up_and_sign_in_through_the_forms(server):
    browser = Api(server.url)
    phone = "09" + str(uuid.uuid4().int)[:8]
    signup = browser.get("/signup").text
    created = browser.http.post("/signup", data={"csrf_token": form_token(signup), "full_name": "Hoàng Văn Nam",
                                                 "phone": phone, "password": "mat-khau-dai"}, follow_redirects=False)
    assert created.status_code == 303 and created.headers["location"] == "/app"
    assert "Hồ sơ của tôi" in browser.get("/dossiers").text
    signout = browser.http.post("/signout", data={"csrf_token": form_token(browser.get("/").text)}, follow_redirects=False)
    assert signout.status_code == 303
    signin = browser.get("/signin").text
    wrong = browser.http.post("/signin", data={"csrf_token": form_token(signin), "phone": phone, "password": "sai-roi-nhe"})
    assert wrong.status_code == 401 and "Số điện thoại hoặc mật khẩu không đúng." in wrong.text
    assert f'value="{phone}"' in wrong.text, "what was typed is kept"
    right = browser.http.post("/signin", data={"csrf_token": form_token(wrong.text), "phone": phone,
                                               "password": "mat-khau-dai"}, follow_redirects=False)
    assert right.status_code == 303 and right.headers["location"] == "/dossiers"


def test_forms_without_the_csrf_token_are_refused(server):
    browser = Api(server.url)
    response = browser.http.post("/signup", data={"full_name": "A", "phone": "0912000111", "password": "mat-khau-dai"})
    assert response.status_code == 403 and "tải lại trang" in response.text


def test_every_response_carries_the_security_headers(api):
    api_headers = api.get("/api/procedures").headers
    assert api_headers["x-content-type-options"] == "nosniff"  # JSON: nosniff only (tests/test_security_headers.py)
    # A style sheet or script is not a document: nosniff and the referrer policy (tests/test_security_headers.py).
    css = api.get("/static/app.css").headers
    assert css["x-content-type-options"] == "nosniff" and css["referrer-policy"] == "no-referrer"
    assert "content-security-policy" not in css
    for path in ("/", "/healthz"):
        headers = api.get(path).headers
        assert "script-src 'self'" in headers["content-security-policy"]
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "no-referrer"
        assert "camera=(self)" in headers["permissions-policy"]


def test_the_openapi_document_describes_the_api(api):
    spec = api.get("/api/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    for path in ("/api/procedures", "/api/procedures/{code}", "/api/session", "/api/accounts", "/api/dossiers", "/healthz"):
        assert path in spec["paths"]
    assert spec["paths"]["/api/procedures"]["get"]["parameters"][2]["schema"]["maximum"] == 1000
