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
        assert response.json()["error"]["message"] == "Cần đăng nhập để làm việc này."


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


# -- the rule itself: server/accounts/access.py, read as documentation ----------------------------------------
# No server here: Users and Dossiers are built in memory (Tortoise knows the models, no database is opened).

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from tortoise import Tortoise  # noqa: E402

from server.accounts import access  # noqa: E402
from server.models import ADMIN, CITIZEN, INTAKE, LEADER, ROLES, SPECIALIST, Dossier, User  # noqa: E402
from sync.model import Record  # noqa: E402

Tortoise.init_models(["server.models"], "motcua")

RECEIVING, HANDLING, ELSEWHERE = 10, 20, 30  # unit ids
DRAFT, SUBMITTED, PROCESSING = 0, 1, 4


def person(user_id: int, role: str = CITIZEN, unit: int | None = None) -> User:
    return User(id=user_id, role=role, unit_id=unit if role != CITIZEN else None, phone=f"09{user_id:08d}",
                full_name="Người thử")


def dossier(owner: int | None = 1, status: int = SUBMITTED, unit: int | None = RECEIVING,
            handling: int | None = None) -> Dossier:
    return Dossier(id=str(uuid.uuid4()), owner_id=owner, status=status, unit_id=unit, handling_unit_id=handling)


def test_a_citizen_reads_only_their_own_dossiers():
    mine, theirs = dossier(owner=1), dossier(owner=2)
    assert access.allowed(person(1), "dossier.read", mine)
    assert not access.allowed(person(1), "dossier.read", theirs)


def test_officers_of_the_receiving_and_of_the_handling_unit_read_it_and_no_other_unit():
    forwarded = dossier(unit=RECEIVING, handling=HANDLING)
    for role in (INTAKE, SPECIALIST, LEADER, ADMIN):
        assert access.allowed(person(5, role, RECEIVING), "dossier.read", forwarded)
        assert access.allowed(person(5, role, HANDLING), "dossier.read", forwarded)
        assert not access.allowed(person(5, role, ELSEWHERE), "dossier.read", forwarded)
    assert not access.allowed(person(5, INTAKE, None), "dossier.read", forwarded), "an officer with no unit reads none"


def test_a_draft_is_private_to_its_owner():
    draft = dossier(owner=1, status=DRAFT)
    assert access.allowed(person(1), "dossier.read", draft)
    assert not access.allowed(person(5, LEADER, RECEIVING), "dossier.read", draft)
    assert access.units_of(draft) == frozenset() and access.readers(draft) == {"user:1"}


def test_a_stranger_may_read_the_catalog_and_nothing_of_a_dossier():
    assert access.allowed(None, "catalog.read")
    assert not access.allowed(None, "dossier.read")
    assert access.allowed(None, "account.register") and not access.allowed(person(1), "account.register")


def test_the_role_comes_first_then_the_relationship():
    d = dossier(unit=RECEIVING, handling=HANDLING)
    assert access.allowed(person(5, LEADER, HANDLING), "dossier.assign", d)
    assert not access.allowed(person(5, SPECIALIST, HANDLING), "dossier.assign", d), "role: only leaders assign"
    assert not access.allowed(person(5, LEADER, ELSEWHERE), "dossier.assign", d), "relationship: not their unit"
    assert access.allowed(person(1), "dossier.own", d) and not access.allowed(person(2), "dossier.own", d)


def test_only_the_handling_unit_attaches_the_result_after_a_transfer():
    forwarded = dossier(status=PROCESSING, unit=RECEIVING, handling=HANDLING)
    assert access.allowed(person(5, SPECIALIST, HANDLING), "dossier.attach_result", forwarded)
    assert not access.allowed(person(5, SPECIALIST, RECEIVING), "dossier.attach_result", forwarded)
    at_home = dossier(status=PROCESSING, unit=RECEIVING)
    assert access.allowed(person(5, INTAKE, RECEIVING), "dossier.attach_result", at_home)


def test_the_sync_actor_and_a_record_of_the_dossier_get_the_same_answers():
    user, d = person(5, INTAKE, HANDLING), dossier(unit=RECEIVING, handling=HANDLING)
    record = Record("dossier", d.id, 1, {"owner_id": d.owner_id, "status": d.status, "unit_id": d.unit_id,
                                         "handling_unit_id": d.handling_unit_id})
    actor = access.actor_for(user)
    assert actor.scopes == frozenset({"user:5", f"unit:{HANDLING}"})
    for action in ("dossier.read", "dossier.act", "dossier.attach_result", "dossier.own"):
        assert access.allowed(user, action, d) == access.allowed(actor, action, record) \
            == access.allowed(actor, action, d)
    assert access.dossier_scopes(record) == access.dossier_scopes(d)


users = st.builds(person, st.integers(1, 6), st.sampled_from(ROLES),
                  st.one_of(st.none(), st.sampled_from([RECEIVING, HANDLING, ELSEWHERE])))
dossiers = st.builds(dossier, st.one_of(st.none(), st.integers(1, 6)), st.sampled_from([DRAFT, SUBMITTED, PROCESSING, 10]),
                     st.one_of(st.none(), st.sampled_from([RECEIVING, HANDLING, ELSEWHERE])),
                     st.one_of(st.none(), st.sampled_from([RECEIVING, HANDLING, ELSEWHERE])))


@settings(max_examples=500, deadline=None)
@given(users, dossiers)
def test_sync_scopes_agree_with_allowed(user, d):
    """What a device pulls (its scopes meet the dossier's change-log scopes) is exactly what the API shows."""
    assert access.allowed(user, "dossier.read", d) == bool(access.scopes(user) & access.dossier_scopes(d))


def test_every_api_handler_declares_what_it_requires(tmp_path):
    from server.app import create_app, endpoints
    from server.config import load_settings
    from server.web.guard import required_action

    app = create_app(load_settings({"MOTCUA_DATA_DIR": str(tmp_path)}))
    unguarded = [f"{sorted(route.methods)} {path}" for path, route in endpoints(app.routes)
                 if path.startswith("/api/") and required_action(route.endpoint) not in access.PERMISSIONS]
    assert not unguarded, f"wrap these handlers in @requires(action): {unguarded}"
