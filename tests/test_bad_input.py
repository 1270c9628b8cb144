"""Bad input gets a 4xx with a message a person can act on, and changes nothing."""

from __future__ import annotations

import unicodedata
import uuid

from tests.conftest import VALID_FORM, VINH_YEN, Api


def dossier_count(citizen: Api) -> int:
    return len(citizen.get("/api/dossiers?limit=500").json()["items"])


def new_dossier(**overrides) -> dict:
    return {"id": str(uuid.uuid4()), "procedure_code": "TEST.0001", "data": dict(VALID_FORM), "submit": True,
            "unit_code": VINH_YEN, **overrides}


def test_malformed_json_wrong_content_type_and_non_objects(citizen):
    before = dossier_count(citizen)
    headers = {"X-CSRF-Token": citizen.csrf}
    broken = citizen.http.post("/api/dossiers", content=b'{"procedure_code": ', headers={**headers, "content-type": "application/json"})
    assert broken.status_code == 400 and broken.json()["error"]["code"] == "malformed_json"
    form = citizen.http.post("/api/dossiers", data={"procedure_code": "TEST.0001"}, headers=headers)
    assert form.status_code == 415 and "JSON" in form.json()["error"]["message_en"]
    array = citizen.post("/api/dossiers", [1, 2])
    assert array.status_code == 400 and array.json()["error"]["code"] == "malformed_json"
    assert dossier_count(citizen) == before


def test_wrong_types_unknown_procedures_and_ids(citizen):
    before = dossier_count(citizen)
    cases = [
        (new_dossier(procedure_code="9.999999"), 404, "unknown_procedure"),
        (new_dossier(procedure_code=["TEST.0001"]), 404, "unknown_procedure"),
        (new_dossier(id="not-a-uuid"), 400, "invalid_id"),
        (new_dossier(submit="yes"), 400, "type"),
        (new_dossier(data=["x"]), 422, "invalid_form"),
        (new_dossier(unit_code="00000"), 400, "unknown_unit"),
    ]
    for body, status, code in cases:
        response = citizen.post("/api/dossiers", body)
        assert (response.status_code, response.json()["error"]["code"]) == (status, code), body
    assert dossier_count(citizen) == before


def test_invalid_form_values_are_listed_field_by_field_in_vietnamese(citizen):
    before = dossier_count(citizen)
    data = {**VALID_FORM, "phone": "0123456789", "cccd": "026201123456", "full_name": "A" * 101,
            "members": [{"full_name": ""}], "surprise": "x"}
    response = citizen.post("/api/dossiers", new_dossier(data=data))
    assert response.status_code == 422
    problems = {item["path"]: item for item in response.json()["error"]["details"]}
    assert problems["phone"]["code"] == "invalid_phone"
    assert problems["cccd"]["code"] == "cccd_mismatch", "G=2 says male, the form says female"
    assert problems["full_name"]["code"] == "too_long"
    assert problems["members[0].full_name"]["code"] == "required"
    assert problems["surprise"]["code"] == "unknown_field"
    assert "Số điện thoại" in problems["phone"]["message"]["vi"]
    assert dossier_count(citizen) == before


def test_an_unknown_cccd_province_is_refused_but_a_pre_2025_province_is_accepted(citizen):
    refused = citizen.post("/api/dossiers", new_dossier(data={**VALID_FORM, "cccd": "003301123456"}))
    assert refused.status_code == 422 and refused.json()["error"]["details"][0]["code"] == "invalid_cccd"
    # 026 is Vĩnh Phúc, which no longer exists since 2025: the number is for life.
    assert citizen.post("/api/dossiers", new_dossier()).status_code == 201


def test_oversized_bodies_get_413_declared_or_streamed(citizen):
    before = dossier_count(citizen)
    huge = new_dossier(data={**VALID_FORM, "full_name": "x" * (2 * 1024 * 1024)})
    declared = citizen.post("/api/dossiers", huge)
    assert declared.status_code == 413 and "chia nhỏ" in declared.json()["error"]["message"]

    def chunks():
        yield b'{"procedure_code": "TEST.0001", "data": {"full_name": "'
        for _ in range(40):
            yield b"y" * 65536
        yield b'"}}'

    streamed = citizen.http.post("/api/dossiers", content=chunks(),
                                 headers={"X-CSRF-Token": citizen.csrf, "content-type": "application/json"})
    assert streamed.status_code == 413
    assert dossier_count(citizen) == before


def test_text_is_stored_as_nfc(citizen):
    decomposed = unicodedata.normalize("NFD", "Nguyễn Thị Mai")
    assert decomposed != "Nguyễn Thị Mai"
    created = citizen.post("/api/dossiers", new_dossier(data={**VALID_FORM, "full_name": decomposed})).json()
    stored = citizen.get(f"/api/dossiers/{created['id']}").json()["data"]["full_name"]
    assert stored == "Nguyễn Thị Mai" and unicodedata.is_normalized("NFC", stored)


def test_text_is_escaped_in_pages(server):
    client = Api(server.url)
    name = '<script>alert("x")</script> Lê'
    client.post("/api/accounts", {"phone": "09" + str(uuid.uuid4().int)[:8], "password": "mat-khau-dai", "full_name": name})
    page = client.get("/").text
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; Lê" in page


def test_a_resent_dossier_is_not_created_twice(citizen):
    body = new_dossier()
    assert citizen.post("/api/dossiers", body).status_code == 201
    again = citizen.post("/api/dossiers", body)
    assert again.status_code == 409 and again.json()["error"]["code"] == "dossier_exists"


def test_unknown_api_paths_and_methods_answer_json(api):
    missing = api.get("/api/khong-co")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    wrong = api.send("PUT", "/api/procedures")
    assert wrong.status_code == 405 and wrong.json()["error"]["code"] == "method_not_allowed"


def test_bad_query_parameters(api):
    for query in ("limit=0", "limit=1001", "limit=abc", "offset=-1", "level=village", "q=" + "a" * 201):
        response = api.get(f"/api/procedures?{query}")
        assert response.status_code == 400, query
        assert response.json()["error"]["message"]
