"""Satisfaction ratings (docs/workflow.md "Ratings"): the owner rates once, after the result is returned;
"không hài lòng" needs a reason; nobody else may rate."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from tests.test_assignment import command, officer, received_dossier
from tests.test_sync_http import Device, new_citizen


def returned_dossier(server):
    citizen, dossier_id = received_dossier(server)
    specialist = Device(officer(server, "specialist"))
    assert command(specialist, dossier_id, "start")["status"] == "applied"
    assert command(specialist, dossier_id, "finish")["status"] == "applied"
    # A leader signs the draft (docs/workflow.md "Approval and return").
    assert command(Device(officer(server, "leader")), dossier_id, "approve")["status"] == "applied"
    return citizen, dossier_id


def test_a_rating_before_the_result_is_returned_is_refused(server):
    citizen, dossier_id = returned_dossier(server)  # result ready (9), not yet handed over
    early = citizen.post(f"/api/dossiers/{dossier_id}/rating", {"value": "satisfied"})
    assert early.status_code == 409 and early.json()["error"]["code"] == "not_returned"
    assert "sau khi Ông/Bà đã nhận kết quả" in early.json()["error"]["message"]
    assert citizen.get(f"/api/dossiers/{dossier_id}/rating").json() == {"rating": None, "can_rate": False}


def test_unsatisfied_needs_a_reason_and_a_dossier_is_rated_once(server):
    citizen, dossier_id = returned_dossier(server)
    assert command(Device(officer(server, "intake")), dossier_id, "return", received_by="Nguyễn Thị Mai")["status"] == "applied"
    assert citizen.get(f"/api/dossiers/{dossier_id}/rating").json() == {"rating": None, "can_rate": True}
    for body, code in (({"value": "unsatisfied"}, "reason_required"),
                       ({"value": "unsatisfied", "reason": "   "}, "reason_required"),
                       ({"value": "tot"}, "invalid_rating"),
                       ({"value": ["satisfied"]}, "invalid_rating"),
                       ({"value": "satisfied", "reason": 5}, "invalid_reason")):
        refused = citizen.post(f"/api/dossiers/{dossier_id}/rating", body)
        assert (refused.status_code, refused.json()["error"]["code"]) == (400, code), body
    no_reason = citizen.post(f"/api/dossiers/{dossier_id}/rating", {"value": "unsatisfied"}).json()["error"]
    assert no_reason["message"] == "Vui lòng cho biết lý do Ông/Bà không hài lòng để cơ quan khắc phục."
    rated = citizen.post(f"/api/dossiers/{dossier_id}/rating",
                         {"value": "unsatisfied", "reason": "Phải đi lại hai lần vì thiếu hướng dẫn"})
    assert rated.status_code == 201
    assert (rated.json()["label"], rated.json()["reason"]) == ("Không hài lòng", "Phải đi lại hai lần vì thiếu hướng dẫn")
    twice = citizen.post(f"/api/dossiers/{dossier_id}/rating", {"value": "very_satisfied"})
    assert twice.status_code == 409 and twice.json()["error"]["code"] == "already_rated"
    shown = citizen.get(f"/api/dossiers/{dossier_id}/rating").json()
    assert shown["rating"]["value"] == "unsatisfied" and shown["can_rate"] is False
    # The unit sees the rating; it cannot rate.
    leader = officer(server, "leader")
    assert leader.get(f"/api/dossiers/{dossier_id}/rating").json()["rating"]["label"] == "Không hài lòng"


def test_only_the_owner_rates_and_others_cannot_see_it(server):
    citizen, dossier_id = returned_dossier(server)
    command(Device(officer(server, "intake")), dossier_id, "return", received_by="Nguyễn Thị Mai")
    stranger = new_citizen(server)
    assert stranger.post(f"/api/dossiers/{dossier_id}/rating", {"value": "satisfied"}).status_code == 404
    assert stranger.get(f"/api/dossiers/{dossier_id}/rating").status_code == 404
    desk = officer(server, "intake")
    by_officer = desk.post(f"/api/dossiers/{dossier_id}/rating", {"value": "very_satisfied"})
    assert by_officer.status_code == 403 and by_officer.json()["error"]["code"] == "not_owner"
    assert officer(server, "intake_elsewhere").get(f"/api/dossiers/{dossier_id}/rating").status_code == 404
    assert citizen.http.post(f"/api/dossiers/{dossier_id}/rating", json={"value": "satisfied"}).status_code == 403
    assert citizen.post(f"/api/dossiers/{dossier_id}/rating", {"value": "very_satisfied"}).status_code == 201


def test_two_ratings_sent_at_the_same_moment_keep_one(server):
    citizen, dossier_id = returned_dossier(server)
    command(Device(officer(server, "intake")), dossier_id, "return", received_by="Nguyễn Thị Mai")
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda value: citizen.post(f"/api/dossiers/{dossier_id}/rating", {"value": value}),
                                ["very_satisfied", "satisfied", "very_satisfied", "satisfied"]))
    assert sorted(a.status_code for a in answers) == [201, 409, 409, 409]
    assert all(a.json()["error"]["code"] == "already_rated" for a in answers if a.status_code == 409)
