"""Document pages attached to a dossier (thành phần hồ sơ): registering, uploading, verifying, reading.

The bytes never pass through sync (docs/design.md "Sync", rule 8): the device registers a page, uploads it to the
target the server hands out (a presigned S3 URL, or a signed local URL), then asks the server to finalise.
Only a verified page counts; the office cannot receive a dossier while a page is still coming.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from datetime import datetime, timezone
from typing import Any, TypedDict, cast

from tortoise.transactions import in_transaction

from server.accounts import access
from server.attachments.checks import MAX_FILE_SIZE, verify_object
from server.web.errors import ApiError
from server.dossiers.status import DossierStatus as S
from server.models import CITIZEN, SPECIALIST, Attachment, Dossier, User
from server.attachments.storage import (
    PART_SIZE,
    ObjectNotFound,
    Storage,
    StorageUnavailable,
    StorageUnsupported,
    UploadRejected,
    key_for,
    staging_key,
    thumbnail_key_for,
)
from server.dossiers.records import visible_dossier
from server.dossiers.store import attachment_data
from server.workflow.changes import attachment_written

MAX_DOSSIER_BYTES = 60 * 1024 * 1024  # all pages of one dossier; a shrunk photo is ~250 KB
MAX_PAGES = 100
UPLOAD_LINK_SECONDS = 3600  # long enough for 5 MiB at 2G speeds, short enough to be useless if leaked
DOWNLOAD_LINK_SECONDS = 300
SHA256 = re.compile(r"^[0-9a-f]{64}$")

# Who may add pages, by dossier status: the owner while drafting, just after submitting (files may arrive
# after the dossier) and during a supplement; the unit's officers while they handle it.
OWNER_STATUSES = frozenset({S.DRAFT, S.SUBMITTED, S.SUPPLEMENT})
OFFICER_STATUSES = frozenset({S.SUBMITTED, S.RECEIVED, S.PROCESSING, S.SUPPLEMENT})
# The result (kết quả giải quyết) is attached by an officer of the unit handling the dossier, while it is being
# processed or once processed; nobody else may name a page so (docs/workflow.md "Assignment").
RESULT_DOCUMENT = "Kết quả giải quyết"
RESULT_STATUSES = frozenset({S.PROCESSING, S.RESULT_READY})
# The hand-over of the result: the receiver signs on the officer's screen (docs/workflow.md "Approval and return");
# the page may arrive after the `return` it belongs to (offline), so 9 and 10 take it from the unit's officers.
RECEIVER_SIGNATURE = "Chữ ký của người nhận kết quả"
RECEIVER_SIGNATURE_STATUSES = frozenset({S.RESULT_READY, S.RETURNED})


def is_result_document(name: object) -> bool:
    return isinstance(name, str) and unicodedata.normalize("NFC", name).strip().casefold() in (
        RESULT_DOCUMENT.casefold(), "kết quả")


def unavailable() -> ApiError:
    return ApiError(503, "storage_unavailable",
                    "Kho lưu trữ tệp đang tạm ngừng. Tệp vẫn được giữ trên máy và sẽ tự gửi lại sau.",
                    "The file store is down. Your files stay on your device and will be sent again later.",
                    headers={"Retry-After": "30"})


def _bad(code: str, vi: str, en: str, status: int = 400) -> ApiError:
    return ApiError(status, code, vi, en)


async def _dossier_for_adding(user: User, dossier_id: object, document: object = None) -> Dossier:
    if not isinstance(dossier_id, str) or len(dossier_id) > 36:
        raise _bad("invalid_id", "Mã hồ sơ không hợp lệ.", "Invalid dossier id.")
    dossier = await visible_dossier(user, dossier_id)
    if is_result_document(document):
        return _dossier_for_result(user, dossier)
    owner = dossier.owner_id == user.id
    if owner and dossier.status in OWNER_STATUSES:
        return dossier
    if not owner and user.role != CITIZEN and dossier.status in OFFICER_STATUSES:
        return dossier
    if not owner and user.role != CITIZEN and dossier.status in RECEIVER_SIGNATURE_STATUSES and \
            isinstance(document, str) and document.strip() == RECEIVER_SIGNATURE:
        return dossier
    raise _bad("not_editable", "Hồ sơ ở trạng thái này không nhận thêm giấy tờ.",
               "This dossier does not take more documents in its current state.", status=409)


class Registration(TypedDict):
    """A page the device announces (POST /api/attachments), checked."""
    id: str
    sha256: str
    size: int
    document: str
    page: int
    content_type: str
    dossier_id: object  # as sent: _dossier_for_adding checks it


def parse_registration(body: dict[str, Any]) -> Registration:
    try:
        attachment_id = str(uuid.UUID(str(body.get("id"))))
    except ValueError:
        raise _bad("invalid_id", "Mã tệp trên thiết bị không hợp lệ.", "The file id must be a UUID.") from None
    sha256 = body.get("sha256")
    if not isinstance(sha256, str) or not SHA256.match(sha256):
        raise _bad("invalid_checksum", "Mã kiểm tra SHA-256 của tệp không hợp lệ (64 ký tự hex).",
                   "sha256 must be 64 lower-case hex characters.")
    size = body.get("size")
    if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
        raise _bad("invalid_size", "Kích thước tệp không hợp lệ.", "size must be a positive integer.")
    if size > MAX_FILE_SIZE:
        raise _bad("too_large", f"Tệp quá lớn (tối đa {MAX_FILE_SIZE // (1024 * 1024)} MB). Hãy chụp lại hoặc chia nhỏ tệp PDF.",
                   f"The file is too large (at most {MAX_FILE_SIZE // (1024 * 1024)} MB).", status=413)
    document = body.get("document")
    if not isinstance(document, str) or not document.strip() or len(document) > 300:
        raise _bad("invalid_document", "Hãy chọn giấy tờ (thành phần hồ sơ) mà trang này thuộc về.",
                   "Name the required document this page belongs to (at most 300 characters).")
    page = body.get("page", 1)
    if isinstance(page, bool) or not isinstance(page, int) or not 1 <= page <= MAX_PAGES:
        raise _bad("invalid_page", f"Số trang phải từ 1 đến {MAX_PAGES}.", f"page must be 1 to {MAX_PAGES}.")
    content_type = body.get("content_type", "application/octet-stream")
    if not isinstance(content_type, str) or len(content_type) > 64:
        raise _bad("invalid_type", "Kiểu tệp không hợp lệ.", "Invalid content_type.")
    return {"id": attachment_id, "sha256": sha256, "size": size, "document": document.strip(), "page": page,
            "content_type": content_type, "dossier_id": body.get("dossier_id")}


async def register(user: User, body: dict[str, Any], storage: Storage) -> tuple[Attachment, dict[str, Any]]:
    """Record a page the device is about to upload, and hand out where to upload it. Idempotent per id."""
    meta = parse_registration(body)
    existing = await Attachment.get_or_none(id=meta["id"])
    if existing is not None:
        if (existing.dossier_id, existing.sha256, existing.size) != (meta["dossier_id"], meta["sha256"], meta["size"]):
            raise _bad("attachment_exists", "Mã tệp này đã được dùng cho một tệp khác.",
                       "This file id is already used for another file.", status=409)
        await access_attachment(user, existing)
        return existing, await upload_target(existing, storage)
    dossier = await _dossier_for_adding(user, meta["dossier_id"], meta["document"])
    async with in_transaction():
        # Lock the dossier so two registrations cannot both pass the per-dossier total.
        await Dossier.select_for_update().get(id=dossier.id)
        # values_list(flat=True): tortoise's stub says tuples
        used = sum(cast("list[int]", await Attachment.filter(dossier_id=dossier.id).exclude(status="rejected")
                        .values_list("size", flat=True)))
        if used + meta["size"] > MAX_DOSSIER_BYTES:
            raise _bad("dossier_too_large",
                       f"Tổng dung lượng giấy tờ của hồ sơ vượt {MAX_DOSSIER_BYTES // (1024 * 1024)} MB. "
                       "Hãy xóa bớt trang trùng hoặc chụp lại với chất lượng thấp hơn.",
                       f"The dossier's documents exceed {MAX_DOSSIER_BYTES // (1024 * 1024)} MB in total.", status=413)
        attachment = await Attachment.create(id=meta["id"], dossier_id=dossier.id, uploader=user,
                                             document=meta["document"], page=meta["page"], sha256=meta["sha256"],
                                             size=meta["size"], content_type=meta["content_type"])
        await attachment_written(attachment, dossier)
    return attachment, await upload_target(attachment, storage)


async def access_attachment(user: User | None, attachment: Attachment) -> Dossier:
    return await visible_dossier(user, attachment.dossier_id)


async def upload_target(attachment: Attachment, storage: Storage) -> dict[str, Any]:
    """Where the bytes go: one presigned PUT for a small file, presigned parts for a large one (resumable)."""
    if attachment.status != "pending":
        return {"kind": "none"}
    staging = staging_key(attachment.id.replace("-", ""))
    try:
        if attachment.size <= PART_SIZE:
            target = await storage.presign_put(staging, attachment.size, attachment.content_type, UPLOAD_LINK_SECONDS)
            return {"kind": "put", **target}
        if not attachment.upload_id:
            attachment.upload_id = await storage.create_multipart(staging)
            await attachment.save(update_fields=["upload_id"])
        try:
            done = {part.part_number: part for part in await storage.list_parts(staging, attachment.upload_id)}
        except StorageUnsupported:
            done = {}  # some servers cannot list parts: the device resends what it has no ETag for
        count = -(-attachment.size // PART_SIZE)
        parts = []
        for number in range(1, count + 1):
            size = PART_SIZE if number < count else attachment.size - PART_SIZE * (count - 1)
            if number in done and done[number].size == size:
                parts.append({"part_number": number, "size": size, "etag": done[number].etag})
            else:
                url = await storage.presign_part(staging, attachment.upload_id, number, UPLOAD_LINK_SECONDS, size=size)
                parts.append({"part_number": number, "size": size, "url": url})
        return {"kind": "multipart", "upload_id": attachment.upload_id, "part_size": PART_SIZE, "parts": parts}
    except StorageUnavailable:
        raise unavailable() from None


async def finalize(user: User, attachment: Attachment, body: dict[str, Any], storage: Storage) -> Attachment:
    """Check the uploaded bytes; only a verified page counts. A rejected one says why, and the dossier keeps the rest."""
    dossier = await access_attachment(user, attachment)
    if attachment.status != "pending":
        return attachment
    staging = staging_key(attachment.id.replace("-", ""))
    try:
        if attachment.upload_id:
            parts = body.get("parts")
            if not isinstance(parts, list) or not all(isinstance(p, list) and len(p) == 2 and isinstance(p[0], int)
                                                      and isinstance(p[1], str) for p in parts):
                raise _bad("invalid_parts", "Danh sách phần tải lên không hợp lệ: cần [[số phần, ETag], …].",
                           "parts must be [[part_number, etag], …].")
            try:
                await storage.complete_multipart(staging, attachment.upload_id, [(n, etag) for n, etag in parts])
            except (UploadRejected, ObjectNotFound):
                raise _bad("upload_incomplete", "Tệp chưa tải lên đủ các phần. Thiết bị sẽ tải tiếp phần còn thiếu.",
                           "Some parts have not arrived yet; upload the missing ones.", status=409) from None
        try:
            result = await verify_object(storage, staging, attachment.sha256, attachment.size)
        except ObjectNotFound:
            raise _bad("upload_incomplete", "Tệp chưa được tải lên xong. Thiết bị sẽ tự tải lại.",
                       "The file has not been uploaded yet.", status=409) from None
        if result.ok:
            await storage.promote(staging, key_for(attachment.sha256), content_type=result.content_type)
        else:
            await storage.delete(staging)
    except StorageUnavailable:
        raise unavailable() from None
    async with in_transaction():
        row = await Attachment.select_for_update().get(id=attachment.id)
        if row.status == "pending":
            if result.ok:
                row.status, row.content_type = "verified", result.content_type or row.content_type
                row.thumbnail_key, row.verified_at = result.thumbnail_key, datetime.now(timezone.utc)
            else:
                assert result.reason is not None  # every refusal names its reason (checks._refuse)
                row.status, row.reject_code = "rejected", result.reason.code
                row.reject_reason = result.reason.vi
            row.upload_id = None
            row.version += 1
            await row.save()
            await attachment_written(row, dossier)
    return row


async def move_attachment(user: User, attachment: Attachment, body: dict[str, Any]) -> Attachment:
    """Renumber a page (the owner reordering a document's pages), while the owner may still add pages."""
    unknown = sorted(set(body) - {"page"})
    if unknown:
        raise _bad("invalid_field", f"Chỉ đổi được số trang (page), không đổi được {unknown[0]}.",
                   f"Only page can be changed, not {unknown[0]}.")
    page = body.get("page")
    if isinstance(page, bool) or not isinstance(page, int) or not 1 <= page <= MAX_PAGES:
        raise _bad("invalid_page", f"Số trang phải từ 1 đến {MAX_PAGES}.", f"page must be 1 to {MAX_PAGES}.")
    dossier = await access_attachment(user, attachment)  # 404 for a file the caller cannot see
    if not access.allowed(user, "dossier.own", dossier):
        raise _bad("not_owner", "Chỉ người nộp hồ sơ được sắp xếp lại các trang giấy tờ.",
                   "Only the dossier's owner can reorder its pages.", status=403)
    if dossier.status not in OWNER_STATUSES:
        raise _bad("not_editable", "Hồ sơ ở trạng thái này không sắp xếp lại được giấy tờ.",
                   "The pages of this dossier cannot be reordered in its current state.", status=409)
    async with in_transaction():
        row = await Attachment.select_for_update().get(id=attachment.id)
        if row.page != page:
            row.page = page
            row.version += 1
            await row.save(update_fields=["page", "version"])
            await attachment_written(row, dossier)
    return row


def _dossier_for_result(user: User, dossier: Dossier) -> Dossier:
    if not access.allowed(user, "dossier.attach_result", dossier):  # an officer of the unit handling it
        raise _bad("not_result_maker", "Chỉ cán bộ của đơn vị đang xử lý hồ sơ được đính kèm kết quả giải quyết.",
                   "Only an officer of the office handling the dossier can attach its result.", status=403)
    if dossier.status not in RESULT_STATUSES:
        raise _bad("not_editable", "Chỉ đính kèm kết quả khi hồ sơ đang xử lý hoặc đã xử lý xong.",
                   "The result can be attached only while the dossier is processed or once it is.", status=409)
    if user.role == SPECIALIST and dossier.assigned_to_id not in (None, user.id):
        raise _bad("not_assigned", "Hồ sơ đã được giao cho cán bộ khác xử lý.",
                   "The dossier is assigned to another officer.", status=409)
    return dossier


# -- reusing a verified document (Circular 01/2023/TT-VPCP: a citizen is not asked again) -------------------

MAX_REUSABLE = 200


async def reusable_attachments(user: User) -> list[Attachment]:
    """The citizen's verified pages from their own dossiers, one per content (SHA-256), the newest first."""
    rows = await (Attachment.filter(dossier__owner_id=user.id, status="verified")
                  .order_by("-verified_at", "-created_at").limit(MAX_REUSABLE * 5))
    seen: set[str] = set()
    unique = []
    for row in rows:
        if row.sha256 not in seen:
            seen.add(row.sha256)
            unique.append(row)
    return unique[:MAX_REUSABLE]


def _unknown_attachment() -> ApiError:
    return _bad("unknown_document", "Không tìm thấy giấy tờ này trong các giấy tờ đã xác minh của Ông/Bà.",
                "No such verified document among yours.", status=404)


async def reuse(user: User, dossier_id: object, body: dict[str, Any]) -> tuple[Attachment, bool]:
    """Attach one of the owner's verified pages to another of their dossiers: a new verified page pointing at
    the same stored object (objects are addressed by SHA-256, so nothing is uploaded or stored again).
    Returns the page and whether it was created now (a repeated request with the same id creates nothing)."""
    source_id = body.get("attachment_id")
    if not isinstance(source_id, str) or not 0 < len(source_id) <= 36:
        raise _bad("invalid_id", "Hãy chọn giấy tờ muốn dùng lại.", "Choose the document to reuse.")
    try:
        new_id = str(uuid.UUID(str(body["id"]))) if body.get("id") is not None else str(uuid.uuid4())
    except ValueError:
        raise _bad("invalid_id", "Mã tệp trên thiết bị không hợp lệ.", "The file id must be a UUID.") from None
    page = body.get("page", 1)
    if isinstance(page, bool) or not isinstance(page, int) or not 1 <= page <= MAX_PAGES:
        raise _bad("invalid_page", f"Số trang phải từ 1 đến {MAX_PAGES}.", f"page must be 1 to {MAX_PAGES}.")
    document = body.get("document")
    if document is not None and (not isinstance(document, str) or not document.strip() or len(document) > 300):
        raise _bad("invalid_document", "Hãy chọn giấy tờ (thành phần hồ sơ) mà trang này thuộc về.",
                   "Name the required document this page belongs to (at most 300 characters).")
    dossier = await _dossier_for_adding(user, dossier_id, document)
    if not access.allowed(user, "dossier.own", dossier):
        raise _bad("not_owner", "Chỉ người nộp hồ sơ được dùng lại giấy tờ của mình cho hồ sơ.",
                   "Only the dossier's owner can reuse their documents in it.", status=403)
    source = await Attachment.get_or_none(id=source_id).select_related("dossier")
    if source is None or source.dossier.owner_id != user.id or source.status != "verified":
        raise _unknown_attachment()  # the same answer for "missing" and "someone else's"
    if document is None and is_result_document(source.document):
        raise _bad("invalid_document", "Hãy chọn giấy tờ (thành phần hồ sơ) của hồ sơ mới mà kết quả cũ này thay cho.",
                   "Name the required document of the new dossier that this earlier result stands for.")
    existing = await Attachment.get_or_none(id=new_id)
    if existing is not None:
        if (existing.dossier_id, existing.reused_from) != (dossier.id, source.id):
            raise _bad("attachment_exists", "Mã tệp này đã được dùng cho một tệp khác.",
                       "This file id is already used for another file.", status=409)
        return existing, False
    async with in_transaction():
        await Dossier.select_for_update().get(id=dossier.id)
        # values_list(flat=True): tortoise's stub says tuples
        used = sum(cast("list[int]", await Attachment.filter(dossier_id=dossier.id).exclude(status="rejected")
                        .values_list("size", flat=True)))
        if used + source.size > MAX_DOSSIER_BYTES:
            raise _bad("dossier_too_large",
                       f"Tổng dung lượng giấy tờ của hồ sơ vượt {MAX_DOSSIER_BYTES // (1024 * 1024)} MB.",
                       f"The dossier's documents exceed {MAX_DOSSIER_BYTES // (1024 * 1024)} MB in total.", status=413)
        attachment = await Attachment.create(
            id=new_id, dossier_id=dossier.id, uploader=user, document=(document or source.document).strip(),
            page=page, sha256=source.sha256, size=source.size, content_type=source.content_type, status="verified",
            thumbnail_key=source.thumbnail_key, verified_at=datetime.now(timezone.utc), reused_from=source.id)
        await attachment_written(attachment, dossier)
    return attachment, True


async def pending_count(dossier_id: str) -> int:
    return await Attachment.filter(dossier_id=dossier_id, status="pending").count()


async def attachment_json(attachment: Attachment, storage: Storage, *, with_links: bool) -> dict[str, Any]:
    body = {"id": attachment.id, **attachment_data(attachment), "version": attachment.version}
    if with_links and attachment.status == "verified":
        try:
            body["download_url"] = await storage.presign_get(key_for(attachment.sha256), DOWNLOAD_LINK_SECONDS,
                                                             filename=f"{attachment.id}", content_type=attachment.content_type)
            if attachment.thumbnail_key:
                body["thumbnail_url"] = await storage.presign_get(thumbnail_key_for(attachment.sha256),
                                                                  DOWNLOAD_LINK_SECONDS, content_type="image/jpeg")
        except StorageUnavailable:
            raise unavailable() from None
    return body


async def dossier_attachments(user: User | None, dossier_id: str) -> list[Attachment]:
    access.require(user, "dossier.read")
    await visible_dossier(user, dossier_id)
    return await Attachment.filter(dossier_id=dossier_id).order_by("document", "page", "created_at")
