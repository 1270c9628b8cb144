"""Public tracking (tra cứu hồ sơ): a citizen follows a dossier without signing in.

Two ways in: the dossier code plus the last four digits of the phone number or CCCD on it, or the signed link
printed as a QR code on every document. Both show the same public view: status, timeline, appointment date and
timeliness, never an officer's name or the applicant's personal data.

The link is signed with itsdangerous (salt "tracking") and carries no expiry: it is printed on paper that
the citizen keeps for as long as the dossier matters (results are collected months later, a receipt is
evidence in a complaint), and what it shows is only the public view. Rotating SECRET_KEY revokes every link.

`track_by_code` is the one look-up by code, so that a rate limiter can wrap it (server/documents/tracking_routes.py).
A wrong code and wrong digits raise the same error after the same work: one query whose shape does not depend
on the code existing, and constant-time comparisons against the same number of candidates.
"""

from __future__ import annotations

import hmac
import json
import re
import uuid
from datetime import datetime, timezone
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer

from server.documents.context import ACTION_NAMES, local, vi_date, vi_time
from server.dossiers.status import CITIZEN_NAMES as STATUS_NAMES  # the tracking page is the citizen's
from server.dossiers.status import ENDED, DossierStatus
from server.web.errors import ApiError
from server.models import Dossier, DossierEvent, ProcedureVersion

SALT = "tracking"
DIGITS = re.compile(r"[0-9]{4}")
CODE_MAX = 64
CANDIDATES = 4  # owner's phone, owner's CCCD, the form's phone, the form's CCCD: always this many comparisons
NO_MATCH = "\x00\x00\x00\x00"  # never equal to four digits
# Reasons addressed to the citizen are shown; other notes (assignment, internal remarks) are not.
PUBLIC_NOTES = frozenset({"refuse", "request_supplement", "request_payment", "stop", "apologise", "forward"})

def not_found() -> ApiError:
    """The one answer for a wrong code and for wrong digits: it never says which was wrong."""
    return ApiError(404, "not_found_tracking",
                    "Không tìm thấy hồ sơ với mã và 4 chữ số này. Hãy kiểm tra lại mã hồ sơ trên giấy tiếp nhận "
                    "và 4 số cuối của số điện thoại hoặc số định danh cá nhân đã khai.",
                    "No dossier matches this code and these digits. Check the code on your receipt and the last "
                    "four digits of the phone or personal identification number you gave.")


def _serializer(secret_key: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret_key, salt=SALT)


def tracking_token(dossier_id: str, secret_key: str) -> str:
    """The signed, unexpiring token of a dossier's tracking link (the id as 32 hex digits keeps the QR small)."""
    return _serializer(secret_key).dumps(uuid.UUID(str(dossier_id)).hex)


def read_tracking_token(token: str, secret_key: str) -> str | None:
    """The dossier id a token was signed for, or None for anything tampered with or malformed."""
    if not isinstance(token, str) or len(token) > 200:
        return None
    try:
        value = _serializer(secret_key).loads(token)
        return str(uuid.UUID(hex=value)) if isinstance(value, str) else None
    except (BadSignature, ValueError, TypeError):
        return None


def tracking_url(base_url: str, dossier_id: str, secret_key: str) -> str:
    return f"{base_url.rstrip('/')}/t/{tracking_token(dossier_id, secret_key)}"


def clean_lookup(code: object, digits: object) -> tuple[str, str]:
    """Input a person can fix gets a 400 that says how; this reveals nothing about any dossier."""
    code_text = code.strip().upper() if isinstance(code, str) else ""
    digit_text = re.sub(r"\s", "", digits) if isinstance(digits, str) else ""
    if not code_text or len(code_text) > CODE_MAX:
        raise ApiError(400, "invalid_code", "Vui lòng nhập mã hồ sơ như in trên giấy tiếp nhận (tối đa 64 ký tự).",
                       "Enter the dossier code as printed on the receipt (at most 64 characters).")
    if not DIGITS.fullmatch(digit_text):
        raise ApiError(400, "invalid_digits", "Vui lòng nhập đúng 4 chữ số cuối của số điện thoại hoặc số định danh cá nhân.",
                       "Enter exactly the last four digits of the phone or personal identification number.")
    return code_text, digit_text


def _last4(value: object) -> str:
    digits = re.sub(r"[^0-9]", "", value) if isinstance(value, str) else ""
    return digits[-4:] if len(digits) >= 4 else NO_MATCH


# Procedure versions never change, so which form fields hold a phone or a CCCD is kept per version: the
# look-up then never parses a form definition, work that only an existing code would cost.
_IDENTITY_FIELDS: dict[int, dict[str, tuple[str, ...]]] = {}


async def _identity_fields(version_id: int) -> dict[str, tuple[str, ...]]:
    """{"phone": (field names…), "cccd": (…)}: the form's top-level fields of those types, in form order."""
    if version_id not in _IDENTITY_FIELDS:
        content = await ProcedureVersion.filter(id=version_id).values_list("content", flat=True)
        form = _json(content[0]).get("form", {}) if content else {}
        fields = [item for item in form.get("fields", []) if isinstance(item, dict)]
        _IDENTITY_FIELDS[version_id] = {kind: tuple(str(item.get("name")) for item in fields if item.get("type") == kind)
                                        for kind in ("phone", "cccd")}
    return _IDENTITY_FIELDS[version_id]


