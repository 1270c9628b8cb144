"""Agency identifier codes in dossier codes, and gapless register numbers (docs/workflow.md "Dossier codes",
"Register numbers"), on SQLite or PostgreSQL (DATABASE_URL).

Sources: the identifier code of an agency is the "mã định danh điện tử" of Decision 20/2020/QĐ-TTg (four groups,
e.g. 000.00.12.H56), and the dossier code is `{identifier}-{yyMMdd}-{NNNN}` (docs/domain.md "Dossier code"). The
register is the sổ theo dõi hồ sơ, form 07 of Circular 03/2025/TT-VPCP (docs/domain.md "Corrections and
additions"): its numbers run 1, 2, 3… per book (one per unit and year) without gaps, even for receipts issued
offline from a phone's reserved block of codes.

This module runs its own instance (its own database), since it changes units' identifier codes.
"""

from __future__ import annotations

import json
import re
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import pytest

from tests.conftest import (OFFICER_PASSWORD, PHU_THO, ROOT, VALID_FORM, VIET_TRI, VINH_YEN, Api, motcua_env,
                            run_motcua, start_server)
from tests.test_sync_http import Device
from server.workflow.working_time import VIETNAM

ACCOUNTS = {  # key → (phone, role, unit)
    "intake": ("0978200001", "intake", VINH_YEN),
    "intake_viet_tri": ("0978200002", "intake", VIET_TRI),
    "admin": ("0978200003", "admin", VINH_YEN),
    "province_admin": ("0978200004", "admin", PHU_THO),
}
VINH_YEN_AGENCY = "000.00.12.H56"  # the shape of Decision 20/2020/QĐ-TTg; the number itself is made up


@pytest.fixture(scope="module")
def world(tmp_path_factory, fresh_database):
    data_dir = tmp_path_factory.mktemp("agency-codes") / "data"
    env = motcua_env(data_dir, fresh_database(), MOTCUA_RATE_LIMITS="off")
    run_motcua(["migrate"], env)
    run_motcua(["seed"], env)
    run_motcua(["catalog", "import", str(ROOT / "tests" / "data" / "catalog-test.json")], env)
    for phone, role, unit in ACCOUNTS.values():
        run_motcua(["user", "add", "--phone", phone, "--name", f"Cán bộ {role}", "--role", role, "--unit", unit,
                    "--password", OFFICER_PASSWORD], env)
    server = start_server(env, cwd=data_dir.parent, data_dir=data_dir)
    yield server, env, data_dir.parent
    server.stop()


def signed_in(server, key: str) -> Api:
    client = Api(server.url)
    client.sign_in(ACCOUNTS[key][0], OFFICER_PASSWORD)
    return client


def patch_unit(api: Api, code: str, body) -> object:
    return api.send("PATCH", f"/api/units/{code}", json=body)


def now_vn() -> datetime:
    return datetime.now(VIETNAM).replace(microsecond=0)


def take(device: Device, unit: str, *, code: str | None = None, dossier_id: str | None = None) -> tuple[dict, str]:
    """A dossier received on the spot by the device's officer (field intake), as it syncs."""
    dossier_id = dossier_id or str(uuid.uuid4())
    changes = {"procedure_code": {"value": "TEST.0001"}, "unit_code": {"value": unit}, "channel": {"value": "field"},
               "received_at": {"value": now_vn().isoformat()},
               **{f"form.{name}": {"value": value} for name, value in VALID_FORM.items()}}
    if code is not None:
        changes["code"] = {"value": code}
    response = device.sync([device.mutation("create", dossier_id, changes=changes)])
    assert response.status_code == 200, response.text
    return response.json()["results"][0], dossier_id


def units_file(tmp, agency_code) -> str:
    """The shipped Phú Thọ units file with an identifier code on Vĩnh Yên ward."""
    document = json.loads((ROOT / "server" / "data" / "units" / "phutho-2025.json").read_text(encoding="utf-8"))
    for unit in document["units"]:
        if unit["code"] == VINH_YEN:
            unit["agency_code"] = agency_code
    path = tmp / f"units-{uuid.uuid4().hex[:6]}.json"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return str(path)


