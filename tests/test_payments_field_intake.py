"""A fee fixed at a field intake (docs/payments.md "At a field intake"), on a real server, SQLite or PostgreSQL.

The officer's phone, offline, receives a dossier and shows a VietQR code for the fee with the code it issued (a
final one from its reserved block, or a provisional TAM-… one) as the transfer note; the create carries the amount
and the note shown. The server fixes the fee at reception with the same VietQR text, the statement import pays the
dossier without moving it out of its status or moving its appointment, and a TAM- note still matches after the
server replaced the code.
"""

from __future__ import annotations

import uuid

import pytest

from server.payments.obligation import transfer_note
from server.payments.vietqr import CollectionAccount, note_of, parse, payload
from tests.conftest import VALID_FORM, VINH_YEN, officer_api
from tests.test_dossier_codes import code_of, now_vn, reserve, todays_block
from tests.test_payments_http import ACCOUNT, FEE, post_statement, statement
from tests.test_supplement import command
from tests.test_sync_http import Device, create_changes


@pytest.fixture(scope="module")
def officers(server) -> dict[str, Device]:
    return {key: Device(officer_api(server, key)) for key in ("intake", "leader", "admin")}


@pytest.fixture(scope="module")
def account(officers):
    response = officers["admin"].api.send("PUT", f"/api/units/{VINH_YEN}/collection-account", ACCOUNT)
    assert response.status_code == 200, response.text
    return ACCOUNT


def qr_for(note: str, amount: int = FEE) -> str:
    """What the officer's phone drew (pwa/static/js/vietqr.js is this builder byte for byte)."""
    return payload(CollectionAccount(ACCOUNT["bank_bin"], ACCOUNT["number"], ACCOUNT["name"]), amount, note)


def field_create(device: Device, dossier_id: str, code: str, **fee) -> dict:
    changes = create_changes(**VALID_FORM)
    changes.update(channel={"value": "field"}, code={"value": code}, received_at={"value": now_vn().isoformat()})
    changes.update({name: {"value": value} for name, value in fee.items()})
    response = device.sync([device.mutation("create", dossier_id, changes=changes)])
    assert response.status_code == 200, response.text
    return response.json()["results"][0]


def block_code(device: Device) -> str:
    """A final code from the device's reserved block for today, not used yet."""
    blocks = reserve(device.api, device.device_id).json()["blocks"]
    block = todays_block(blocks)
    used = set(block["used"])
    return code_of(block, next(n for n in range(block["first"], block["last"] + 1) if n not in used))


def provisional(dossier_id: str) -> str:
    return f"TAM-{VINH_YEN}-{now_vn():%y%m%d}-{dossier_id.replace('-', '')[-10:].upper()}"


def dossier(device: Device, dossier_id: str) -> dict:
    return device.api.get(f"/api/dossiers/{dossier_id}").json()


def test_the_officer_reads_the_units_account(officers, account):
    answer = officers["intake"].api.get(f"/api/units/{VINH_YEN}/collection-account")
    assert answer.status_code == 200 and answer.json() == ACCOUNT
    assert officers["intake"].api.get("/api/units/99999/collection-account").status_code == 404


def test_a_stated_fee_is_fixed_at_reception_with_the_code_shown(officers, account):
    phone = Device(officers["intake"].api)
    dossier_id = str(uuid.uuid4())
    code = block_code(phone)
    result = field_create(phone, dossier_id, code, fee_amount_vnd=FEE, payment_note=transfer_note(code))
    assert result["status"] == "applied", result
    phone.catch_up()
    record = phone.record(dossier_id)["data"]
    assert (record["status"], record["code"], record["fee_amount_vnd"]) == (2, code, FEE)
    assert record["payment_qr"] == qr_for(transfer_note(code))  # what the citizen scanned
    assert record["fee_fixed_at"] == record["submitted_at"] and record["fee_fixed_at"].endswith("+00:00")
    assert record["payment_account"] == {"bank_bin": ACCOUNT["bank_bin"], "number": ACCOUNT["number"]}
    assert "paid_at" not in record and "clock_paused_at" not in record


@pytest.mark.parametrize("fee, problem", [
    ({"fee_amount_vnd": -1, "payment_note": "{note}"}, "invalid_amount"),
    ({"fee_amount_vnd": "15000", "payment_note": "{note}"}, "invalid_amount"),
    ({"fee_amount_vnd": True, "payment_note": "{note}"}, "invalid_amount"),
    ({"fee_amount_vnd": 10 ** 12 + 1, "payment_note": "{note}"}, "invalid_amount"),
    ({"fee_amount_vnd": FEE}, "invalid_payment_note"),
    ({"fee_amount_vnd": FEE, "payment_note": "MOT MA KHAC"}, "invalid_payment_note"),
    ({"fee_amount_vnd": FEE, "payment_note": "Nộp phí"}, "invalid_payment_note"),
    ({"fee_amount_vnd": FEE, "payment_note": ["{note}"]}, "invalid_payment_note"),
    ({"payment_note": "{note}"}, "invalid_amount"),
])
def test_bad_stated_fees_are_refused_and_nothing_is_written(officers, account, fee, problem):
    phone = Device(officers["intake"].api)
    dossier_id = str(uuid.uuid4())
    code = provisional(dossier_id)
    fee = {name: ([transfer_note(code)] if value == ["{note}"] else transfer_note(code) if value == "{note}" else value)
           for name, value in fee.items()}
    result = field_create(phone, dossier_id, code, **fee)
    assert (result["status"], result["code"]) == ("rejected", problem), result
    assert officers["intake"].api.get(f"/api/dossiers/{dossier_id}").status_code == 404


