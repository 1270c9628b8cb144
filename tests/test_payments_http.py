"""Payments over HTTP on a real server (docs/payments.md): the fee fixed at the request, the VietQR text for the
unit's account, the statement import and its matching, idempotence, hostile files and who may do what."""

from __future__ import annotations

import uuid

import pytest

from server.payments.vietqr import parse
from tests.conftest import VALID_FORM, VINH_YEN, officer_api, run_motcua
from tests.test_statements import BILLION_LAUGHS
from tests.test_supplement import command
from tests.test_sync_http import Device, create_changes, new_citizen
from tests.test_vietqr import parse_nested

ACCOUNT = {"bank_bin": "970415", "number": "0011001932418", "name": "UBND PHUONG VINH YEN"}
FEE = 15000  # TEST.0001 (tests/data/catalog-test.json)


@pytest.fixture(scope="module")
def officers(server) -> dict[str, Device]:
    return {key: Device(officer_api(server, key)) for key in ("intake", "specialist", "leader", "admin",
                                                              "intake_elsewhere")}


@pytest.fixture(scope="module")
def account(server, officers):
    response = officers["admin"].api.send("PUT", f"/api/units/{VINH_YEN}/collection-account", ACCOUNT)
    assert response.status_code == 200, response.text
    return ACCOUNT


def awaiting_payment(server, officers) -> tuple[Device, str]:
    """A citizen's dossier, received, processed and asked for its fee."""
    phone = Device(new_citizen(server))
    dossier_id = str(uuid.uuid4())
    assert phone.sync([phone.mutation("create", dossier_id, changes=create_changes(**VALID_FORM))]).status_code == 200
    assert command(phone, dossier_id, "submit")["status"] == "applied"
    assert command(officers["intake"], dossier_id, "receive")["status"] == "applied"
    assert command(officers["leader"], dossier_id, "start")["status"] == "applied"
    assert command(officers["leader"], dossier_id, "request_payment", reason="Nộp lệ phí")["status"] == "applied"
    phone.catch_up()
    return phone, dossier_id


def statement(*lines: tuple[int, str], ref: str = "") -> bytes:
    rows = ["Ngày giao dịch,Số tham chiếu,Số tiền ghi có,Nội dung giao dịch"]
    rows += [f'25/11/2026,{ref and ref + str(index)},"{amount:,}",{note}' for index, (amount, note) in enumerate(lines)]
    return "\n".join(rows).encode()


def post_statement(device: Device, data: bytes, unit: str = VINH_YEN):
    return device.api.post(f"/api/units/{unit}/statements", content=data, headers={"Content-Type": "text/csv"})


def test_the_fee_is_fixed_with_its_vietqr(server, officers, account):
    phone, dossier_id = awaiting_payment(server, officers)
    record = phone.record(dossier_id)["data"]
    assert (record["status"], record["fee_amount_vnd"]) == (6, FEE)
    fields = parse(record["payment_qr"])
    assert fields["54"] == str(FEE)
    assert parse_nested(parse_nested(fields["38"])["01"]) == {"00": "970415", "01": "0011001932418"}
    assert parse_nested(fields["62"])["08"] == record["code"]
    shown = phone.api.get(f"/api/dossiers/{dossier_id}/payment").json()
    assert (shown["fixed"], shown["amount_vnd"], shown["text"], shown["note"]) == (True, FEE, "15.000 đ", record["code"])
    assert shown["qr_svg"].startswith("<svg") and shown["account"] == ACCOUNT and shown["paid_at"] is None
    assert shown["gateway"] is False  # no gateway on this server: the app offers none

    # A later change of the unit's account does not alter what this citizen was asked to pay, or where.
    changed = {**ACCOUNT, "number": "999888777"}
    assert officers["admin"].api.send("PUT", f"/api/units/{VINH_YEN}/collection-account", changed).status_code == 200
    try:
        assert phone.api.get(f"/api/dossiers/{dossier_id}/payment").json()["qr"] == record["payment_qr"]
    finally:
        officers["admin"].api.send("PUT", f"/api/units/{VINH_YEN}/collection-account", ACCOUNT)