# -- identifier codes (Decision 20/2020/QĐ-TTg) ----------------------------------------------------------------

def test_a_unit_imported_with_its_identifier_code_gives_it_to_its_dossier_codes(world):
    server, env, tmp = world
    bad = run_motcua(["units", "import", units_file(tmp, "H56.12")], env, check=False)
    assert bad.returncode != 0 and "000.00.12.H56" in bad.stderr + bad.stdout, "the error shows the expected shape"
    run_motcua(["units", "import", units_file(tmp, VINH_YEN_AGENCY.lower())], env)  # stored upper-case
    units = Api(server.url).get("/api/units", params={"q": "Vĩnh Yên", "level": "commune"}).json()["items"]
    assert {"code": VINH_YEN, "agency_code": VINH_YEN_AGENCY}.items() <= next(
        unit for unit in units if unit["code"] == VINH_YEN).items()
    result, dossier_id = take(Device(signed_in(server, "intake")), VINH_YEN)
    assert result["status"] == "applied", result
    code = Device(signed_in(server, "intake")).api.get(f"/api/dossiers/{dossier_id}").json()["code"]
    assert re.fullmatch(rf"{re.escape(VINH_YEN_AGENCY)}-{now_vn():%y%m%d}-\d{{4}}", code), code


def test_the_administrator_sets_an_identifier_code_checked_against_the_decisions_shape(world):
    server, _, _ = world
    province = signed_in(server, "province_admin")
    for wrong in ("000.00.12", "00.00.12.H56", "000.00.12.56H", "000-00-12-H56", 56, "000.00.12.H56 x"):
        answer = patch_unit(province, VIET_TRI, {"agency_code": wrong})
        assert answer.status_code == 400, (wrong, answer.text)
        error = answer.json()["error"]
        assert error["code"] == "invalid_agency_code" and "Quyết định 20/2020/QĐ-TTg" in error["message"]
    assert patch_unit(province, VIET_TRI, {"name": "x"}).json()["error"]["code"] == "invalid_fields"
    # Another unit's code is refused: two agencies never share one, their dossier codes would collide.
    taken = patch_unit(province, VIET_TRI, {"agency_code": VINH_YEN_AGENCY})
    assert taken.status_code == 409 and "đã được gán" in taken.json()["error"]["message"]
    done = patch_unit(province, VIET_TRI, {"agency_code": " 000.00.13.h56 "})
    assert done.status_code == 200 and done.json()["agency_code"] == "000.00.13.H56"
    officer = signed_in(server, "intake_viet_tri")
    phone = Device(officer)
    result, dossier_id = take(phone, VIET_TRI)
    assert result["status"] == "applied", result
    assert officer.get(f"/api/dossiers/{dossier_id}").json()["code"].startswith("000.00.13.H56-")
    # Removed: the unit's dossiers go back to the derived prefix, which is clearly not an identifier code.
    assert patch_unit(province, VIET_TRI, {"agency_code": None}).json()["agency_code"] is None
    _, later = take(phone, VIET_TRI)
    assert officer.get(f"/api/dossiers/{later}").json()["code"].startswith(f"MC.{VIET_TRI}-")
    # A commune's administrator manages their own unit only; unknown units are 404.
    commune_admin = signed_in(server, "admin")
    assert patch_unit(commune_admin, VIET_TRI, {"agency_code": None}).status_code == 403
    assert patch_unit(commune_admin, PHU_THO, {"agency_code": None}).status_code == 403
    assert patch_unit(province, "99999", {"agency_code": None}).status_code == 404


