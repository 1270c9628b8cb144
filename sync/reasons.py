"""Reasons shown to people, Vietnamese first, English second.

A device shows ``reason.vi`` to the user; ``code`` is for programs. The
texts are kept here so that the wording is reviewed in one place.
"""

from __future__ import annotations

from typing import TypedDict


class Reason(TypedDict):
    vi: str
    en: str


_REASONS: dict[str, tuple[str, str]] = {
    # per-mutation results
    "malformed": ("Thay đổi không hợp lệ: {detail}.", "Malformed mutation: {detail}."),
    "held": (
        "Đang chờ các thay đổi trước đó (số {expected}) tới máy chủ; thay đổi này sẽ được áp dụng sau.",
        "Waiting for earlier changes (number {expected}) to reach the server; this change will be applied after them.",
    ),
    "declared_lost": (
        "Thiết bị đã báo thay đổi số {seq} bị mất, nên không áp dụng nữa.",
        "The device declared change number {seq} lost, so it is no longer applied.",
    ),
    "lost": (
        "Thiết bị đã hủy thay đổi này trước khi máy chủ áp dụng.",
        "The device discarded this change before the server applied it.",
    ),
    "seq_taken": (
        "Số thứ tự {seq} của thiết bị đã được dùng cho một thay đổi khác.",
        "The device's sequence number {seq} was already used by another change.",
    ),
    "seq_too_far": (
        "Số thứ tự {seq} vượt quá xa thay đổi cuối cùng đã áp dụng ({applied}).",
        "Sequence number {seq} is too far ahead of the last applied change ({applied}).",
    ),
    "not_found": ("Không tìm thấy bản ghi hoặc bạn không có quyền xem.", "Record not found, or you may not see it."),
    "exists": ("Bản ghi với mã này đã tồn tại.", "A record with this id already exists."),
    "bad_base_version": (
        "Phiên bản gốc {base_version} lớn hơn phiên bản hiện có ({version}).",
        "Base version {base_version} is newer than the current version ({version}).",
    ),
    "already_resolved": (
        "Xung đột này đã được giải quyết bởi {resolved_by}.",
        "This conflict was already resolved by {resolved_by}.",
    ),
    "stale_resolution": (
        "Giá trị của trường đã thay đổi sau khi bạn xem xung đột; vui lòng xem lại.",
        "The field changed after you looked at the conflict; please review it again.",
    ),
    "forbidden": ("Bạn không có quyền thực hiện thao tác này.", "You are not allowed to do this."),
    # whole-request errors
    "bad_request": ("Yêu cầu đồng bộ không hợp lệ: {detail}.", "Invalid sync request: {detail}."),
    "bad_cursor": (
        "Con trỏ đồng bộ không hợp lệ; hãy đồng bộ lại từ đầu (cursor = null).",
        "Invalid sync cursor; sync again from the start (cursor = null).",
    ),
    "cursor_ahead": (
        "Con trỏ đồng bộ đi trước dữ liệu của máy chủ (máy chủ đã được khôi phục?); hãy đồng bộ lại từ đầu.",
        "The sync cursor is ahead of the server's data (was the server restored?); sync again from the start.",
    ),
    "too_many_mutations": (
        "Quá nhiều thay đổi trong một lần gửi ({count} > {limit}); hãy chia nhỏ và gửi lần lượt.",
        "Too many mutations in one request ({count} > {limit}); split them and send in turn.",
    ),
    "request_too_large": (
        "Yêu cầu quá lớn ({size} byte > {limit} byte); hãy chia nhỏ và gửi lần lượt.",
        "Request too large ({size} bytes > {limit} bytes); split it and send in turn.",
    ),
    "mutation_id_reused": (
        "Mã thay đổi đã được dùng cho một nội dung khác: {ids}. Không thay đổi nào trong lần gửi này được áp dụng.",
        "Mutation id already used for different content: {ids}. Nothing in this request was applied.",
    ),
    "device_owner_mismatch": (
        "Thiết bị này đang gắn với một tài khoản khác; hãy tạo mã thiết bị mới khi đổi tài khoản.",
        "This device id belongs to another account; create a new device id when the account changes.",
    ),
}


def reason(code: str, **details: object) -> Reason:
    """The message for ``code`` with ``details`` filled in."""
    vi, en = _REASONS[code]
    return {"vi": vi.format(**details), "en": en.format(**details)}


def known_codes() -> frozenset[str]:
    return frozenset(_REASONS)
