"""Public tracking over real HTTP, without signing in: by code plus four digits, and by the signed QR link."""

from __future__ import annotations

import re
import uuid

from itsdangerous import URLSafeSerializer

from tests.conftest import OFFICERS, VALID_FORM, Api
from tests.test_documents import file_dossier, officer_does, received_dossier, secret_key, text_of, vietnamese_date


def track(api: Api, code: str, digits: str):
    return api.http.post("/api/track", json={"code": code, "digits": digits})


def test_the_code_and_the_last_four_digits_of_the_phone_show_the_status_and_appointment(server, api):
    filed, dossier = received_dossier(server, with_page=False)
    response = track(api, dossier["code"], filed.phone[-4:])  # `api` never signed in
    assert response.status_code == 200, response.text
    view = response.json()
    assert view["code"] == dossier["code"] and view["status"] == 2 and view["status_name"] == "Đã tiếp nhận"
    assert view["due_at"] == dossier["due_at"] and view["due_date_text"].startswith("ngày ")
    assert view["timeliness"] == "within_time"
    assert [step["action"] for step in view["timeline"]] == ["create", "submit", "receive"]
    assert view["procedure"]["name"] == "Thủ tục thử nghiệm đăng ký hộ gia đình"
    body = response.text
    assert OFFICERS["intake"].name not in body, "officers' names are not public"
    assert filed.phone not in body and VALID_FORM["cccd"] not in body and "Trần Thị" not in body
    assert filed.dossier_id not in body
    # The last four digits of the CCCD given on the form work as well, and the code is not case-sensitive.
    assert track(api, dossier["code"].lower(), VALID_FORM["cccd"][-4:]).status_code == 200


def test_a_wrong_code_and_wrong_digits_get_the_same_answer(server, api):
    filed, dossier = received_dossier(server, with_page=False)
    wrong_digits = "0000" if filed.phone[-4:] != "0000" and VALID_FORM["cccd"][-4:] != "0000" else "1111"
    by_digits = track(api, dossier["code"], wrong_digits)
    unknown_code = dossier["code"][:-4] + ("9999" if not dossier["code"].endswith("9999") else "9998")
    by_code = track(api, unknown_code, filed.phone[-4:])
    assert by_digits.status_code == by_code.status_code == 404
    assert by_digits.json() == by_code.json()
    assert by_digits.json()["error"]["message"].startswith("Không tìm thấy hồ sơ với mã và 4 chữ số này")
    assert dict(by_digits.headers).keys() == dict(by_code.headers).keys()
    assert by_digits.headers["content-length"] == by_code.headers["content-length"]


def test_malformed_input_is_refused_with_a_message_that_says_how_to_fix_it(api):
    for body, message in (({"code": "X", "digits": "12a4"}, "4 chữ số cuối"), ({"code": "", "digits": "1234"}, "mã hồ sơ"),
                          ({"code": "X" * 65, "digits": "1234"}, "tối đa 64"), ({"code": 5, "digits": 1234}, "mã hồ sơ")):
        response = api.http.post("/api/track", json=body)
        assert response.status_code == 400 and message in response.json()["error"]["message"], body
    assert api.http.post("/api/track", content="code=1").status_code == 415


def test_the_track_page_works_without_signing_in_or_javascript(server, api):
    filed, dossier = received_dossier(server, with_page=False)
    form = api.get("/track")
    assert form.status_code == 200 and 'action="/track"' in form.text and "4 số cuối" in form.text
    shown = api.http.post("/track", data={"code": dossier["code"], "digits": filed.phone[-4:]})
    assert shown.status_code == 200
    text = text_of(shown.text)
    assert "Đã tiếp nhận" in text and "Tiếp nhận hồ sơ" in text
    assert "Ngày hẹn trả kết quả " + vietnamese_date(dossier["due_at"]) in text
    refused = api.http.post("/track", data={"code": dossier["code"], "digits": "0000" if filed.phone[-4:] != "0000" else "1111"})
    assert refused.status_code == 404 and "Không tìm thấy hồ sơ với mã và 4 chữ số này" in refused.text


def test_the_signed_link_shows_the_dossier_and_a_tampered_link_is_refused(server, api):
    filed, dossier = received_dossier(server, with_page=False)
    token = URLSafeSerializer(secret_key(server), salt="tracking").dumps(uuid.UUID(filed.dossier_id).hex)
    page = api.get(f"/t/{token}")
    assert page.status_code == 200
    assert dossier["code"] in page.text and "Đã tiếp nhận" in page.text
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    for bad in (tampered, "khong-hop-le", URLSafeSerializer("another-secret-key-of-32-characters!",
                                                            salt="tracking").dumps(uuid.UUID(filed.dossier_id).hex)):
        refused = api.get(f"/t/{bad}")
        assert refused.status_code == 404 and "Đường liên kết tra cứu không đúng" in refused.text
        assert dossier["code"] not in refused.text


def test_a_returned_dossier_can_be_rated_from_its_tracking_page(server, api):
    filed = file_dossier(server, with_page=False)
    officer_does(server, "leader", filed.dossier_id, ("receive", {}), ("start", {}), ("finish", {}),
                 ("return", {"received_by": "Nguyễn Thị Mai"}))
    token = URLSafeSerializer(secret_key(server), salt="tracking").dumps(uuid.UUID(filed.dossier_id).hex)
    page = api.get(f"/t/{token}")
    assert page.status_code == 200 and "Đã nhận kết quả" in page.text and "Đánh giá mức độ hài lòng" in page.text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    without_reason = api.http.post(f"/t/{token}/rating", data={"csrf_token": csrf, "value": "unsatisfied", "reason": ""})
    assert without_reason.status_code == 400 and "lý do Ông/Bà không hài lòng" in without_reason.text
    rated = api.http.post(f"/t/{token}/rating", data={"csrf_token": csrf, "value": "very_satisfied"})
    assert rated.status_code == 200 and "Cảm ơn Ông/Bà đã đánh giá" in rated.text
    assert "Đánh giá mức độ hài lòng" not in api.get(f"/t/{token}").text, "rated once: the form is gone"
    assert filed.citizen.get(f"/api/dossiers/{filed.dossier_id}/rating").json()["rating"]["value"] == "very_satisfied"
