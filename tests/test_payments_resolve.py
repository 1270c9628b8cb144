"""Resolving a listed statement line on a real server (docs/payments.md "Resolving a line"): an officer pays a dossier
with a checked line (through the one write path, with the line as evidence) or sets it aside with a reason; once
only; only their own unit's lines; hostile input changes nothing."""

from __future__ import annotations

import uuid

import pytest

from tests.conftest import VINH_YEN
from tests.test_payments_http import (FEE, account, awaiting_payment, officers, post_statement,  # noqa: F401
                                      statement)
from tests.test_sync_http import Device


def code_of(officers, dossier_id: str) -> str:
    return officers["intake"].api.get(f"/api/dossiers/{dossier_id}").json()["code"]


def listed(device: Device, everything: bool = False) -> dict[int, dict]:
    url = f"/api/units/{VINH_YEN}/payments" + ("?all=1" if everything else "")
    return {line["id"]: line for line in device.api.get(url).json()["items"]}


def import_lines(officers, *lines: tuple[int, str]) -> list[dict]:
    """Import `lines` (each with a fresh reference) and answer them as listed, in order."""
    before = set(listed(officers["intake"], everything=True))
    notes = [f"{note} {uuid.uuid4().hex[:10]}" for _, note in lines]
    response = post_statement(officers["intake"], statement(*[(amount, note) for (amount, _), note in zip(lines, notes)],
                                                            ref=f"RS{uuid.uuid4().hex[:8]}-"))
    assert response.status_code == 200, response.text
    new = [line for key, line in listed(officers["intake"], everything=True).items() if key not in before]
    return sorted(new, key=lambda line: notes.index(line["note"]))


def resolve(device: Device, line_id: object, unit: str = VINH_YEN, **body: object):
    return device.api.send("POST", f"/api/units/{unit}/payments/{line_id}/resolve", body)


def test_a_partial_line_paid_after_checking(server, officers, account):
    phone, dossier_id = awaiting_payment(server, officers)
    [line] = import_lines(officers, (FEE - 5000, code_of(officers, dossier_id)))
    assert line["outcome"] == "partial" and line["resolution"] is None

    # Another amount than the fee: only with the officer's explicit confirmation.
    unconfirmed = resolve(officers["intake"], line["id"], action="pay")
    assert (unconfirmed.status_code, unconfirmed.json()["error"]["code"]) == (409, "amount_differs")
    assert officers["intake"].api.get(f"/api/dossiers/{dossier_id}").json()["status"] == 6
    assert line["id"] in listed(officers["intake"])

    done = resolve(officers["intake"], line["id"], action="pay", confirmed_amount=True, reason="Nộp thêm 5.000 đ tại quầy")
    assert done.status_code == 200, done.text
    resolution = done.json()["resolution"]
    assert resolution["action"] == "paid" and resolution["by"]["name"] and resolution["at"]
    shown = phone.api.get(f"/api/dossiers/{dossier_id}/payment").json()
    assert shown["channel"] == "transfer" and shown["paid_at"]
    assert officers["intake"].api.get(f"/api/dossiers/{dossier_id}").json()["status"] == 4

    # Off the list to look at; shown with ?all=1; a second resolution is refused and changes nothing.
    assert line["id"] not in listed(officers["intake"])
    assert listed(officers["leader"], everything=True)[line["id"]]["resolution"]["action"] == "paid"
    again = resolve(officers["leader"], line["id"], action="dismiss", reason="thử lại")
    assert (again.status_code, again.json()["error"]["code"]) == (409, "already_resolved")
    assert listed(officers["leader"], everything=True)[line["id"]]["resolution"] == resolution


def test_an_unmatched_line_pays_the_dossier_the_officer_names(server, officers, account):
    _, dossier_id = awaiting_payment(server, officers)
    code = code_of(officers, dossier_id)
    [line] = import_lines(officers, (FEE, "chuyen tien le phi khong ghi ma"))
    assert line["outcome"] == "unmatched"
    missing = resolve(officers["intake"], line["id"], action="pay")
    assert (missing.status_code, missing.json()["error"]["code"]) == (400, "dossier_required")
    unknown = resolve(officers["intake"], line["id"], action="pay", dossier="KHONG-CO-MA")
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "dossier_not_found")
    done = resolve(officers["intake"], line["id"], action="pay", dossier=code)
    assert done.status_code == 200, done.text
    assert done.json()["dossier"]["code"] == code and done.json()["dossier"]["status"] == 4


def test_a_line_for_a_dossier_no_longer_awaiting_payment_is_refused_and_stays(server, officers, account):
    _, dossier_id = awaiting_payment(server, officers)
    code = code_of(officers, dossier_id)
    [duplicate] = import_lines(officers, (FEE, code), (FEE, f"{code} lan hai"))  # the first pays: not listed
    assert duplicate["outcome"] == "duplicate"
    refused = resolve(officers["intake"], duplicate["id"], action="pay", confirmed_amount=True)
    assert refused.status_code == 409 and refused.json()["error"]["code"] not in ("already_resolved", "amount_differs")
    assert listed(officers["intake"])[duplicate["id"]]["resolution"] is None  # nothing changed: still to look at
    done = resolve(officers["intake"], duplicate["id"], action="dismiss", reason="Đã hoàn tiền cho công dân")
    assert done.status_code == 200 and done.json()["resolution"]["reason"] == "Đã hoàn tiền cho công dân"
    assert duplicate["id"] not in listed(officers["intake"])