def test_a_receipt_issued_offline_before_the_code_changed_keeps_its_code(world):
    server, _, _ = world
    province = signed_in(server, "province_admin")
    officer = signed_in(server, "intake_viet_tri")
    phone = Device(officer)
    blocks = officer.post("/api/code-blocks", {"device_id": phone.device_id}).json()["blocks"]
    block = next(block for block in blocks if block["day"] == now_vn().date().isoformat())
    assert block["agency_code"] == f"MC.{VIET_TRI}"
    code = f"{block['agency_code']}-{now_vn():%y%m%d}-{block['first']:04d}"
    assert patch_unit(province, VIET_TRI, {"agency_code": "000.00.14.H56"}).status_code == 200
    try:
        result, dossier_id = take(phone, VIET_TRI, code=code)
        assert result["status"] == "applied", result
        assert officer.get(f"/api/dossiers/{dossier_id}").json()["code"] == code
    finally:
        patch_unit(province, VIET_TRI, {"agency_code": None})


# -- register numbers (Circular 03/2025/TT-VPCP form 07) ---------------------------------------------------------

def register_numbers(api: Api, unit: str) -> list[int]:
    today = now_vn().date().isoformat()
    import csv
    import io

    rows = list(csv.reader(io.StringIO(api.get(f"/units/{unit}/register.csv?from={today[:4]}-01-01&to={today}")
                                       .content.decode("utf-8-sig"))))
    assert rows[0][0] == "Số thứ tự"
    return [int(row[0]) for row in rows[1:] if row[0]]


def test_register_numbers_have_no_gaps_although_phones_reserve_blocks_of_codes(world):
    server, _, _ = world
    officer = signed_in(server, "intake")
    before = register_numbers(officer, VINH_YEN)
    assert before == list(range(1, len(before) + 1))
    phones = [Device(signed_in(server, "intake")) for _ in range(2)]
    taken = []
    for phone in phones:  # each phone reserves 20 codes a day and uses only some of them
        blocks = phone.api.post("/api/code-blocks", {"device_id": phone.device_id}).json()["blocks"]
        block = next(block for block in blocks if block["day"] == now_vn().date().isoformat())
        for number in (block["first"], block["first"] + 2):
            result, dossier_id = take(phone, VINH_YEN, code=f"{block['agency_code']}-{now_vn():%y%m%d}-{number:04d}")
            assert result["status"] == "applied", result
            taken.append(dossier_id)
    # A reception the server refuses (a code from no block of this phone) takes no register number.
    refused, _ = take(phones[0], VINH_YEN, code=f"{VINH_YEN_AGENCY}-{now_vn():%y%m%d}-9999")
    assert refused["status"] == "rejected"
    after = register_numbers(officer, VINH_YEN)
    assert after == list(range(1, len(before) + 5)), "one book, numbered 1, 2, 3… without gaps"
    dossiers = [officer.get(f"/api/dossiers/{dossier_id}").json() for dossier_id in taken]
    assert [d["register_number"] for d in dossiers] == list(range(len(before) + 1, len(before) + 5))
    assert {d["register_year"] for d in dossiers} == {now_vn().year}
    # The synced record carries the number back to the phone, for the receipt's "Số thứ tự" when reprinted.
    assert phones[1].record(taken[-1])["data"]["register_number"] == len(before) + 4


def test_parallel_receptions_never_share_nor_skip_a_register_number(world):
    """Two server instances on one database, phones syncing at once through both. On PostgreSQL the receptions
    really run at once (SQLite serialises writers): the book's counter row lock orders them."""
    server, env, tmp = world
    second = start_server(env, cwd=tmp, data_dir=server.data_dir)
    try:
        officer = signed_in(server, "intake")
        before = register_numbers(officer, VINH_YEN)
        phones = [Device(signed_in(instance, "intake")) for instance in (server, second) * 4]
        with ThreadPoolExecutor(max_workers=8) as pool:
            results = list(pool.map(lambda phone: take(phone, VINH_YEN, code=f"TAM-{uuid.uuid4().hex[:8]}"), phones))
    finally:
        second.stop()
    assert all(result["status"] == "applied" for result, _ in results), results
    numbers = sorted(officer.get(f"/api/dossiers/{dossier_id}").json()["register_number"] for _, dossier_id in results)
    assert numbers == list(range(len(before) + 1, len(before) + 9))
    assert register_numbers(officer, VINH_YEN) == list(range(1, len(before) + 9))
