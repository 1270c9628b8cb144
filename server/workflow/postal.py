"""The public postal service (bưu chính công ích, Decision 45/2016/QĐ-TTg): the citizen chooses to send the
dossier, to receive the result, or both by post; the officer records the consignment number (số hiệu bưu gửi).

docs/workflow.md "Postal".
"""

from __future__ import annotations

import re
from typing import Any, Mapping

from sync.model import Record
from sync.policy import Rejection

CHOICES = ("postal_submit", "postal_return")
# Vietnam Post numbers are S10 codes such as EL123456789VN; other carriers' are letters, digits and dashes.
CONSIGNMENT = re.compile(r"^[A-Z0-9][A-Z0-9-]{3,63}$")


def _no(code: str, vi: str, en: str) -> Rejection:
    return Rejection(code, {"vi": vi, "en": en})


def choices(values: Mapping[str, Any]) -> Rejection | dict[str, Any]:
    """The citizen's postal choices among create values or submit args: true or false, nothing else."""
    chosen: dict[str, Any] = {}
    for name in CHOICES:
        if name in values and values[name] is not None:
            if not isinstance(values[name], bool):
                return _no("invalid_postal", "Lựa chọn gửi/nhận qua bưu chính phải là có hoặc không.",
                           f"{name} must be true or false.")
            chosen[name] = values[name]
    return chosen


def consignment(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    value = value.strip().replace(" ", "").upper()
    return value if CONSIGNMENT.match(value) else None


def _consignment_recorded(args: Mapping[str, Any]) -> Rejection | dict[str, Any]:
    """The consignment number given with the step, as the change it makes, or why it is refused."""
    number = consignment(args.get("consignment"))
    if number is None:
        return _no("invalid_consignment", "Số hiệu bưu gửi không hợp lệ (ví dụ EL123456789VN: 4–64 chữ và số).",
                   "Invalid consignment number (for example EL123456789VN: 4 to 64 letters and digits).")
    return {"postal_consignment": number}


def record_postal(record: Record, args: Mapping[str, Any]) -> Rejection | dict[str, Any]:
    """`record_postal` {consignment}: the consignment of a dossier or a result travelling by post."""
    if not (record.data.get("postal_submit") or record.data.get("postal_return")):
        return _no("not_postal", "Công dân không chọn gửi hồ sơ hay nhận kết quả qua bưu chính công ích.",
                   "The citizen chose neither to send the dossier nor to receive the result by post.")
    return _consignment_recorded(args)


def returning(record: Record, args: Mapping[str, Any]) -> Rejection | dict[str, Any]:
    """`return` at the desk, or {by_post: true, consignment} when the citizen asked for the result by post."""
    by_post = args.get("by_post", False)
    if not isinstance(by_post, bool):
        return _no("invalid_postal", "by_post phải là true hoặc false.", "by_post must be true or false.")
    if not by_post:
        return {}
    if not record.data.get("postal_return"):
        return _no("not_postal", "Công dân không chọn nhận kết quả qua bưu chính công ích; hãy trả tại bộ phận một cửa.",
                   "The citizen did not ask for the result by post: return it at the desk.")
    return _consignment_recorded(args)