def test_a_device_cannot_use_a_partial_line_without_resolving_it(server, officers, account):
    from tests.test_supplement import command

    _, dossier_id = awaiting_payment(server, officers)
    [line] = import_lines(officers, (FEE - 1000, code_of(officers, dossier_id)))
    claimed = command(officers["intake"], dossier_id, "payment_done", channel="transfer", statement_line=line["id"],
                      confirmed_amount=True)
    assert (claimed["status"], claimed["code"]) == ("rejected", "transfer_not_found")


@pytest.mark.parametrize("line_id, body, status, code", [
    ("999999999", {"action": "dismiss", "reason": "không phải phí"}, 404, "line_not_found"),
    ("99999999999999999999999", {"action": "dismiss", "reason": "không phải phí"}, 404, "line_not_found"),
    ("-1", {"action": "dismiss", "reason": "không phải phí"}, 404, "line_not_found"),
    (None, {"action": "refund"}, 400, "invalid_action"),
    (None, {"action": ["pay"]}, 400, "invalid_action"),
    (None, {"action": "dismiss"}, 400, "reason_required"),
    (None, {"action": "dismiss", "reason": "x" * 501}, 400, "too_long"),
    (None, {"action": "dismiss", "reason": "hoàn\x00tiền"}, 400, "malformed_json"),
    (None, {"action": "pay", "confirmed_amount": "yes"}, 400, "type"),
    (None, {"action": "pay", "dossier": 12345678901234567890123}, 400, "malformed_json"),
    (None, {"action": "pay", "dossier": "x" * 65}, 400, "too_long"),
])
def test_hostile_resolutions_change_nothing(server, officers, account, line_id, body, status, code):
    [line] = import_lines(officers, (FEE + 7000, "khong ro"))
    response = resolve(officers["intake"], line_id or line["id"], **body)
    assert (response.status_code, response.json()["error"]["code"]) == (status, code), response.text
    assert listed(officers["intake"])[line["id"]]["resolution"] is None


def test_only_the_units_desk_and_leader_resolve(server, officers, account):
    [line] = import_lines(officers, (1234, "khong ro"))
    body = {"action": "dismiss", "reason": "không phải phí"}
    assert resolve(officers["intake_elsewhere"], line["id"], **body).status_code == 403
    assert resolve(officers["specialist"], line["id"], **body).status_code == 403
    assert resolve(officers["admin"], line["id"], **body).status_code == 403
    with server.client() as stranger:
        assert stranger.post(f"/api/units/{VINH_YEN}/payments/{line['id']}/resolve", json=body).status_code == 401
    assert listed(officers["intake"])[line["id"]]["resolution"] is None


def test_another_units_line_is_not_found(server, officers, account):
    """The desk of another unit resolving this unit's line through their own unit's path: not there."""
    [line] = import_lines(officers, (4321, "khong ro"))
    elsewhere = officers["intake_elsewhere"]
    page = elsewhere.api.get("/officer/payments")
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    answer = elsewhere.api.http.post(f"/officer/payments/lines/{line['id']}",
                                     data={"csrf_token": token, "action": "dismiss", "reason": "không phải phí"})
    assert answer.status_code == 404
    assert listed(officers["intake"])[line["id"]]["resolution"] is None


def test_the_officers_page_resolves_lines(server, officers, account):
    _, dossier_id = awaiting_payment(server, officers)
    code = code_of(officers, dossier_id)
    short, stray = import_lines(officers, (FEE - 2000, code), (999, "tien nham tai khoan"))
    desk = officers["intake"].api
    page = desk.get("/officer/payments")
    assert f'action="/officer/payments/lines/{short["id"]}"' in page.text
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    url = f"/officer/payments/lines/{short['id']}"

    forged = desk.http.post(url, data={"csrf_token": "sai", "action": "pay", "confirmed_amount": "1"})
    assert forged.status_code == 403
    unconfirmed = desk.http.post(url, data={"csrf_token": token, "action": "pay"})
    assert unconfirmed.status_code == 409 and "xác nhận đã kiểm tra số tiền" in unconfirmed.text
    control = desk.http.post(f"/officer/payments/lines/{stray['id']}",
                             data={"csrf_token": token, "action": "dismiss", "reason": "nhầm\x01"})
    assert control.status_code == 400

    paid = desk.http.post(url, data={"csrf_token": token, "action": "pay", "confirmed_amount": "1"})
    assert paid.status_code == 200 and "Đã ghi nhận khoản chuyển là phí đã nộp của hồ sơ." in paid.text
    assert desk.get(f"/api/dossiers/{dossier_id}").json()["status"] == 4
    dismissed = desk.http.post(f"/officer/payments/lines/{stray['id']}",
                               data={"csrf_token": token, "action": "dismiss", "reason": "Chuyển nhầm, đã hoàn"})
    assert dismissed.status_code == 200 and "Đã bỏ qua khoản chuyển" in dismissed.text
    assert f'data-line="{stray["id"]}"' not in dismissed.text
    everything = desk.get("/officer/payments?all=1").text
    assert f'data-line="{stray["id"]}"' in everything and "Chuyển nhầm, đã hoàn" in everything
    twice = desk.http.post(url, data={"csrf_token": token, "action": "pay", "confirmed_amount": "1"})
    assert twice.status_code == 409 and "đã được xử lý" in twice.text
