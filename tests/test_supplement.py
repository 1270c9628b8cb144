"""The supplement round trip over HTTP (docs/workflow.md "Supplements"): an officer asks for what is missing, the
citizen reads why, corrects the form, adds a page and sends the supplement; the office accepts it once every page
has arrived, and the appointment moves by the working time the citizen took.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest

from server.workflow.working_time import WorkingCalendar
from tests.conftest import VALID_FORM, Api, officer_api
from tests.test_attachments_http import finalize, jpeg, put, register
from tests.test_sync_http import Device, create_changes, edit, new_citizen

REASON = "Bản sao giấy khai sinh của con\nẢnh chân dung 4x6"


@pytest.fixture(scope="module")
def desk(server) -> Device:
    """One sign-in per officer for the module: sign-ins per account are rate limited."""
    return Device(officer_api(server, "intake"))


@pytest.fixture(scope="module")
def specialist(server) -> Device:
    return Device(officer_api(server, "specialist"))


def command(device: Device, dossier_id: str, name: str, **args) -> dict:
    response = device.sync([device.mutation("command", dossier_id, command=name, args=args)])
    assert response.status_code == 200, response.text
    return response.json()["results"][0]


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text)


def supplement_requested(server, desk: Device, specialist: Device) -> tuple[Api, Device, str]:
    """A citizen's dossier, received, being processed, and asked for a supplement."""
    citizen = new_citizen(server)
    phone = Device(citizen)
    dossier_id = str(uuid.uuid4())
    assert phone.sync([phone.mutation("create", dossier_id, changes=create_changes(**VALID_FORM))]).status_code == 200
    assert command(phone, dossier_id, "submit")["status"] == "applied"
    assert command(desk, dossier_id, "receive")["status"] == "applied"
    assert command(specialist, dossier_id, "start")["status"] == "applied"
    assert command(specialist, dossier_id, "request_supplement", reason=REASON)["status"] == "applied"
    phone.catch_up()
    return citizen, phone, dossier_id


def test_supplement_round_trip(server, desk, specialist):
    citizen, phone, dossier_id = supplement_requested(server, desk, specialist)
    asked = phone.record(dossier_id)["data"]
    assert (asked["status"], asked["substatus"]) == (5, "requested")
    due, paused_at = moment(asked["due_at"]), moment(asked["clock_paused_at"])

    # The citizen is told what is missing: the request's reason is the last step of the timeline.
    events = citizen.get(f"/api/dossiers/{dossier_id}/events").json()["items"]
    assert [(e["action"], e["to_status"], e["note"]) for e in events[-1:]] == [("request_supplement", 5, REASON)]

    # They correct a field and add a page; the page is registered, its upload still to come.
    assert phone.sync([edit(phone, dossier_id, email="mai.nguyen@example.vn")]).json()["results"][0]["status"] == \
        "applied"
    photo = jpeg(seed=61)
    page = register(citizen, dossier_id, photo, document="Giấy khai sinh", page=1)
    assert page.status_code == 201, page.text
    page_id = page.json()["attachment"]["id"]

    # Sending is not held up by the page still uploading, as with submit.
    before = datetime.now(timezone.utc).replace(microsecond=0)
    assert command(phone, dossier_id, "send_supplement")["status"] == "applied"
    after = datetime.now(timezone.utc)
    sent = phone.record(dossier_id)["data"]
    assert (sent["status"], sent["substatus"], sent["form.email"]) == (5, "sent", "mai.nguyen@example.vn")
    # The wait for the citizen is over: the clock runs again and the appointment moved by the time waited.
    assert "clock_paused_at" not in sent
    calendar = WorkingCalendar.from_json(citizen.get("/api/calendar").json())
    earliest, latest = calendar.resume(due, paused_at, before), calendar.resume(due, paused_at, after)
    assert earliest - timedelta(seconds=1) <= moment(sent["due_at"]) <= latest + timedelta(seconds=1)
    assert [e["action"] for e in citizen.get(f"/api/dossiers/{dossier_id}/events").json()["items"]][-1] == \
        "send_supplement"

    # Sent: no more edits, and not sent twice.
    late = phone.sync([edit(phone, dossier_id, email="khac@example.vn")]).json()["results"][0]
    assert (late["status"], late["code"]) == ("rejected", "not_editable")
    again = command(phone, dossier_id, "send_supplement")
    assert (again["status"], again["code"]) == ("rejected", "supplement_already_sent")
    assert "chờ cơ quan" in again["reason"]["vi"]

    # The office cannot accept it while the page is still on its way…
    waiting = command(specialist, dossier_id, "accept_supplement")
    assert (waiting["status"], waiting["code"]) == ("rejected", "files_pending")
    assert "1 tệp" in waiting["reason"]["vi"]
    # …and can once it has arrived and been verified.
    assert put(server.url, page.json()["upload"], photo).status_code == 200
    assert finalize(citizen, page_id).json()["status"] == "verified"
    assert command(specialist, dossier_id, "accept_supplement")["status"] == "applied"
    accepted = specialist.record(dossier_id)["data"]
    assert (accepted["status"], accepted.get("substatus")) == (4, None)
    assert accepted["due_at"] == sent["due_at"]  # already resumed when the citizen sent it
    seen = specialist.api.get(f"/api/dossiers/{dossier_id}/attachments").json()["items"]
    assert [(i["id"], i["document"], i["status"]) for i in seen] == [(page_id, "Giấy khai sinh", "verified")]


