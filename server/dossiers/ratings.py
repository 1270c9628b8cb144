"""Satisfaction ratings (đánh giá mức độ hài lòng): the citizen rates the service once the result is returned.

One rating per dossier; "không hài lòng" needs a reason (docs/domain.md, step 7). The callers check who asks: the
owner through /api/dossiers/{id}/rating (server/dossiers/rating_routes.py), or the public tracking page.
"""

from __future__ import annotations

from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from server.web.errors import ApiError
from server.dossiers.status import DossierStatus
from server.models import Dossier, Rating

RETURNED = DossierStatus.RETURNED
LABELS = {
    "very_satisfied": ("Rất hài lòng", "Very satisfied"),
    "satisfied": ("Hài lòng", "Satisfied"),
    "unsatisfied": ("Không hài lòng", "Unsatisfied"),
}
MAX_REASON = 2000


def _already() -> ApiError:
    return ApiError(409, "already_rated", "Hồ sơ này đã được đánh giá; mỗi hồ sơ chỉ đánh giá một lần.",
                    "This dossier has already been rated; each dossier is rated once.")


async def rate_dossier(dossier: Dossier, value: object, reason: object) -> Rating:
    """Record the rating, or raise an ApiError saying what to change. Nothing is written on refusal."""
    if not isinstance(value, str) or value not in LABELS:
        raise ApiError(400, "invalid_rating", "Hãy chọn một mức: rất hài lòng, hài lòng hoặc không hài lòng.",
                       "Choose very_satisfied, satisfied or unsatisfied.")
    if reason is None:
        reason = ""
    if not isinstance(reason, str) or len(reason) > MAX_REASON:
        raise ApiError(400, "invalid_reason", f"Lý do phải là văn bản, tối đa {MAX_REASON} ký tự.",
                       f"The reason must be text of at most {MAX_REASON} characters.")
    reason = reason.strip()
    if value == "unsatisfied" and not reason:
        raise ApiError(400, "reason_required", "Vui lòng cho biết lý do Ông/Bà không hài lòng để cơ quan khắc phục.",
                       "Tell us why you are unsatisfied, so that the office can put it right.")
    if dossier.status != RETURNED:
        raise ApiError(409, "not_returned", "Chỉ đánh giá được sau khi Ông/Bà đã nhận kết quả giải quyết hồ sơ.",
                       "A dossier can be rated only once its result has been returned.")
    try:
        async with in_transaction():
            if await Rating.filter(dossier_id=dossier.id).exists():
                raise _already()
            return await Rating.create(dossier_id=dossier.id, value=value, reason=reason)
    except IntegrityError:  # two ratings sent at the same moment: the one-to-one key keeps the first
        raise _already() from None


async def rating_of(dossier: Dossier) -> Rating | None:
    return await Rating.get_or_none(dossier_id=dossier.id)


def rating_json(rating: Rating) -> dict[str, Any]:
    vi, en = LABELS.get(rating.value, (rating.value, rating.value))
    return {"value": rating.value, "label": vi, "label_en": en, "reason": rating.reason,
            "created_at": rating.created_at.isoformat()}
