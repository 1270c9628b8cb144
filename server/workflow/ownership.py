"""Who owns a walk-in dossier: the `claim` step (docs/workflow.md "Desk and field intake", docs/access.md).

A dossier taken at the desk or in the field has no owner account. It becomes a citizen's by the `claim` command,
applied through the sync engine's apply step like every change (server/workflow/changes.py `claim`), so the new
owner's phone pulls it, the old readers hear of the change and the processing-control record shows it. The Policy
checks the proof here, from the database, never from what a device says:

- `{"proof": "personal_id"}`: the account's personal identification number, asserted by the identity provider
  (users.cccd, server/accounts/oidc.py), is the one on the dossier;
- `{"proof": "code", "claim_id": …}`: the citizen entered the one-time code sent by SMS to the phone on the
  dossier, and server/dossiers/claims.py marked that claim, of this account for this dossier, confirmed.

Either way only a citizen, and only a dossier nobody owns (access.py "dossier.claim").
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Mapping

from server.accounts import access
from server.models import CITIZEN, DossierClaim, User
from server.dossiers.store import FORM_PREFIX, applicant_numbers, procedure_version, procedure_version_id
from sync.model import Actor, Record
from sync.policy import Rejection

CLAIM = "claim"


def _no(code: str, vi: str, en: str) -> Rejection:
    return Rejection(code, {"vi": vi, "en": en})


async def personal_id_of(record: Record) -> str | None:
    """The 12-digit personal identification number on a dossier's form (as the Store copies it to its column)."""
    version_id = await procedure_version_id(record.data["procedure_code"], record.data["procedure_version"])
    if not version_id:
        return None
    form = (await procedure_version(version_id))[2].get("form") or {}
    values = {name[len(FORM_PREFIX):]: value for name, value in record.data.items() if name.startswith(FORM_PREFIX)}
    return applicant_numbers(form, values)[1]


async def account_with_personal_id(number: str | None) -> int | None:
    """The citizen account the identity provider linked to this number (users.cccd is unique), if any."""
    if not number:
        return None
    user = await User.filter(cccd=number, role=CITIZEN).only("id").first()
    return user.id if user else None


async def claim(actor: Actor, record: Record, args: Mapping[str, Any]) -> Rejection | dict[str, Any]:
    if record.data.get("owner_id") is not None:
        return _no("already_owned", "Hồ sơ này đã thuộc một tài khoản. Nếu đó không phải tài khoản của Ông/Bà, xin "
                   "liên hệ bộ phận một cửa nơi nộp hồ sơ.",
                   "This dossier already belongs to an account. If it is not yours, contact the one-stop desk.")
    if not access.allowed(actor, "dossier.claim", record):
        return _no("forbidden", "Chỉ tài khoản công dân mới nhận được hồ sơ nộp tại bộ phận một cửa.",
                   "Only a citizen account can claim a walk-in dossier.")
    proof = args.get("proof")
    if proof == "personal_id":
        number = await personal_id_of(record)
        if number is None or await account_with_personal_id(number) != int(actor.user_id):
            return _no("not_your_dossier", "Số định danh cá nhân trên hồ sơ không phải của tài khoản này.",
                       "The personal identification number on the dossier is not this account's.")
    elif proof == "code":
        claim_id = args.get("claim_id")
        confirmed = isinstance(claim_id, str) and len(claim_id) <= 36 and await DossierClaim.filter(
            id=claim_id, user_id=int(actor.user_id), dossier_id=record.id, confirmed_at__isnull=False,
            expires_at__gt=datetime.now(timezone.utc)).exists()
        if not confirmed:
            return _no("code_not_confirmed", "Chưa nhập đúng mã xác nhận gửi đến số điện thoại trên hồ sơ.",
                       "The one-time code sent to the phone on the dossier has not been entered.")
    else:
        return _no("proof_required", "Thiếu căn cứ để nhận hồ sơ.", "No proof given for the claim.")
    return {"owner_id": int(actor.user_id)}
