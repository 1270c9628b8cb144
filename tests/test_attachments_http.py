"""Document pages over HTTP: register, upload to the handed-out target, finalise, read — on the local
folder (the embedded default) and on a real S3 protocol server (moto) on loopback."""

from __future__ import annotations

import hashlib
import io
import os
import uuid
from pathlib import Path

import httpx
import pytest
from PIL import Image

from tests.conftest import VALID_FORM, VINH_YEN, Api, motcua_env, officer_api, run_motcua, start_server, unique_phone
from tests.s3_servers import start_moto


def jpeg(width: int = 800, height: int = 600, seed: int = 0) -> bytes:
    image = Image.new("RGB", (width, height), (250, 250, 245))
    for x in range(0, width, 7):
        image.putpixel((x, (x * 13 + seed) % height), (20, 20, 20))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def webp(width: int = 800, height: int = 600) -> bytes:
    image = Image.open(io.BytesIO(jpeg(width, height)))
    buffer = io.BytesIO()
    image.save(buffer, "WEBP", quality=50)
    return buffer.getvalue()


def webp_bomb() -> bytes:
    """A real lossy WebP whose frame header declares 16383 × 16383 (268 megapixels)."""
    data = bytearray(webp(64, 48))
    data[26:30] = (16383).to_bytes(2, "little") * 2
    return bytes(data)


def big_pdf(size: int) -> bytes:
    """A PDF of `size` bytes whose bulk is one binary stream, as a scanned page's image is."""
    head = b"%PDF-1.4\n1 0 obj\n<< /Length 0000000000 >>\nstream\n"
    tail = b"\nendstream\nendobj\n%%EOF\n"
    length = size - len(head) - len(tail)
    return head.replace(b"0000000000", b"%010d" % length) + os.urandom(length) + tail


def citizen_with_draft(base_url: str) -> tuple[Api, str]:
    api = Api(base_url)
    assert api.post("/api/accounts", {"phone": unique_phone(), "password": "mat-khau-dai",
                                      "full_name": "Người gửi giấy tờ"}).status_code == 201
    response = api.post("/api/dossiers", {"procedure_code": "TEST.0001", "data": VALID_FORM, "unit_code": VINH_YEN})
    assert response.status_code == 201, response.text
    return api, response.json()["id"]


def register(api: Api, dossier_id: str, content: bytes, **extra) -> httpx.Response:
    return api.post("/api/attachments", {"id": str(uuid.uuid4()), "dossier_id": dossier_id, "document": "Tờ khai",
                                         "page": 1, "sha256": hashlib.sha256(content).hexdigest(),
                                         "size": len(content), "content_type": "image/jpeg", **extra})


def put(base_url: str, target: dict, content: bytes) -> httpx.Response:
    url = target["url"] if target["url"].startswith("http") else base_url + target["url"]
    return httpx.put(url, content=content, headers=target.get("headers", {}), timeout=30)


def finalize(api: Api, attachment_id: str, **body) -> httpx.Response:
    return api.post(f"/api/attachments/{attachment_id}/finalize", body)


def test_a_photo_is_uploaded_verified_and_read_back_by_its_owner_and_the_unit(server):
    api, dossier_id = citizen_with_draft(server.url)
    photo = jpeg()
    registered = register(api, dossier_id, photo)
    assert registered.status_code == 201
    target = registered.json()["upload"]
    assert target["kind"] == "put" and registered.json()["attachment"]["status"] == "pending"
    assert put(server.url, target, photo).status_code == 200
    done = finalize(api, registered.json()["attachment"]["id"])
    assert done.status_code == 200
    body = done.json()
    assert (body["status"], body["content_type"]) == ("verified", "image/jpeg")
    downloaded = httpx.get(server.url + body["download_url"])
    assert downloaded.content == photo
    thumbnail = Image.open(io.BytesIO(httpx.get(server.url + body["thumbnail_url"]).content))
    assert max(thumbnail.size) == 320
    listed = api.get(f"/api/dossiers/{dossier_id}/attachments").json()["items"]
    assert [item["id"] for item in listed] == [body["id"]]
    stranger = Api(server.url)
    stranger.post("/api/accounts", {"phone": unique_phone(), "password": "mat-khau-dai", "full_name": "Người lạ"})
    assert stranger.get(f"/api/attachments/{body['id']}").status_code == 404
    assert officer_api(server, "intake_elsewhere").get(f"/api/attachments/{body['id']}").status_code == 404


