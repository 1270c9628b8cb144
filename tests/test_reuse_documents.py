"""Reusing documents (docs/workflow.md "Reusing documents"): a citizen attaches a verified scan from an earlier
dossier to a new one without photographing it again; nothing is uploaded or stored twice; nobody can reuse
another person's document."""

from __future__ import annotations

import hashlib
import uuid

import httpx

from tests.conftest import VALID_FORM, VINH_YEN, Api
from tests.test_assignment import officer
from tests.test_attachments_http import citizen_with_draft, finalize, jpeg, put, register
from tests.test_sync_http import new_citizen


def verified_page(server, api: Api, dossier_id: str, content: bytes, document: str, page: int = 1) -> dict:
    registered = register(api, dossier_id, content, document=document, page=page).json()
    put(server.url, registered["upload"], content)
    done = finalize(api, registered["attachment"]["id"]).json()
    assert done["status"] == "verified"
    return done


def new_draft(api: Api) -> str:
    response = api.post("/api/dossiers", {"procedure_code": "TEST.0001", "data": VALID_FORM, "unit_code": VINH_YEN})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def test_a_citizen_reuses_their_verified_cccd_scan_and_nothing_is_stored_twice(server):
    citizen, first = citizen_with_draft(server.url)
    scan = jpeg(seed=61)
    digest = hashlib.sha256(scan).hexdigest()
    front = verified_page(server, citizen, first, scan, "Căn cước công dân")
    verified_page(server, citizen, first, scan, "Căn cước công dân", page=2)  # the same bytes twice
    pending = register(citizen, first, jpeg(seed=62), document="Giấy khai sinh").json()["attachment"]

    documents = citizen.get("/api/me/documents").json()["items"]
    assert [(d["sha256"], d["document"]) for d in documents] == [(digest, "Căn cước công dân")]  # one per content
    assert httpx.get(server.url + documents[0]["thumbnail_url"]).headers["content-type"] == "image/jpeg"
    assert pending["id"] not in [d["id"] for d in documents]  # not verified: not offered

    second = new_draft(citizen)
    reused = citizen.post(f"/api/dossiers/{second}/attachments/reuse",
                          {"attachment_id": front["id"], "document": "Bản sao căn cước công dân"})
    assert reused.status_code == 201, reused.text
    page = reused.json()
    assert (page["status"], page["reused_from"], page["sha256"], page["dossier_id"]) == (
        "verified", front["id"], digest, second)
    assert page["document"] == "Bản sao căn cước công dân"
    assert httpx.get(server.url + page["download_url"]).content == scan
    listed = citizen.get(f"/api/dossiers/{second}/attachments").json()["items"]
    assert [item["id"] for item in listed] == [page["id"]]
    stored = list((server.data_dir / "blobs").rglob(digest))
    assert len(stored) == 1 and stored[0].read_bytes() == scan
    # The unit's officers see the reused page with the dossier once it is submitted, like any page.
    citizen.post("/api/sync", {"device_id": f"dev-{uuid.uuid4().hex[:10]}", "cursor": None, "mutations": [
        {"mutation_id": str(uuid.uuid4()), "seq": 1, "entity": "dossier", "entity_id": second, "op": "command",
         "command": "submit", "args": {}}]})
    assert officer(server, "intake").get(f"/api/attachments/{page['id']}").json()["reused_from"] == front["id"]


def test_a_repeated_reuse_with_the_same_id_creates_nothing_more(server):
    citizen, first = citizen_with_draft(server.url)
    scan = verified_page(server, citizen, first, jpeg(seed=63), "Căn cước công dân")
    second = new_draft(citizen)
    body = {"id": str(uuid.uuid4()), "attachment_id": scan["id"], "document": "Căn cước công dân"}
    assert citizen.post(f"/api/dossiers/{second}/attachments/reuse", body).status_code == 201
    again = citizen.post(f"/api/dossiers/{second}/attachments/reuse", body)
    assert again.status_code == 200 and again.json()["id"] == body["id"]
    assert len(citizen.get(f"/api/dossiers/{second}/attachments").json()["items"]) == 1


def test_another_citizens_document_is_refused_with_404_and_nothing_is_created(server):
    owner, first = citizen_with_draft(server.url)
    scan = verified_page(server, owner, first, jpeg(seed=64), "Căn cước công dân")
    stranger = new_citizen(server)
    their_draft = new_draft(stranger)
    refused = stranger.post(f"/api/dossiers/{their_draft}/attachments/reuse",
                            {"attachment_id": scan["id"], "document": "Căn cước công dân"})
    assert refused.status_code == 404 and refused.json()["error"]["code"] == "unknown_document"
    assert "Không tìm thấy giấy tờ này" in refused.json()["error"]["message"]
    assert stranger.get(f"/api/dossiers/{their_draft}/attachments").json()["items"] == []
    assert stranger.get("/api/me/documents").json()["items"] == []
    # Nor can anyone add to a dossier that is not theirs.
    into_owners = stranger.post(f"/api/dossiers/{first}/attachments/reuse",
                                {"attachment_id": scan["id"], "document": "Căn cước công dân"})
    assert into_owners.status_code == 404
    unknown = owner.post(f"/api/dossiers/{first}/attachments/reuse", {"attachment_id": str(uuid.uuid4())})
    assert unknown.status_code == 404


def test_reuse_needs_an_editable_dossier_of_ones_own(server):
    citizen, first = citizen_with_draft(server.url)
    scan = verified_page(server, citizen, first, jpeg(seed=65), "Căn cước công dân")
    submitted = citizen.post("/api/dossiers", {"procedure_code": "TEST.0001", "data": VALID_FORM,
                                               "unit_code": VINH_YEN, "submit": True}).json()["id"]
    desk = officer(server, "intake")
    desk.post("/api/sync", {"device_id": f"dev-{uuid.uuid4().hex[:10]}", "cursor": None, "mutations": [
        {"mutation_id": str(uuid.uuid4()), "seq": 1, "entity": "dossier", "entity_id": submitted, "op": "command",
         "command": "receive", "args": {}}]})
    closed = citizen.post(f"/api/dossiers/{submitted}/attachments/reuse",
                          {"attachment_id": scan["id"], "document": "Căn cước công dân"})
    assert closed.status_code == 409 and closed.json()["error"]["code"] == "not_editable"
    by_officer = desk.post(f"/api/dossiers/{submitted}/attachments/reuse",
                              {"attachment_id": scan["id"], "document": "Căn cước công dân"})
    assert by_officer.status_code == 403 and by_officer.json()["error"]["code"] == "not_owner"
    assert len(citizen.get(f"/api/dossiers/{submitted}/attachments").json()["items"]) == 0
