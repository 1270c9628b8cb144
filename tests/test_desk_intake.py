"""The desk and field flow (docs/workflow.md "Desk and field intake"), over HTTP as a device syncs it.

An officer files a walk-in or field dossier, checks it, then guides the citizen on form 02 (request to supplement)
or refuses on form 03, both before reception, or receives a complete dossier with its code, receipt and
appointment (form 01). Sources: Decree 61/2018/NĐ-CP Art. 19 (reception at the one-stop desk: complete → receipt
with appointment; incomplete → guided once, in writing; refused → refusal with the reason), carried into
Decree 118/2025/NĐ-CP; forms 01, 02 and 03 of Circular 03/2025/TT-VPCP (docs/domain.md "Corrections and additions",
"Incomplete walk-in dossiers").
"""

from __future__ import annotations

import uuid

import pytest

from tests.conftest import VALID_FORM, Api, officer_api

from tests.test_sync_http import Device, create_changes, edit, new_citizen

REASON = "Thiếu bản sao giấy khai sinh"


@pytest.fixture(scope="module")
def desk(server) -> Device:
    return Device(officer_api(server, "intake"))


def walk_in(desk: Device, channel: str = "direct") -> str:
    dossier_id = str(uuid.uuid4())
    changes = {**create_changes(**VALID_FORM), "channel": {"value": channel}}
    result = desk.sync([desk.mutation("create", dossier_id, changes=changes)]).json()["results"][0]
    assert result["status"] == "applied", result
    return dossier_id


def command(device: Device, dossier_id: str, name: str, **args) -> dict:
    return device.sync([device.mutation("command", dossier_id, command=name, args=args)]).json()["results"][0]


def test_a_walk_in_dossier_is_not_received_by_being_filed(desk):
    """Decree 61/2018 Art. 19, Decree 118/2025: the officer checks first; only a complete dossier is received."""
    data = desk.record(walk_in(desk))["data"]
    assert (data["status"], data["channel"]) == (1, "direct")
    assert not data.get("code") and not data.get("received_at") and not data.get("due_at")


def test_guided_on_form_02_then_received_complete_with_code_receipt_and_appointment(desk):
    """Circular 03/2025 form 02 (phiếu yêu cầu bổ sung, hoàn thiện hồ sơ) before reception; form 01 once complete."""
    dossier_id = walk_in(desk)
    assert command(desk, dossier_id, "request_supplement", reason=REASON)["status"] == "applied"
    guided = desk.record(dossier_id)["data"]
    assert (guided["status"], guided["substatus"]) == (5, "requested")
    assert not guided.get("code") and not guided.get("received_at")
    events = desk.api.get(f"/api/dossiers/{dossier_id}/events").json()["items"]
    assert [(e["action"], e["note"]) for e in events][-1] == ("request_supplement", REASON)
    # The citizen comes back with what was missing: not "accepted" into processing, but received.
    refused = command(desk, dossier_id, "accept_supplement")
    assert (refused["status"], refused["code"]) == ("rejected", "not_received")
    assert command(desk, dossier_id, "receive")["status"] == "applied"
    received = desk.record(dossier_id)["data"]
    assert (received["status"], received.get("substatus")) == (2, None)
    assert received["code"] and received["received_at"] and received["due_at"]


def test_the_officer_corrects_a_guided_walk_in_form_then_receives_it(desk, server):
    """A walk-in dossier has no owner to answer form 02: the citizen brings the missing papers back to the desk and
    the officer writes the corrections into the form (docs/workflow.md "Desk and field intake"). An online
    dossier's supplement stays the citizen's to write."""
    dossier_id = walk_in(desk)
    assert command(desk, dossier_id, "request_supplement", reason=REASON)["status"] == "applied"
    result = desk.sync([edit(desk, dossier_id, full_name="Nguyễn Thị Hồng Nhung")]).json()["results"][0]
    assert result["status"] == "applied", result
    assert command(desk, dossier_id, "receive")["status"] == "applied"
    assert desk.record(dossier_id)["data"]["form.full_name"] == "Nguyễn Thị Hồng Nhung"

    citizen = Device(new_citizen(server))
    online = str(uuid.uuid4())
    citizen.sync([citizen.mutation("create", online, changes=create_changes(**VALID_FORM))])
    assert command(citizen, online, "submit")["status"] == "applied"
    assert command(desk, online, "receive")["status"] == "applied"
    assert command(desk, online, "request_supplement", reason=REASON)["status"] == "applied"
    refused = desk.sync([edit(desk, online, full_name="Tên khác")]).json()["results"][0]
    assert (refused["status"], refused["code"]) == ("rejected", "not_editable")


def test_refused_on_form_03_before_reception_gets_no_code(desk):
    """Circular 03/2025 form 03 (phiếu từ chối tiếp nhận giải quyết hồ sơ): the reason is required."""
    dossier_id = walk_in(desk, "field")
    assert command(desk, dossier_id, "refuse")["code"] == "reason_required"
    assert command(desk, dossier_id, "refuse", reason="Không thuộc thẩm quyền của xã")["status"] == "applied"
    data = desk.record(dossier_id)["data"]
    assert data["status"] == 3 and not data.get("code") and not data.get("received_at")


def test_a_dossier_filed_for_a_citizen_carries_their_phone_and_personal_identification_number():
    """Issue 14: walk-in dossiers carry the phone number and số định danh cá nhân, even on a form that makes them
    optional (notices by SMS, linking to the citizen's account later)."""
    from server.workflow.policy import _walk_in_contact

    form = {"fields": [{"name": "dien_thoai", "type": "phone"}, {"name": "so_dinh_danh", "type": "cccd"}]}
    assert _walk_in_contact(form, {"form.dien_thoai": "0912345678"}).code == "contact_required"
    assert _walk_in_contact(form, {"form.so_dinh_danh": "026301123456"}).code == "contact_required"
    assert _walk_in_contact(form, {"form.dien_thoai": "0912345678", "form.so_dinh_danh": "026301123456"}) is None