def test_the_fee_before_the_request_is_the_rules(server, officers, account):
    phone = Device(new_citizen(server))
    dossier_id = str(uuid.uuid4())
    phone.sync([phone.mutation("create", dossier_id, changes=create_changes(**VALID_FORM))])
    shown = phone.api.get(f"/api/dossiers/{dossier_id}/payment").json()
    assert (shown["fixed"], shown["amount_vnd"], shown["qr"]) == (False, FEE, None)


def test_an_officer_states_another_amount(server, officers, account):
    phone = Device(new_citizen(server))
    dossier_id = str(uuid.uuid4())
    phone.sync([phone.mutation("create", dossier_id, changes=create_changes(**VALID_FORM))])
    command(phone, dossier_id, "submit")
    command(officers["intake"], dossier_id, "receive")
    command(officers["leader"], dossier_id, "start")
    refused = command(officers["leader"], dossier_id, "request_payment", reason="x", amount_vnd=-5)
    assert (refused["status"], refused["code"]) == ("rejected", "invalid_amount")
    assert command(officers["leader"], dossier_id, "request_payment", reason="Miễn một phần", amount_vnd=7000
                   )["status"] == "applied"
    assert phone.api.get(f"/api/dossiers/{dossier_id}/payment").json()["amount_vnd"] == 7000


def test_who_sees_the_payment(server, officers, account):
    phone, dossier_id = awaiting_payment(server, officers)
    assert new_citizen(server).get(f"/api/dossiers/{dossier_id}/payment").status_code == 404
    assert officers["intake_elsewhere"].api.get(f"/api/dossiers/{dossier_id}/payment").status_code == 404
    assert officers["specialist"].api.get(f"/api/dossiers/{dossier_id}/payment").status_code == 200
    assert phone.api.get(f"/api/dossiers/{'x' * 40}/payment").status_code == 404


def test_a_device_cannot_claim_a_transfer(server, officers, account):
    phone, dossier_id = awaiting_payment(server, officers)
    assert phone.api.get(f"/dossiers/{dossier_id}/documents/payment_receipt").status_code == 404  # not paid yet
    claimed = command(officers["intake"], dossier_id, "payment_done", channel="transfer", reference="FT1")
    assert (claimed["status"], claimed["code"]) == ("rejected", "transfer_not_found")
    forged = command(officers["intake"], dossier_id, "payment_done", channel="gateway")
    assert (forged["status"], forged["code"]) == ("rejected", "gateway_not_confirmed")
    unknown = command(officers["intake"], dossier_id, "payment_done", channel="séc")
    assert (unknown["status"], unknown["code"]) == ("rejected", "invalid_payment_channel")


