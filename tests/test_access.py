"""Who sees what: a citizen only their own dossiers, an officer only their unit's (docs/access.md)."""

from __future__ import annotations

import uuid

import pytest

from tests.conftest import OFFICERS, VALID_FORM, VINH_YEN, Api, officer_api, run_motcua


def submit(citizen: Api, unit: str = VINH_YEN, **changes) -> dict:
    body = {"id": str(uuid.uuid4()), "procedure_code": "TEST.0001", "data": {**VALID_FORM, **changes},
            "submit": True, "unit_code": unit}
    response = citizen.post("/api/dossiers", body)
    assert response.status_code == 201, response.text
    return response.json()


def test_anonymous_callers_are_asked_to_sign_in(api):
    for path in ("/api/dossiers", f"/api/dossiers/{uuid.uuid4()}"):
        response = api.get(path)
        assert response.status_code == 401
        assert response.json()["error"]["message"] == "Bạn cần đăng nhập để làm việc này."


def test_a_citizen_sees_their_own_dossier_and_another_citizen_does_not(server, citizen):
    dossier = submit(citizen)
    assert citizen.get(f"/api/dossiers/{dossier['id']}").json()["id"] == dossier["id"]
    assert [d["id"] for d in citizen.get("/api/dossiers").json()["items"]] == [dossier["id"]]
    other = Api(server.url)
    other.post("/api/accounts", {"phone": "09" + str(uuid.uuid4().int)[:8], "password": "mat-khau-dai", "full_name": "Khác"})
    hidden = other.get(f"/api/dossiers/{dossier['id']}")
    assert hidden.status_code == 404, "another citizen's dossier is not revealed, not even as 403"
    assert other.get("/api/dossiers").json()["items"] == []


def test_officers_see_their_units_submitted_dossiers_only(server, citizen):
    dossier = submit(citizen)
    draft = citizen.post("/api/dossiers", {"procedure_code": "TEST.0001", "data": {"full_name": "Bản nháp"}}).json()
    here, elsewhere = officer_api(server, "intake"), officer_api(server, "intake_elsewhere")
    assert here.get(f"/api/dossiers/{dossier['id']}").status_code == 200
    assert dossier["id"] in [d["id"] for d in here.get("/api/dossiers?limit=500").json()["items"]]
    assert here.get(f"/api/dossiers/{draft['id']}").status_code == 404, "a citizen's draft stays private"
    assert elsewhere.get(f"/api/dossiers/{dossier['id']}").status_code == 404
    assert dossier["id"] not in [d["id"] for d in elsewhere.get("/api/dossiers?limit=500").json()["items"]]


@pytest.mark.parametrize("role", ["intake", "leader", "admin"])
def test_officers_cannot_file_or_register_as_citizens(server, role):
    officer = officer_api(server, role)
    body = {"procedure_code": "TEST.0001", "data": VALID_FORM, "submit": True, "unit_code": VINH_YEN}
    if role != "intake":  # intake officers file on behalf of citizens at the desk
        assert officer.post("/api/dossiers", body).status_code == 403
    response = officer.post("/api/accounts", {"phone": "0911111111", "password": "mat-khau-dai", "full_name": "X"})
    assert response.status_code == 403


def test_the_officer_area_is_closed_to_citizens_and_strangers(server, citizen, api):
    page = citizen.get("/officer")
    assert page.status_code == 403 and "Không có quyền truy cập" in page.text
    redirect = api.get("/officer", follow_redirects=False)
    assert redirect.status_code == 303 and redirect.headers["location"].startswith("/signin")
    officer = officer_api(server, "intake")
    area = officer.get("/officer")
    assert area.status_code == 200 and "Phường Vĩnh Yên" in area.text


def test_user_add_refuses_an_officer_without_a_unit_or_with_a_bad_phone(seeded_env):
    no_unit = run_motcua(["user", "add", "--phone", "0966000001", "--name", "X", "--role", "intake",
                          "--password", "mat-khau-dai"], seeded_env, check=False)
    assert no_unit.returncode == 1 and "--unit" in no_unit.stderr
    bad_phone = run_motcua(["user", "add", "--phone", "12345", "--name", "X", "--role", "citizen",
                            "--password", "mat-khau-dai"], seeded_env, check=False)
    assert bad_phone.returncode == 1 and "mobile number" in bad_phone.stderr
    unknown_unit = run_motcua(["user", "add", "--phone", "0966000002", "--name", "X", "--role", "leader",
                               "--unit", "99999", "--password", "mat-khau-dai"], seeded_env, check=False)
    assert unknown_unit.returncode == 1 and "99999" in unknown_unit.stderr


def test_demo_officers_belong_to_the_demo_ward(server):
    officer = Api(server.url)
    officer.sign_in("0987000001", "tiepnhan123")
    assert officer.get("/api/session").json()["user"]["unit"]["code"] == VINH_YEN
    assert OFFICERS["intake"].unit == VINH_YEN
