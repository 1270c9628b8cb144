"""The public postal service (bưu chính công ích, docs/workflow.md "Postal"): the citizen chooses to send the
dossier and/or receive the result by post; the desk records the consignment numbers."""

from __future__ import annotations

import uuid

from tests.conftest import VALID_FORM
from tests.test_assignment import command, officer, received_dossier
from tests.test_attachments_http import finalize, jpeg, put, register
from tests.test_sync_http import Device, create_changes, new_citizen


def postal_dossier(server, **choices) -> tuple[Device, str]:
    """A citizen drafts on the phone, choosing the result by post, then submits choosing to send it by post."""
    owner = Device(new_citizen(server))
    dossier_id = str(uuid.uuid4())
    changes = {**create_changes(**VALID_FORM), "postal_return": {"value": True}}
    assert owner.sync([owner.mutation("create", dossier_id, changes=changes)]).json()["results"][0]["status"] == "applied"
    assert command(owner, dossier_id, "submit", **choices)["status"] == "applied"
    owner.catch_up()
    return owner, dossier_id


def test_the_citizens_postal_choices_travel_with_the_dossier_and_the_desk_records_the_consignment(server):
    owner, dossier_id = postal_dossier(server, postal_submit=True)
    data = owner.record(dossier_id)["data"]
    assert (data["postal_submit"], data["postal_return"], data["channel"]) == (True, True, "postal")
    desk = Device(officer(server, "intake"))
    bad = command(desk, dossier_id, "record_postal", consignment="??")
    assert (bad["status"], bad["code"]) == ("rejected", "invalid_consignment")
    assert "EL123456789VN" in bad["reason"]["vi"]
    assert command(desk, dossier_id, "record_postal", consignment=" el123456789vn ")["status"] == "applied"
    owner.catch_up()
    data = owner.record(dossier_id)["data"]
    assert (data["postal_consignment"], data["status"]) == ("EL123456789VN", 1)
    events = owner.api.get(f"/api/dossiers/{dossier_id}/events").json()["items"]
    assert (events[-1]["action"], events[-1]["from_status"], events[-1]["to_status"]) == ("record_postal", 1, 1)


def test_the_result_goes_back_by_post_with_its_consignment_number(server):
    owner, dossier_id = postal_dossier(server)
    assert owner.record(dossier_id)["data"]["channel"] == "online"  # filed online, result by post
    desk, specialist_api = Device(officer(server, "intake")), officer(server, "specialist")
    specialist = Device(specialist_api)
    assert command(desk, dossier_id, "receive")["status"] == "applied"
    assert command(specialist, dossier_id, "start")["status"] == "applied"
    result = jpeg(seed=51)
    attached = register(specialist_api, dossier_id, result, document="Kết quả giải quyết").json()
    put(server.url, attached["upload"], result)
    assert finalize(specialist_api, attached["attachment"]["id"]).json()["status"] == "verified"
    assert command(specialist, dossier_id, "finish")["status"] == "applied"
    # A leader signs the specialist's draft before it is returned (docs/workflow.md "Approval and return").
    assert command(Device(officer(server, "leader")), dossier_id, "approve")["status"] == "applied"
    missing = command(desk, dossier_id, "return", by_post=True)
    assert (missing["status"], missing["code"]) == ("rejected", "invalid_consignment")
    assert command(desk, dossier_id, "return", by_post=True, consignment="RR987654321VN")["status"] == "applied"
    owner.catch_up()
    data = owner.record(dossier_id)["data"]
    assert (data["status"], data["postal_consignment"]) == (10, "RR987654321VN")
    assert "returned_at" in data


def test_postal_steps_are_refused_when_the_citizen_did_not_choose_the_post(server):
    _, dossier_id = received_dossier(server)
    desk = Device(officer(server, "intake"))
    refused = command(desk, dossier_id, "record_postal", consignment="EL123456789VN")
    assert (refused["status"], refused["code"]) == ("rejected", "not_postal")
    assert "bưu chính công ích" in refused["reason"]["vi"]
    specialist = Device(officer(server, "specialist"))
    command(specialist, dossier_id, "start")
    command(specialist, dossier_id, "finish")
    command(Device(officer(server, "leader")), dossier_id, "approve")
    by_post = command(desk, dossier_id, "return", by_post=True, consignment="EL123456789VN")
    assert (by_post["status"], by_post["code"]) == ("rejected", "not_postal")
    assert command(desk, dossier_id, "return", received_by="Nguyễn Thị Mai")["status"] == "applied"  # at the desk


def test_a_postal_choice_must_be_true_or_false_and_only_the_desk_records_consignments(server):
    owner = Device(new_citizen(server))
    dossier_id = str(uuid.uuid4())
    changes = {**create_changes(**VALID_FORM), "postal_return": {"value": "có"}}
    refused = owner.sync([owner.mutation("create", dossier_id, changes=changes)]).json()["results"][0]
    assert (refused["status"], refused["code"]) == ("rejected", "invalid_postal")
    _, dossier_id = postal_dossier(server, postal_submit=True)
    as_specialist = command(Device(officer(server, "specialist")), dossier_id, "record_postal",
                            consignment="EL123456789VN")
    assert as_specialist["code"] == "forbidden"