def _json(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        value = json.loads(value)
    return value if isinstance(value, dict) else {}


LOOKUP_FIELDS = ("id", "status", "data", "procedure_version_id", "owner__phone", "owner__cccd")


async def _candidates(row: dict[str, Any] | None) -> list[str]:
    """Always CANDIDATES values: the owner's phone and CCCD, then the form's first phone and first CCCD."""
    if row is None:
        return [NO_MATCH] * CANDIDATES
    data = _json(row["data"])
    names = await _identity_fields(row["procedure_version_id"])
    form_phone, form_cccd = (next((data[name] for name in names[kind] if isinstance(data.get(name), str)), "")
                             for kind in ("phone", "cccd"))
    return [_last4(row["owner__phone"]), _last4(row["owner__cccd"]), _last4(form_phone), _last4(form_cccd)]


async def track_by_code(code: object, digits: object) -> dict[str, Any]:
    """The public view of the dossier with this code, if the digits end its phone or CCCD number; else not_found()."""
    code_text, digit_text = clean_lookup(code, digits)
    rows = await Dossier.filter(code=code_text).values(*LOOKUP_FIELDS)  # one row or none, same query either way
    row = rows[0] if rows else None
    matched = False
    for candidate in await _candidates(row):  # every candidate compared, no early exit
        matched |= hmac.compare_digest(candidate.encode(), digit_text.encode())
    if row is None or not matched or row["status"] == DossierStatus.DRAFT:
        raise not_found()
    return await public_view(row["id"])


async def track_by_token(token: str, secret_key: str) -> dict[str, Any]:
    dossier_id = read_tracking_token(token, secret_key)
    exists = dossier_id is not None and await Dossier.filter(id=dossier_id, status__gt=DossierStatus.DRAFT).exists()
    if not exists:
        raise ApiError(404, "invalid_tracking_link", "Đường liên kết tra cứu không đúng hoặc đã bị sửa. Hãy quét lại "
                       "mã QR trên giấy tờ, hoặc tra cứu bằng mã hồ sơ.",
                       "This tracking link is not valid or was altered. Scan the QR code on the paper again, or "
                       "look the dossier up by its code.")
    return await public_view(dossier_id)  # type: ignore[arg-type]


def timeliness(dossier: Dossier, now: datetime | None = None) -> str | None:
    """Early / on time / late for a finished dossier; within time / overdue for an open one (calendar dates, UTC+7).

    Decided by the date processing ended (result ready, `finished_at`), not by when the citizen collected it, and
    against the original appointment (hạn gốc) when an apology extended it: Decree 61/2018, docs/domain.md
    "Timeliness". A finished dossier whose end of processing is not on record is unknown (None), never on time.
    """
    due = local(dossier.original_due_at or dossier.due_at)
    if due is None:
        return None
    if dossier.status in (DossierStatus.RESULT_READY, DossierStatus.RETURNED):
        if dossier.finished_at is None:
            return None
        finished = local(dossier.finished_at).date()  # type: ignore[union-attr]
        return "early" if finished < due.date() else "on_time" if finished == due.date() else "late"
    if dossier.status in ENDED:  # refused, stopped: no appointment to keep any more
        return None
    today = local(now or datetime.now(timezone.utc)).date()  # type: ignore[union-attr]
    return "overdue" if today > due.date() else "within_time"


TIMELINESS_NAMES = {
    "early": ("Giải quyết trước hạn", "Resolved early"), "on_time": ("Giải quyết đúng hạn", "Resolved on time"),
    "late": ("Giải quyết quá hạn", "Resolved late"), "within_time": ("Đang trong hạn", "Within time"),
    "overdue": ("Đã quá hạn hẹn trả", "Past the appointment date"),
}


async def public_view(dossier_id: str) -> dict[str, Any]:
    dossier = await Dossier.get(id=dossier_id).select_related("procedure_version__procedure", "unit", "handling_unit")
    events = await (DossierEvent.filter(dossier_id=dossier.id).order_by("at", "id")
                    .select_related("from_unit", "to_unit"))
    kind = timeliness(dossier)
    handling = dossier.handling_unit if dossier.handling_unit_id else dossier.unit if dossier.unit_id else None
    return {
        "code": dossier.code, "status": dossier.status,
        "status_name": STATUS_NAMES[dossier.status][0], "status_name_en": STATUS_NAMES[dossier.status][1],
        "procedure": {"code": dossier.procedure_version.procedure.code,
                      "name": dossier.procedure_version.content.get("name") or dossier.procedure_version.procedure.name},
        "unit": dossier.unit.name if dossier.unit_id and dossier.unit else None,
        "handling_unit": handling.name if handling else None,
        "received_at": dossier.received_at.isoformat() if dossier.received_at else None,
        "received_text": vi_time(dossier.received_at),
        "due_at": dossier.due_at.isoformat() if dossier.due_at else None,
        "due_date_text": vi_date(dossier.due_at),
        # An apology (form 04) extended the appointment: the original one (hạn gốc) is shown beside the new one.
        "original_due_at": dossier.original_due_at.isoformat() if dossier.original_due_at else None,
        "original_due_date_text": vi_date(dossier.original_due_at) if dossier.original_due_at else None,
        "finished_at": dossier.finished_at.isoformat() if dossier.finished_at else None,
        "returned_at": dossier.returned_at.isoformat() if dossier.returned_at else None,
        "timeliness": kind, "timeliness_name": TIMELINESS_NAMES[kind][0] if kind else None,
        "timeline": [{
            "at": event.at.isoformat(), "at_text": vi_time(event.at), "action": event.action,
            "action_name": ACTION_NAMES.get(event.action, event.action),
            "status": event.to_status,
            "status_name": STATUS_NAMES[event.to_status][0] if event.to_status in STATUS_NAMES else None,
            "from_unit": event.from_unit.name if event.from_unit_id and event.from_unit else None,
            "to_unit": event.to_unit.name if event.to_unit_id and event.to_unit else None,
            "note": event.note if event.action in PUBLIC_NOTES else "",
        } for event in events],
        "_dossier_id": dossier.id,  # for the page (rating form); dropped from the JSON answer
    }