def test_a_fee_is_stated_only_on_a_dossier_received_on_the_spot(officers, account, citizen):
    desk = Device(officers["intake"].api)
    dossier_id = str(uuid.uuid4())
    changes = {**create_changes(**VALID_FORM), "channel": {"value": "direct"}, "fee_amount_vnd": {"value": FEE},
               "payment_note": {"value": "X"}}
    result = desk.sync([desk.mutation("create", dossier_id, changes=changes)]).json()["results"][0]
    assert (result["status"], result["code"]) == ("rejected", "fee_not_received")
    phone = Device(citizen)
    changes = {**create_changes(**VALID_FORM), "fee_amount_vnd": {"value": 0}}
    result = phone.sync([phone.mutation("create", dossier_id, changes=changes)]).json()["results"][0]
    assert (result["status"], result["code"]) == ("rejected", "field_readonly")


def test_a_provisional_note_pays_after_the_final_code_replaced_it(officers, account):
    phone = Device(officers["intake"].api)
    dossier_id = str(uuid.uuid4())
    tam = provisional(dossier_id)
    note = transfer_note(tam)
    assert len(tam) > 25 and note == tam.replace("-", "")  # too long for VietQR: letters and digits only
    assert field_create(phone, dossier_id, tam, fee_amount_vnd=FEE, payment_note=note)["status"] == "applied"
    before = dossier(officers["intake"], dossier_id)
    assert before["code"] != tam and not before["code"].startswith("TAM")
    phone.catch_up()
    record = phone.record(dossier_id)["data"]
    assert record["payment_qr"] == qr_for(note) and note_of(record["payment_qr"]) == note

    # The citizen's bank wrote the note its own way: letters and digits are compared.
    data = statement((FEE, f"NGUYEN VAN AN {note[:8]} {note[8:]}"), (FEE, f"lan hai {note}"),
                     ref=f"FI{uuid.uuid4().hex[:8]}-")
    answer = post_statement(officers["intake"], data).json()
    assert answer["outcomes"] == {"paid": 1, "partial": 0, "overpaid": 0, "duplicate": 1, "unmatched": 0,
                                  "refused": 0}, answer
    phone.catch_up()
    paid = phone.record(dossier_id)["data"]
    # Paid with the status kept: the dossier was received, the fee fixed then; the appointment did not move.
    assert (paid["status"], paid["payment_channel"]) == (2, "transfer") and paid["paid_at"]
    assert paid["due_at"] == record["due_at"] and "clock_paused_at" not in paid

    # The same statement again pays nothing twice, and the dossier is not written again.
    version = phone.record(dossier_id)["version"]
    again = post_statement(officers["intake"], data).json()
    assert (again["already_imported"], again["outcomes"]["paid"]) == (2, 0)
    phone.catch_up()
    assert phone.record(dossier_id)["version"] == version
    nothing = command(officers["intake"], dossier_id, "payment_done")
    assert (nothing["status"], nothing["code"]) == ("rejected", "nothing_to_pay")


def test_a_final_code_pays_while_processing_and_the_clock_stays(officers, account):
    phone = Device(officers["intake"].api)
    dossier_id = str(uuid.uuid4())
    code = block_code(phone)
    assert field_create(phone, dossier_id, code, fee_amount_vnd=FEE,
                        payment_note=transfer_note(code))["status"] == "applied"
    assert command(officers["leader"], dossier_id, "start")["status"] == "applied"
    due = dossier(officers["intake"], dossier_id)["due_at"]
    answer = post_statement(officers["leader"], statement((FEE, code), ref=f"FP{uuid.uuid4().hex[:8]}-")).json()
    assert answer["outcomes"]["paid"] == 1, answer
    after = dossier(officers["intake"], dossier_id)
    assert (after["status"], after["due_at"], after["payment"]["channel"]) == (4, due, "transfer")


def test_paying_at_the_desk_during_a_supplement_does_not_restart_the_clock(officers, account):
    phone = Device(officers["intake"].api)
    dossier_id = str(uuid.uuid4())
    code = block_code(phone)
    assert field_create(phone, dossier_id, code, fee_amount_vnd=FEE,
                        payment_note=transfer_note(code))["status"] == "applied"
    assert command(officers["intake"], dossier_id, "request_supplement", reason="Thiếu bản sao")["status"] == "applied"
    phone.catch_up()
    waiting = phone.record(dossier_id)["data"]
    assert waiting["clock_paused_at"]
    assert command(officers["intake"], dossier_id, "payment_done", reference="BL-7")["status"] == "applied"
    phone.catch_up()
    paid = phone.record(dossier_id)["data"]
    assert (paid["status"], paid["substatus"], paid["payment_channel"]) == (5, "requested", "cash")
    assert (paid["clock_paused_at"], paid["due_at"]) == (waiting["clock_paused_at"], waiting["due_at"])


def test_without_a_fee_fixed_there_is_nothing_to_pay(officers, account):
    phone = Device(officers["intake"].api)
    dossier_id = str(uuid.uuid4())
    assert field_create(phone, dossier_id, provisional(dossier_id))["status"] == "applied"
    refused = command(officers["intake"], dossier_id, "payment_done")
    assert (refused["status"], refused["code"]) == ("rejected", "nothing_to_pay")
    # A fee of 0 stated at intake (exempt) is fixed, with no code to scan, and owes nothing either.
    free = str(uuid.uuid4())
    tam = provisional(free)
    assert field_create(phone, free, tam, fee_amount_vnd=0, payment_note=transfer_note(tam))["status"] == "applied"
    assert dossier(officers["intake"], free)["payment"]["amount_vnd"] == 0
    assert command(officers["intake"], free, "payment_done")["code"] == "nothing_to_pay"
    assert parse(qr_for("X"))  # the helper itself builds a valid text