def test_cash_at_the_desk(server, officers, account):
    phone, dossier_id = awaiting_payment(server, officers)
    assert command(officers["intake"], dossier_id, "payment_done", reference="BL-0042")["status"] == "applied"
    shown = phone.api.get(f"/api/dossiers/{dossier_id}/payment").json()
    assert (shown["channel"], shown["reference"]) == ("cash", "BL-0042") and shown["paid_at"]
    # The citizen is told what to pay and that it arrived (server/notify/notices.py).
    notices = {n["kind"]: n for n in phone.api.get("/api/notices").json()["items"]}
    assert "Số tiền: 15.000 đ." in notices["payment"]["body"] and "VietQR" in notices["payment"]["body"]
    assert notices["paid"]["body"].startswith("Cơ quan đã nhận khoản phí, lệ phí 15.000 đ của hồ sơ")
    # The confirmation that the fee was paid, printable and as a PDF.
    page = phone.api.get(f"/dossiers/{dossier_id}/documents/payment_receipt")
    assert page.status_code == 200 and "XÁC NHẬN ĐÃ NỘP PHÍ, LỆ PHÍ" in page.text
    assert "15.000 đồng" in page.text and "Tiền mặt tại bộ phận một cửa" in page.text and "BL-0042" in page.text
    pdf = phone.api.get(f"/dossiers/{dossier_id}/documents/payment_receipt.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


def test_statement_import_matches_and_lists_the_rest(server, officers, account):
    paid_phone, paid = awaiting_payment(server, officers)
    _, short = awaiting_payment(server, officers)
    _, over = awaiting_payment(server, officers)
    code = {dossier_id: officers["intake"].api.get(f"/api/dossiers/{dossier_id}").json()["code"]
            for dossier_id in (paid, short, over)}
    data = statement(
        (FEE, f"NGUYEN THI MAI chuyen tien {code[paid]}"),
        (FEE, f"chuyen lan hai {code[paid].replace('.', '').replace('-', ' ')}"),  # paid twice
        (5000, f"{code[short]} nop thieu"),
        (FEE + 1000, f"{code[over]}"),
        (FEE, "chuyen tien khong ghi ma ho so"),
        ref=f"FT{uuid.uuid4().hex[:8]}-")
    response = post_statement(officers["intake"], data)
    assert response.status_code == 200, response.text
    assert response.json() == {"lines": 5, "already_imported": 0, "outcomes": {
        "paid": 1, "partial": 1, "overpaid": 1, "duplicate": 1, "unmatched": 1, "refused": 0}}

    paid_phone.catch_up()
    record = paid_phone.record(paid)["data"]
    assert (record["status"], record["payment_channel"]) == (4, "transfer")
    assert record["payment_reference"].startswith("FT") and "clock_paused_at" not in record
    for dossier_id in (short, over):
        assert officers["intake"].api.get(f"/api/dossiers/{dossier_id}").json()["status"] == 6

    waiting = officers["leader"].api.get(f"/api/units/{VINH_YEN}/payments").json()["items"]
    outcomes = sorted(line["outcome"] for line in waiting if any(c in line["note"] or c.replace(".", "").replace(
        "-", " ") in line["note"] for c in code.values()))
    assert outcomes == ["duplicate", "overpaid", "partial"]

    # The same statement again changes nothing.
    version = paid_phone.record(paid)["version"]
    again = post_statement(officers["intake"], data).json()
    assert again == {"lines": 5, "already_imported": 5, "outcomes": {name: 0 for name in again["outcomes"]}}
    paid_phone.catch_up()
    assert paid_phone.record(paid)["version"] == version
    assert len(officers["leader"].api.get(f"/api/units/{VINH_YEN}/payments").json()["items"]) == len(waiting)


def test_lines_without_a_reference_are_imported_once(server, officers, account):
    _, dossier_id = awaiting_payment(server, officers)
    code = officers["intake"].api.get(f"/api/dossiers/{dossier_id}").json()["code"]
    data = statement((FEE, f"{code} lan 1 {uuid.uuid4().hex}"))
    assert post_statement(officers["leader"], data).json()["outcomes"]["paid"] == 1
    assert post_statement(officers["leader"], data).json()["already_imported"] == 1


def test_camt053_import(server, officers, account):
    _, dossier_id = awaiting_payment(server, officers)
    code = officers["intake"].api.get(f"/api/dossiers/{dossier_id}").json()["code"]
    xml = f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt><Stmt>
 <Ntry><Amt Ccy="VND">{FEE}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts><BookgDt><Dt>2026-11-25</Dt></BookgDt>
  <AcctSvcrRef>CAMT-{uuid.uuid4().hex}</AcctSvcrRef><NtryDtls><TxDtls><RmtInf><Ustrd>{code}</Ustrd></RmtInf></TxDtls>
  </NtryDtls></Ntry></Stmt></BkToCstmrStmt></Document>"""
    response = officers["intake"].api.post(f"/api/units/{VINH_YEN}/statements", content=xml.encode(),
                                           headers={"Content-Type": "application/xml"})
    assert response.json()["outcomes"]["paid"] == 1, response.text
    assert officers["intake"].api.get(f"/api/dossiers/{dossier_id}").json()["status"] == 4


@pytest.mark.parametrize("data", [BILLION_LAUGHS, b"<Document><x>", b"STT,A,B\n1,2,3\n", b"\x00\x01\x02",
                                  "Ngày giao dịch,Số tiền ghi có,Nội dung\n25/11/2026,abc,x\n".encode()])
def test_hostile_statements_are_refused_and_change_nothing(server, officers, account, data):
    before = officers["intake"].api.get(f"/api/units/{VINH_YEN}/payments").json()["items"]
    response = post_statement(officers["intake"], data)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_statement" and response.json()["error"]["message"]
    assert officers["intake"].api.get(f"/api/units/{VINH_YEN}/payments").json()["items"] == before


def test_only_the_units_desk_and_leader_reconcile(server, officers, account):
    data = statement((1000, "x"))
    assert post_statement(officers["intake_elsewhere"], data).status_code == 403
    assert officers["intake_elsewhere"].api.get(f"/api/units/{VINH_YEN}/payments").status_code == 403
    assert post_statement(officers["specialist"], data).status_code == 403
    assert post_statement(Device(new_citizen(server)), data).status_code == 403
    assert post_statement(officers["intake"], data, unit="99999").status_code == 404
    with server.client() as stranger:
        assert stranger.post(f"/api/units/{VINH_YEN}/statements", content=data).status_code == 401


def test_collection_account_rules(server, officers):
    bad = officers["admin"].api.send("PUT", f"/api/units/{VINH_YEN}/collection-account",
                                     {**ACCOUNT, "bank_bin": "97A415"})
    assert (bad.status_code, bad.json()["error"]["code"]) == (400, "invalid_account")
    assert officers["intake"].api.send("PUT", f"/api/units/{VINH_YEN}/collection-account", ACCOUNT).status_code == 403


def test_cli_import(server, officers, account, tmp_path):
    _, dossier_id = awaiting_payment(server, officers)
    code = officers["intake"].api.get(f"/api/dossiers/{dossier_id}").json()["code"]
    path = tmp_path / "saoke.csv"
    path.write_bytes(statement((FEE, f"{code}"), ref=f"CLI{uuid.uuid4().hex[:8]}-"))
    result = run_motcua(["payments", "import", "--unit", VINH_YEN, str(path)], server.env)
    assert "1 paid" in result.stdout, result.stdout + result.stderr
    assert officers["intake"].api.get(f"/api/dossiers/{dossier_id}").json()["status"] == 4
    again = run_motcua(["payments", "import", "--unit", VINH_YEN, str(path)], server.env)
    assert "1 already imported" in again.stdout


def test_statistics_count_the_fees_paid_online(server, officers, account):
    _, dossier_id = awaiting_payment(server, officers)
    code = officers["intake"].api.get(f"/api/dossiers/{dossier_id}").json()["code"]
    post_statement(officers["intake"], statement((FEE, code), ref=f"ST{uuid.uuid4().hex[:8]}-"))
    figures = officers["leader"].api.get("/api/statistics").json()
    row = next(p for p in figures["procedures"] if p["code"] == "TEST.0001")
    assert 0 < row["paid_online"] <= row["fee_bearing"]
    assert row["paid_online_share"] == round(100 * row["paid_online"] / row["fee_bearing"], 1)
    part = next(p for p in figures["index_766"]["parts"] if p["key"] == "online_payment")
    assert part["computed"] and part["ratio"] is not None


def test_the_officers_page_imports_a_statement(server, officers, account):
    _, dossier_id = awaiting_payment(server, officers)
    code = officers["intake"].api.get(f"/api/dossiers/{dossier_id}").json()["code"]
    desk = officers["intake"].api
    page = desk.get("/officer/payments")
    assert page.status_code == 200 and "Đối soát phí, lệ phí" in page.text
    assert 'id="payments-link"' in desk.get("/officer").text
    field = "csrf_token"  # the form's hidden field (server/accounts/sessions.py CSRF_FIELD)
    token = page.text.split(f'name="{field}" value="')[1].split('"')[0]
    data = statement((FEE, code), (FEE - 5000, f"{code} lan hai"), ref=f"PG{uuid.uuid4().hex[:8]}-")
    done = desk.http.post("/officer/payments", data={field: token}, files={"statement": ("saoke.csv", data, "text/csv")})
    assert done.status_code == 200, done.text
    assert "Đã đọc 2 khoản có: 1 ghi nhận đã nộp, 1 cần xem xét, 0 đã nhập trước đây." in done.text
    assert "Nộp trùng" in done.text and desk.get(f"/api/dossiers/{dossier_id}").json()["status"] == 4
    hostile = desk.http.post("/officer/payments", data={field: token},
                             files={"statement": ("bom.xml", BILLION_LAUGHS, "application/xml")})
    assert hostile.status_code == 400 and "Tệp XML không đọc được" in hostile.text
    forged = desk.http.post("/officer/payments", data={field: "sai"}, files={"statement": ("a.csv", data, "text/csv")})
    assert forged.status_code == 403
    assert officers["specialist"].api.get("/officer/payments").status_code == 403