def test_sending_checks_the_whole_form_and_only_the_owner_sends(server, desk, specialist):
    citizen, phone, dossier_id = supplement_requested(server, desk, specialist)
    # A required field emptied while correcting: sending says what is wrong and changes nothing.
    assert phone.sync([edit(phone, dossier_id, phone=None)]).json()["results"][0]["status"] == "applied"
    refused = command(phone, dossier_id, "send_supplement")
    assert (refused["status"], refused["code"]) == ("rejected", "invalid_form")
    assert citizen.get(f"/api/dossiers/{dossier_id}").json()["data"].get("phone") is None
    assert phone.record(dossier_id)["data"]["substatus"] == "requested"
    # Neither an officer nor another citizen may send it for the owner.
    assert command(specialist, dossier_id, "send_supplement")["code"] == "forbidden"
    stranger = Device(new_citizen(server))
    assert command(stranger, dossier_id, "send_supplement")["status"] == "rejected"
    # Asking again before the citizen has sent is refused; fixed and sent, it may be asked again.
    early = command(specialist, dossier_id, "request_supplement", reason="Thiếu ảnh")
    assert (early["status"], early["code"]) == ("rejected", "supplement_not_sent")
    assert phone.sync([edit(phone, dossier_id, phone=VALID_FORM["phone"])]).json()["results"][0]["status"] == \
        "applied"
    assert command(phone, dossier_id, "send_supplement")["status"] == "applied"
    assert command(specialist, dossier_id, "request_supplement", reason="Ảnh chân dung bị mờ")["status"] == \
        "applied"
    asked_again = specialist.record(dossier_id)["data"]
    assert (asked_again["status"], asked_again["substatus"]) == (5, "requested")
    assert asked_again["clock_paused_at"]  # the clock stops again while the citizen works on it
    assert citizen.get(f"/api/dossiers/{dossier_id}/events").json()["items"][-1]["note"] == "Ảnh chân dung bị mờ"


def test_the_dossier_lists_link_each_dossiers_documents_and_every_page_links_tracking(server, desk, specialist):
    citizen, phone, dossier_id = supplement_requested(server, desk, specialist)
    base = f'href="/dossiers/{dossier_id}/documents/'
    mine = citizen.get("/dossiers").text
    for kind in ("receipt", "supplement_request"):
        assert f'{base}{kind}"' in mine and f'{base}{kind}.pdf"' in mine
    assert f"{base}refusal" not in mine and f"{base}control_record" not in mine
    assert "Giấy tiếp nhận" in mine and "Phiếu yêu cầu bổ sung" in mine
    unit = specialist.api.get("/officer").text
    for kind in ("receipt", "supplement_request", "control_record"):
        assert f'{base}{kind}"' in unit
    # The links lead to the documents themselves.
    receipt = citizen.get(f"/dossiers/{dossier_id}/documents/receipt")
    assert receipt.status_code == 200 and phone.record(dossier_id)["data"]["code"] in receipt.text
    pdf = citizen.get(f"/dossiers/{dossier_id}/documents/supplement_request.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    # Public tracking is one tap away: in the navigation of every page and on the home page.
    home = Api(server.url).get("/").text
    assert home.count('href="/track"') == 2 and "Tra cứu hồ sơ" in home
    assert 'href="/track"' in mine