def test_a_webp_page_is_verified_as_webp_with_a_jpeg_thumbnail(server):
    """The app writes WebP where the browser can (pwa/static/js/photo.js)."""
    api, dossier_id = citizen_with_draft(server.url)
    photo = webp()
    registered = register(api, dossier_id, photo, content_type="image/webp").json()
    assert put(server.url, registered["upload"], photo).status_code == 200
    body = finalize(api, registered["attachment"]["id"]).json()
    assert (body["status"], body["content_type"]) == ("verified", "image/webp")
    downloaded = httpx.get(server.url + body["download_url"])
    assert downloaded.content == photo and downloaded.headers["content-type"] == "image/webp"
    with Image.open(io.BytesIO(httpx.get(server.url + body["thumbnail_url"]).content)) as thumbnail:
        assert thumbnail.format == "JPEG" and max(thumbnail.size) == 320


def test_the_same_photo_attached_twice_is_stored_once(server):
    api, dossier_id = citizen_with_draft(server.url)
    photo = jpeg(seed=7)
    for page in (1, 2):
        registered = register(api, dossier_id, photo, page=page).json()
        put(server.url, registered["upload"], photo)
        assert finalize(api, registered["attachment"]["id"]).json()["status"] == "verified"
    digest = hashlib.sha256(photo).hexdigest()
    stored = list((server.data_dir / "blobs").rglob(digest))
    assert len(stored) == 1 and stored[0].read_bytes() == photo


def test_registering_again_is_idempotent_and_an_id_cannot_be_reused_for_other_bytes(server):
    api, dossier_id = citizen_with_draft(server.url)
    photo = jpeg(seed=3)
    attachment_id = str(uuid.uuid4())
    first = register(api, dossier_id, photo, id=attachment_id)
    again = register(api, dossier_id, photo, id=attachment_id)
    assert (first.status_code, again.status_code) == (201, 201)
    assert first.json()["attachment"] == again.json()["attachment"]
    other = register(api, dossier_id, jpeg(seed=4), id=attachment_id)
    assert other.status_code == 409


@pytest.mark.parametrize("content, declared_sha, code, words", [
    (b"Day la mot tep van ban, khong phai anh.\n" * 50, None, "not_allowed_type", "JPEG"),
    (jpeg()[:4000], None, "broken_image", "chụp lại"),
    (webp()[:-200], None, "broken_image", "chụp lại"),
    (webp_bomb(), None, "too_many_pixels", "triệu điểm ảnh"),
    (jpeg(seed=9), "0" * 64, "checksum_mismatch", ""),
])
def test_bad_files_are_refused_with_a_reason_and_nothing_is_stored(server, content, declared_sha, code, words):
    api, dossier_id = citizen_with_draft(server.url)
    registered = register(api, dossier_id, content, **({"sha256": declared_sha} if declared_sha else {})).json()
    put(server.url, registered["upload"], content)
    body = finalize(api, registered["attachment"]["id"]).json()
    assert body["status"] == "rejected"
    assert body["reject_code"] == code
    assert words in body["reject_reason"] and "download_url" not in body
    assert not list((server.data_dir / "blobs").rglob(hashlib.sha256(content).hexdigest()))


def test_oversized_files_and_bad_registrations_are_refused_before_any_upload(server):
    api, dossier_id = citizen_with_draft(server.url)
    too_big = api.post("/api/attachments", {"id": str(uuid.uuid4()), "dossier_id": dossier_id, "document": "Tờ khai",
                                            "sha256": "a" * 64, "size": 16 * 1024 * 1024})
    assert too_big.status_code == 413 and "MB" in too_big.json()["error"]["message"]
    for change, code in (({"sha256": "xyz"}, "invalid_checksum"), ({"size": -1}, "invalid_size"),
                         ({"document": ""}, "invalid_document"), ({"page": 0}, "invalid_page"),
                         ({"id": "abc"}, "invalid_id")):
        response = register(api, dossier_id, b"x", **change)
        assert (response.status_code, response.json()["error"]["code"]) == (400, code)
    other_dossier = register(Api(server.url), dossier_id, b"x")
    assert other_dossier.status_code == 401


def test_an_upload_link_works_once(server):
    api, dossier_id = citizen_with_draft(server.url)
    photo = jpeg(seed=11)
    target = register(api, dossier_id, photo).json()["upload"]
    assert put(server.url, target, photo).status_code == 200
    reused = put(server.url, target, photo)
    assert reused.status_code == 403 and reused.json()["error"]["code"] == "link_used"
    forged = put(server.url, {**target, "url": target["url"][:-3] + "abc"}, photo)
    assert forged.status_code == 403


