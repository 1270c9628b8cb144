"""An officer settles a statement line that reconciliation listed (docs/payments.md "Resolving a line").

Two ways, each once per line:

- `pay`: having checked the line (the citizen paid the rest at the desk, the note carried a wrong code…), the officer
  records it as the payment of a dossier of the unit: the one the line was matched to, or, for a line matched to
  none, the dossier they name. The payment goes through the one write path, `payment_done {channel: transfer,
  statement_line, confirmed_amount}` on the officer's behalf, which the Policy accepts for a line resolved to this
  dossier (server/payments/obligation.py); a line of another amount than the fee needs `confirmed_amount`.
- `dismiss`: the line is not a fee (refunded, paid into the wrong account…): resolved with the reason, no dossier
  changes.

The line is claimed by a conditional update (only while unresolved) in the same transaction as the payment: two
officers resolving at once, or the same request twice, resolve it once; a refused payment leaves it unresolved.
"""

from __future__ import annotations

from datetime import datetime, timezone

from tortoise.transactions import in_transaction

from server.accounts.access import unit_dossiers
from server.models import AdministrativeUnit, Dossier, StatementLine, User
from server.workflow import changes

ACTIONS = ("pay", "dismiss")
MAX_REASON = 500


class Unresolvable(Exception):
    """Why a line cannot be resolved as asked: an HTTP status, a code and the words for the officer."""

    def __init__(self, status: int, code: str, vi: str, en: str) -> None:
        super().__init__(code)
        self.status, self.code, self.vi, self.en = status, code, vi, en


def _vnd(amount: int | None) -> str:
    return "không xác định" if amount is None else f"{amount:,}".replace(",", ".") + " đ"


async def _target(unit: AdministrativeUnit, line: StatementLine, dossier_code: str | None) -> Dossier:
    if dossier_code:
        dossier = await Dossier.filter(unit_dossiers(unit.id), code=dossier_code).first()
        if dossier is None:
            raise Unresolvable(404, "dossier_not_found", "Không có hồ sơ nào của đơn vị mang mã này.",
                               "No dossier of this unit has this code.")
        if line.dossier_id is not None and line.dossier_id != dossier.id:
            raise Unresolvable(409, "matched_to_another", "Khoản này đã khớp với một hồ sơ khác; chỉ ghi nhận được "
                               "cho hồ sơ đó.", "This line is matched to another dossier; it can pay only that one.")
        return dossier
    if line.dossier_id is None:
        raise Unresolvable(400, "dossier_required", "Khoản này không khớp hồ sơ nào: nhập mã hồ sơ được nộp.",
                           "This line is matched to no dossier: give the code of the dossier it pays.")
    return await Dossier.get(id=line.dossier_id)


async def resolve(unit: AdministrativeUnit, user: User, line_id: int, action: str, *, dossier_code: str | None = None,
                  confirmed_amount: bool = False, reason: str = "") -> StatementLine:
    """Resolve the unit's line `line_id` as `action`; the line as resolved. Raises :class:`Unresolvable`, having
    changed nothing."""
    if action not in ACTIONS:
        raise Unresolvable(400, "invalid_action", "Thao tác phải là ghi nhận đã nộp (pay) hoặc bỏ qua (dismiss).",
                           "The action is pay or dismiss.")
    if len(reason) > MAX_REASON:
        raise Unresolvable(400, "too_long", f"Lý do dài quá {MAX_REASON} ký tự.",
                           f"The reason is longer than {MAX_REASON} characters.")
    if action == "dismiss" and len(reason) < 3:
        raise Unresolvable(400, "reason_required", "Ghi rõ lý do bỏ qua khoản này (ví dụ: đã hoàn tiền, không phải "
                           "phí, lệ phí).", "Say why this line is set aside (e.g. refunded, not a fee).")
    async with in_transaction():
        line = await StatementLine.get_or_none(id=line_id, unit_id=unit.id)
        if line is None:  # another unit's line is not there at all
            raise Unresolvable(404, "line_not_found", "Không tìm thấy khoản này trong sao kê của đơn vị.",
                               "This line is not in the unit's statements.")
        if line.resolution or line.outcome == "paid":
            raise Unresolvable(409, "already_resolved", "Khoản này đã được xử lý.", "This line is already resolved.")
        dossier = await _target(unit, line, dossier_code) if action == "pay" else None
        if dossier is not None and line.amount_vnd != dossier.fee_amount_vnd and not confirmed_amount:
            raise Unresolvable(409, "amount_differs", f"Số tiền chuyển ({_vnd(line.amount_vnd)}) khác phí đã ấn định "
                               f"({_vnd(dossier.fee_amount_vnd)}): xác nhận đã kiểm tra số tiền để ghi nhận.",
                               "The amount differs from the fixed fee: confirm it was checked to record it.")
        now = datetime.now(timezone.utc)
        claimed = await StatementLine.filter(id=line.id, resolution="").update(
            resolution="paid" if dossier is not None else "dismissed", resolved_by_id=user.id, resolved_at=now,
            resolution_reason=reason, **({"dossier_id": dossier.id} if dossier is not None else {}))
        if not claimed:  # another officer resolved it a moment ago
            raise Unresolvable(409, "already_resolved", "Khoản này đã được xử lý.", "This line is already resolved.")
        if dossier is not None:
            try:
                await changes.apply(user, [changes.command(dossier.id, "payment_done", {
                    "channel": "transfer", "statement_line": line.id, "confirmed_amount": confirmed_amount})],
                    commune_codes=set())  # payment_done reads no form
            except changes.Refused as refused:  # the transaction is rolled back: the line stays unresolved
                raise Unresolvable(409, refused.code, refused.reason.get("vi", ""), refused.reason.get("en", "")) \
                    from None
        return await StatementLine.get(id=line.id)
