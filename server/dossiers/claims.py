"""A citizen takes a walk-in dossier as their own (docs/workflow.md "Desk and field intake", docs/access.md).

Two ways, both ending in the `claim` step of the one write path (server/workflow/changes.py `claim`,
server/workflow/ownership.py decides):

- **by personal identification number**: when the identity provider asserts the number on the dossier
  (`link_by_personal_id`, run at every OpenID Connect sign-in: dossiers taken since the last one arrive too);
- **by code**: the citizen types the dossier code (`start`); a 6-digit one-time code goes by SMS to the phone
  *on the dossier*, never to a number the claimant types, so only someone holding that phone can finish
  (`confirm`). Only an HMAC of the code is kept; it lives 10 minutes and allows 5 tries; a new code for the
  same account and dossier ends the previous one. Requests are also counted per account, per dossier and per
  address by the routes (server/dossiers/claim_routes.py, server/web/rate_limits.py).

The code goes by the SMS channel (server/notify/channels.py `send_sms`, over SMPP, sent by the worker). Where the
province has no SMS gateway, claiming by code is refused before anything is written (`require_sms`): the citizen is
told to bring the receipt to the desk instead.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

from tortoise.expressions import F
from tortoise.transactions import in_transaction

from server import config
from server.accounts import access
from server.dossiers.status import DossierStatus
from server.models import Dossier, DossierClaim, User
from server.notify import channels
from server.web.errors import ApiError
from server.workflow import changes

CODE_LIFETIME = timedelta(minutes=10)
MAX_ATTEMPTS = 5
DOSSIER_CODE = re.compile(r"[A-Za-z0-9.\-]{1,64}")
ONE_TIME_CODE = re.compile(r"[0-9]{6}")


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _hash(claim_id: str, code: str) -> str:
    """HMAC with the server's secret, bound to the claim: a copy of the table does not reveal codes."""
    key = (config.current().secret_key or "motcua").encode()
    return hmac.new(key, f"{claim_id}:{code}".encode(), hashlib.sha256).hexdigest()


def _no_sms() -> ApiError:
    # 409, not 503: nothing is down and retrying will not help; the province has no SMS channel, or the dossier's
    # phone is not a mobile number. The citizen is told what to do instead.
    return ApiError(409, "sms_unavailable", "Chưa gửi được mã xác nhận vì hệ thống chưa có kênh tin nhắn SMS. Ông/Bà "
                    "hãy mang giấy hẹn đến bộ phận một cửa để được gắn hồ sơ vào tài khoản.",
                    "The code cannot be sent: this system has no SMS channel yet. Bring your receipt to the one-stop "
                    "desk to have the dossier added to your account.")


def require_sms() -> None:
    """Claiming by code needs the SMS channel: without it the request is refused before anything is counted or
    written (a code nobody can receive would only use up the citizen's tries)."""
    if not channels.sms_available():
        raise _no_sms()


async def deliver_code(phone: str, text: str, key: str, province: str = "") -> None:
    """Queue the text on the SMS channel (sent by the worker over SMPP), in the caller's transaction; `key` makes a
    repeated call queue it once; `province` is whose daily cap and cost it counts in. SMS off or a number that is
    not a mobile: a clear 409, and the caller's transaction is rolled back."""
    try:
        await channels.send_sms(phone, text, key=key, province=province)
    except channels.SmsUnavailable:
        raise _no_sms() from None


def phone_hint(phone: str) -> str:
    """What the app shows of the phone the code went to: its last 3 digits."""
    return "…" + phone[-3:]


def _dossier_code(value: object) -> str:
    if not isinstance(value, str) or not DOSSIER_CODE.fullmatch(value.strip()):
        raise ApiError(400, "invalid_code", "Mã hồ sơ gồm chữ, số, dấu chấm và dấu gạch ngang, như trên giấy tiếp "
                       "nhận (ví dụ 000.00.01.H57-250705-0001). Xin Ông/Bà kiểm tra lại.",
                       "A dossier code has letters, digits, dots and dashes, as on the receipt.")
    return value.strip()


def _not_found() -> ApiError:
    return ApiError(404, "unknown_dossier_code", "Không tìm thấy hồ sơ có mã này. Xin Ông/Bà kiểm tra lại mã in trên "
                    "giấy tiếp nhận hồ sơ.", "No dossier has this code. Check the code on the receipt.")


def _owned(user: User, dossier: Dossier) -> ApiError:
    if dossier.owner_id == user.id:
        return ApiError(409, "already_yours", "Hồ sơ này đã có trong mục “Hồ sơ của tôi” của Ông/Bà.",
                        "This dossier is already in your dossiers.")
    return ApiError(409, "already_owned", "Hồ sơ này đã thuộc một tài khoản khác. Nếu đó là hồ sơ của Ông/Bà, xin "
                    "liên hệ bộ phận một cửa nơi nộp hồ sơ.",
                    "This dossier already belongs to another account. If it is yours, contact the one-stop desk.")


async def claimable(user: User, code: object) -> Dossier:
    """The dossier with this code, if `user` may claim it; otherwise a clear 4xx."""
    dossier = await Dossier.get_or_none(code=_dossier_code(code))
    if dossier is None:
        raise _not_found()
    if dossier.owner_id is not None:
        raise _owned(user, dossier)
    if not access.allowed(user, "dossier.claim", dossier):
        raise _not_found()
    if not dossier.applicant_phone:
        raise ApiError(409, "no_phone_on_dossier", "Hồ sơ này không ghi số điện thoại nên không gửi được mã xác nhận. "
                       "Xin Ông/Bà mang giấy tờ tùy thân đến bộ phận một cửa nơi nộp hồ sơ.",
                       "The dossier has no phone number to send a code to. Bring your identity card to the desk.")
    return dossier