def test_a_large_file_resumes_from_the_last_completed_part(server):
    api, dossier_id = citizen_with_draft(server.url)
    document = big_pdf(6 * 1024 * 1024 + 1000)
    registered = register(api, dossier_id, document, content_type="application/pdf").json()
    attachment_id, target = registered["attachment"]["id"], registered["upload"]
    assert target["kind"] == "multipart" and [p["part_number"] for p in target["parts"]] == [1, 2]
    first = target["parts"][0]
    response = put(server.url, first, document[:first["size"]])
    etag = response.headers["etag"].strip('"')
    # The connection drops here. Later the device asks where it stands: part 1 is there, only part 2 remains.
    resumed = api.get(f"/api/attachments/{attachment_id}/upload").json()["upload"]
    assert resumed["parts"][0] == {"part_number": 1, "size": first["size"], "etag": etag}
    assert "url" in resumed["parts"][1] and "url" not in resumed["parts"][0]
    second = resumed["parts"][1]
    etag2 = put(server.url, second, document[first["size"]:]).headers["etag"].strip('"')
    done = finalize(api, attachment_id, parts=[[1, etag], [2, etag2]]).json()
    assert done["status"] == "verified" and done["content_type"] == "application/pdf"
    assert httpx.get(server.url + done["download_url"]).content == document


def test_the_office_cannot_receive_a_dossier_until_its_files_have_arrived(server):
    api, _ = citizen_with_draft(server.url)
    submitted = api.post("/api/dossiers", {"procedure_code": "TEST.0001", "data": VALID_FORM, "unit_code": VINH_YEN,
                                           "submit": True}).json()
    photo = jpeg(seed=21)
    registered = register(api, submitted["id"], photo).json()
    officer = officer_api(server, "intake")
    session = officer.get("/api/session").json()
    assert session["user"]["unit"]["code"] == VINH_YEN

    def receive() -> dict:
        body = {"device_id": f"dev-{uuid.uuid4().hex[:10]}", "cursor": None, "mutations": [
            {"mutation_id": str(uuid.uuid4()), "seq": 1, "entity": "dossier", "entity_id": submitted["id"],
             "op": "command", "command": "receive", "args": {}}]}
        return officer.post("/api/sync", body).json()["results"][0]

    waiting = receive()
    assert waiting["code"] == "files_pending" and "đang được gửi lên" in waiting["reason"]["vi"]
    put(server.url, registered["upload"], photo)
    finalize(api, registered["attachment"]["id"])
    assert receive()["status"] == "applied"
    assert officer.get(f"/api/attachments/{registered['attachment']['id']}").json()["status"] == "verified"


def test_on_s3_uploads_go_straight_to_the_store_and_a_down_store_answers_503(tmp_path, fresh_database):
    moto = start_moto(tmp_path)
    try:
        env = motcua_env(tmp_path / "data", fresh_database(),
                         STORAGE_URL=f"s3://motcua-e2e?endpoint={moto.endpoint}&path_style=true",
                         S3_ACCESS_KEY_ID="test", S3_SECRET_ACCESS_KEY="test", PUBLIC_URL="http://127.0.0.1")
        run_motcua(["migrate"], env)
        run_motcua(["seed"], env)
        run_motcua(["catalog", "import", str(Path(__file__).parent / "data" / "catalog-test.json")], env)
        run_motcua(["storage", "init"], env)
        server = start_server(env, cwd=tmp_path, data_dir=tmp_path / "data")
        try:
            api, dossier_id = citizen_with_draft(server.url)
            photo = jpeg(seed=5)
            registered = register(api, dossier_id, photo).json()
            assert registered["upload"]["url"].startswith(moto.endpoint)
            assert put(server.url, registered["upload"], photo).status_code == 200
            done = finalize(api, registered["attachment"]["id"]).json()
            assert done["status"] == "verified" and httpx.get(done["download_url"]).content == photo
            moto.stop()
            # Handing out a presigned URL needs no call to the store; the upload itself fails and the device
            # keeps the file; asking to finalise is answered 503 with when to try again.
            later = register(api, dossier_id, jpeg(seed=6)).json()
            with pytest.raises(httpx.TransportError):
                put(server.url, later["upload"], jpeg(seed=6))
            down = finalize(api, later["attachment"]["id"])
            assert down.status_code == 503 and down.headers["retry-after"] == "30"
            assert "giữ trên máy" in down.json()["error"]["message"]
            assert api.get(f"/api/attachments/{later['attachment']['id']}").json()["status"] == "pending"
        finally:
            server.stop()
    finally:
        moto.stop()


def officer_command(officer: Api, dossier_id: str, command: str, **args) -> dict:
    body = {"device_id": f"dev-{uuid.uuid4().hex[:10]}", "cursor": None, "mutations": [
        {"mutation_id": str(uuid.uuid4()), "seq": 1, "entity": "dossier", "entity_id": dossier_id,
         "op": "command", "command": command, "args": args}]}
    return officer.post("/api/sync", body).json()["results"][0]


def test_the_owner_reorders_pages_after_upload_and_nobody_else_can(server):
    api, dossier_id = citizen_with_draft(server.url)
    ids = []
    for seed, page in ((31, 1), (32, 2)):
        photo = jpeg(seed=seed)
        registered = register(api, dossier_id, photo, page=page).json()
        put(server.url, registered["upload"], photo)
        assert finalize(api, registered["attachment"]["id"]).json()["status"] == "verified"
        ids.append(registered["attachment"]["id"])
    first, second = ids

    # Swapped by two PATCHes, as the app sends them; each bumps the record's version so devices learn of it.
    before = api.get(f"/api/attachments/{first}").json()["version"]
    moved = api.send("PATCH", f"/api/attachments/{first}", {"page": 2})
    assert moved.status_code == 200 and moved.json()["page"] == 2 and moved.json()["version"] == before + 1
    assert api.send("PATCH", f"/api/attachments/{second}", {"page": 1}).status_code == 200
    items = api.get(f"/api/dossiers/{dossier_id}/attachments").json()["items"]
    assert [(i["id"], i["page"]) for i in items] == [(second, 1), (first, 2)]

    # Bad input changes nothing and says what to do.
    for body, code in (({"page": 0}, "invalid_page"), ({"page": "2"}, "invalid_page"), ({"page": 101}, "invalid_page"),
                       ({"page": 1, "document": "Khác"}, "invalid_field")):
        refused = api.send("PATCH", f"/api/attachments/{first}", body)
        assert refused.status_code == 400 and refused.json()["error"]["code"] == code, body
    # Another citizen does not see the file at all; the unit's officer sees it but cannot reorder it.
    stranger, _ = citizen_with_draft(server.url)
    assert stranger.send("PATCH", f"/api/attachments/{first}", {"page": 1}).status_code == 404
    submitted = api.post("/api/dossiers", {"procedure_code": "TEST.0001", "data": VALID_FORM, "unit_code": VINH_YEN,
                                           "submit": True}).json()
    photo = jpeg(seed=33)
    registered = register(api, submitted["id"], photo).json()
    put(server.url, registered["upload"], photo)
    finalize(api, registered["attachment"]["id"])
    officer = officer_api(server, "intake")
    refused = officer.send("PATCH", f"/api/attachments/{registered['attachment']['id']}", {"page": 3})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "not_owner"
    # Without the CSRF token nothing moves either.
    raw = httpx.patch(f"{server.url}/api/attachments/{first}", json={"page": 5}, cookies=api.http.cookies)
    assert raw.status_code == 403
    assert [(i["id"], i["page"]) for i in api.get(f"/api/dossiers/{dossier_id}/attachments").json()["items"]] == [
        (second, 1), (first, 2)]


def test_pages_are_taken_during_a_requested_supplement_and_not_once_it_is_processed(server):
    api, _ = citizen_with_draft(server.url)
    submitted = api.post("/api/dossiers", {"procedure_code": "TEST.0001", "data": VALID_FORM, "unit_code": VINH_YEN,
                                           "submit": True}).json()
    first = jpeg(seed=41)
    registered = register(api, submitted["id"], first).json()
    put(server.url, registered["upload"], first)
    finalize(api, registered["attachment"]["id"])
    officer = officer_api(server, "intake")
    assert officer_command(officer, submitted["id"], "receive")["status"] == "applied"
    # Received and being processed: the citizen can no longer add pages.
    late = register(api, submitted["id"], jpeg(seed=42))
    assert late.status_code == 409 and late.json()["error"]["code"] == "not_editable"

    assert officer_command(officer, submitted["id"], "request_supplement",
                           reason="Thiếu bản sao giấy khai sinh")["status"] == "applied"
    assert api.get(f"/api/dossiers/{submitted['id']}").json()["status"] == 5  # yêu cầu bổ sung
    extra = jpeg(seed=43)
    added = register(api, submitted["id"], extra, document="Giấy khai sinh", page=1)
    assert added.status_code == 201, added.text
    put(server.url, added.json()["upload"], extra)
    assert finalize(api, added.json()["attachment"]["id"]).json()["status"] == "verified"
    assert api.send("PATCH", f"/api/attachments/{added.json()['attachment']['id']}", {"page": 2}).status_code == 200
    pages = api.get(f"/api/dossiers/{submitted['id']}/attachments").json()["items"]
    assert sorted((p["document"], p["page"], p["status"]) for p in pages) == [
        ("Giấy khai sinh", 2, "verified"), ("Tờ khai", 1, "verified")]

    assert officer_command(officer, submitted["id"], "accept_supplement")["status"] == "applied"
    closed = register(api, submitted["id"], jpeg(seed=44))
    assert closed.status_code == 409 and closed.json()["error"]["code"] == "not_editable"
    frozen = api.send("PATCH", f"/api/attachments/{added.json()['attachment']['id']}", {"page": 1})
    assert frozen.status_code == 409 and frozen.json()["error"]["code"] == "not_editable"