async def start(user: User, dossier: Dossier) -> dict[str, Any]:
    """A new one-time code for `user` and `dossier`, sent to the phone on the dossier."""
    assert dossier.applicant_phone is not None  # claimable() refused a dossier without one
    require_sms()
    now = _now()
    claim_id = str(uuid.uuid4())
    code = f"{secrets.randbelow(10**6):06d}"
    # Plain ASCII: one GSM-7 segment on any phone.
    text = (f"Ma xac nhan nhan ho so {dossier.code} tren ung dung Mot cua: {code}. Ma dung trong 10 phut. "
            "Khong dua ma nay cho nguoi khac.")
    province = await channels.province_of(str(dossier.id))
    # One transaction: the claim exists exactly when its text is queued, and an earlier code ends only then.
    async with in_transaction():
        # One live code per account and dossier: asking again ends the earlier one.
        await DossierClaim.filter(user_id=user.id, dossier_id=dossier.id, confirmed_at__isnull=True,
                                  expires_at__gt=now).update(expires_at=now)
        await DossierClaim.create(id=claim_id, dossier_id=dossier.id, user_id=user.id,
                                  code_hash=_hash(claim_id, code), expires_at=now + CODE_LIFETIME)
        await deliver_code(dossier.applicant_phone, text, key=f"claim:{claim_id}", province=province)
    return {"claim_id": claim_id, "phone_hint": phone_hint(dossier.applicant_phone),
            "expires_in": int(CODE_LIFETIME.total_seconds()), "attempts_left": MAX_ATTEMPTS}


def _ended() -> ApiError:
    return ApiError(410, "code_expired", "Mã xác nhận đã hết hạn hoặc đã nhập sai quá số lần cho phép. Xin Ông/Bà "
                    "bấm “Gửi lại mã” để nhận mã mới.",
                    "The code has expired or was entered wrongly too many times. Ask for a new code.")


async def confirm(user: User, claim_id: object, code: object) -> Dossier:
    """Check the one-time code of `user`'s claim; when right, the dossier becomes theirs (the `claim` step)."""
    if not isinstance(claim_id, str) or len(claim_id) > 36:
        raise ApiError(400, "invalid_claim", "Yêu cầu nhận hồ sơ không hợp lệ. Xin Ông/Bà nhập lại mã hồ sơ.",
                       "Invalid claim. Enter the dossier code again.")
    if not isinstance(code, str) or not ONE_TIME_CODE.fullmatch(code.strip()):
        raise ApiError(400, "invalid_otp", "Mã xác nhận gồm 6 chữ số trong tin nhắn. Xin Ông/Bà nhập lại.",
                       "The one-time code has 6 digits.")
    claim = await DossierClaim.get_or_none(id=claim_id, user_id=user.id)  # another account's claim: not found
    if claim is None:
        raise ApiError(404, "unknown_claim", "Không tìm thấy yêu cầu nhận hồ sơ này. Xin Ông/Bà nhập lại mã hồ sơ.",
                       "No such claim. Enter the dossier code again.")
    now = _now()
    if claim.confirmed_at is not None:
        raise ApiError(409, "already_confirmed", "Mã này đã được dùng.", "This code was already used.")
    dossier = await Dossier.get(id=claim.dossier_id)
    if dossier.owner_id is not None:
        raise _owned(user, dossier)
    # Counting the try first, in one statement, so parallel guesses cannot share one try.
    counted = await DossierClaim.filter(id=claim.id, attempts__lt=MAX_ATTEMPTS, expires_at__gt=now,
                                        confirmed_at__isnull=True).update(attempts=F("attempts") + 1)
    if not counted:
        raise _ended()
    if not hmac.compare_digest(claim.code_hash, _hash(claim.id, code.strip())):
        left = MAX_ATTEMPTS - claim.attempts - 1
        if left <= 0:
            raise _ended()
        raise ApiError(400, "wrong_code", f"Mã xác nhận không đúng. Ông/Bà còn {left} lần nhập.",
                       f"Wrong code. {left} tries left.", details=[{"path": "code", "attempts_left": left}])
    if not await DossierClaim.filter(id=claim.id, confirmed_at__isnull=True).update(confirmed_at=now):
        raise ApiError(409, "already_confirmed", "Mã này đã được dùng.", "This code was already used.")
    try:
        await changes.claim(user, dossier, {"proof": "code", "claim_id": claim.id})
    except changes.Refused as refused:
        if refused.code == "not_found":  # claimed by another account a moment ago: it can no longer reach it
            raise _owned(user, await Dossier.get(id=dossier.id)) from None
        raise ApiError(409, refused.code, refused.reason.get("vi", ""), refused.reason.get("en", "")) from None
    return await Dossier.get(id=dossier.id)


async def link_by_personal_id(user: User) -> list[str]:
    """Every filed dossier nobody owns that carries the personal identification number the identity provider
    asserted for `user` becomes theirs. Returns their ids. Run at each sign-in through the provider."""
    if not user.cccd or user.role != "citizen":
        return []
    ids = await Dossier.filter(applicant_personal_id=user.cccd, owner_id=None) \
        .exclude(status=int(DossierStatus.DRAFT)).values_list("id", flat=True)
    linked = []
    for dossier_id in ids:
        dossier = await Dossier.get(id=dossier_id)
        try:
            await changes.claim(user, dossier, {"proof": "personal_id"})
        except changes.Refused:
            continue  # taken meanwhile by someone else's claim: theirs stays
        linked.append(str(dossier_id))
    return linked
