"""The financial obligation of a dossier (nghĩa vụ tài chính): the fee fixed when payment is requested, and the
payment recorded when it is done. Called by the workflow's Policy (server/workflow/policy.py) for the steps
`request_payment` and `payment_done`, so both go through the one write path (docs/payments.md).

The amount is the procedure's fee rules (server/catalog/fees.py) for the dossier's channel, form and pages, on the
procedure version the dossier was filed with; the officer may state another (an exemption, or a fee the rules cannot
compute). It is fixed on the dossier with the VietQR text for the handling unit's collection account, so a later
change of the rules or of the account does not alter what the citizen was asked to pay.

A payment is recorded only with its evidence: an officer's cash payment at the desk, a bank statement line matched
to this dossier (server/payments/reconcile.py) or resolved to it by an officer (server/payments/resolve.py), or a
gateway order its verified notification or status query confirmed (server/payments/online.py). Nothing else marks a
dossier paid.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Mapping

from server.catalog.fees import fee_for
from server.dossiers.store import procedure_version, procedure_version_id
from server.models import Attachment, CollectionAccount, PaymentOrder, StatementLine
from server.payments.vietqr import CollectionAccount as Account
from server.payments.vietqr import payload, plain_note
from sync.model import Record
from sync.policy import Rejection

CHANNELS = ("cash", "transfer", "gateway")  # at the desk, a matched statement line, a gateway's verified notification
MAX_AMOUNT = 10 ** 12  # a sanity bound: no fee of a public service comes near a trillion đồng


def _no(code: str, vi: str, en: str) -> Rejection:
    return Rejection(code, {"vi": vi, "en": en})


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


async def _pages(dossier_id: str) -> dict[str, int]:
    pages: dict[str, int] = {}
    for document in await Attachment.filter(dossier_id=dossier_id, status__in=("pending", "verified")) \
            .values_list("document", flat=True):
        pages[str(document)] = pages.get(str(document), 0) + 1
    return pages


async def quote(record: Record) -> dict[str, Any]:
    """The fee the rules give this dossier now: {"amount_vnd" (None: not computable), "note", "exemptions"}."""
    data = record.data
    version_id = await procedure_version_id(data["procedure_code"], data["procedure_version"])
    content: dict[str, Any] = (await procedure_version(version_id))[2] if version_id else {}
    form = {name[len("form."):]: value for name, value in data.items() if name.startswith("form.")}
    return fee_for(content, str(data.get("channel") or "online"), form, await _pages(record.id))


def transfer_note(code: str) -> str:
    """The transfer note carrying the dossier code, within VietQR's 25 characters (dots and hyphens dropped only
    when the code is longer; reconciliation compares letters and digits only)."""
    return code if len(code) <= 25 else "".join(ch for ch in code if ch.isalnum())[:25]


async def fix_fee(record: Record, args: Mapping[str, Any]) -> Rejection | dict[str, Any]:
    """The changes `request_payment` makes: the amount and the VietQR text, fixed on the dossier."""
    stated = args.get("amount_vnd")
    if stated is not None:
        if isinstance(stated, bool) or not isinstance(stated, int) or not 0 <= stated <= MAX_AMOUNT:
            return _no("invalid_amount", "Số tiền phải là số nguyên đồng, không âm (ví dụ 15000).",
                       "The amount must be a whole number of đồng, not negative (for example 15000).")
        amount: int | None = stated
    else:
        amount = (await quote(record))["amount_vnd"]
    qr = ""
    unit_id = record.data.get("handling_unit_id") or record.data.get("unit_id")
    account = await CollectionAccount.get_or_none(unit_id=unit_id) if unit_id else None
    code = record.data.get("code")
    if amount and account is not None and isinstance(code, str):
        qr = payload(Account(account.bank_bin, account.number, account.name), amount, transfer_note(code))
    # A new request (after an earlier payment) starts a new obligation: the last payment is not this one's.
    return {"fee_amount_vnd": amount, "fee_fixed_at": _now(), "payment_qr": qr or None, "paid_at": None,
            "payment_channel": None, "payment_reference": None}


# What a field device states on the create of a dossier it receives on the spot, when it showed a VietQR code
# (docs/payments.md "At a field intake"): the amount shown and the transfer note shown.
INTAKE_FEE_FIELDS = frozenset({"fee_amount_vnd", "payment_note"})


def intake_fee_problem(values: Mapping[str, Any]) -> Rejection | None:
    """Why the fee a field device stated cannot be fixed (None when it can, or when it stated none). Checked before
    the dossier takes its code and register number, so a refused create uses up neither."""
    if not INTAKE_FEE_FIELDS & set(values):
        return None
    amount, note, code = values.get("fee_amount_vnd"), values.get("payment_note"), values.get("code")
    if isinstance(amount, bool) or not isinstance(amount, int) or not 0 <= amount <= MAX_AMOUNT:
        return _no("invalid_amount", "Số tiền phí, lệ phí phải là số nguyên đồng, không âm (ví dụ 15000).",
                   "fee_amount_vnd must be a whole number of đồng, not negative (for example 15000).")
    # The note is the transfer note of the code the device issued (final, or provisional TAM-…), exactly as
    # vietqr.js writes it: anything else would not find this dossier in the bank statement.
    if not isinstance(note, str) or not isinstance(code, str) or not note or len(code) > 64 \
            or note != transfer_note(code) or plain_note(note) != note:
        return _no("invalid_payment_note", "Nội dung chuyển khoản phải là mã hồ sơ do máy cấp khi tiếp nhận.",
                   "payment_note must be the transfer note of the dossier code the device issued.")
    return None


async def fix_at_intake(unit_id: int, values: Mapping[str, Any], received_at: str) -> Rejection | dict[str, Any]:
    """The fee fixed at reception of a field intake (Decree 61/2018: fees are collected when the dossier is
    received), as the officer's device showed it offline: the amount, and the VietQR text for the unit's account
    with the note the device showed, so the text is the one the citizen scanned even when the server replaces a
    provisional code. {} when the device stated no fee (it is then asked for later with `request_payment`)."""
    problem = intake_fee_problem(values)
    if problem is not None or not INTAKE_FEE_FIELDS & set(values):
        return problem or {}
    amount, note = int(values["fee_amount_vnd"]), str(values["payment_note"])
    account = await CollectionAccount.get_or_none(unit_id=unit_id)
    qr = payload(Account(account.bank_bin, account.number, account.name), amount, note) \
        if amount and account is not None else None
    return {"fee_amount_vnd": amount, "fee_fixed_at": received_at, "payment_qr": qr, "paid_at": None,
            "payment_channel": None, "payment_reference": None}


def has_unpaid_fee(data: Mapping[str, Any]) -> bool:
    """A fee fixed, not zero, and not paid yet: what `payment_done` records outside status 6 (a fee fixed at a
    field intake, paid while the dossier is processed)."""
    return bool(data.get("fee_fixed_at") and data.get("fee_amount_vnd") and not data.get("paid_at"))


async def record_payment(record: Record, args: Mapping[str, Any]) -> Rejection | dict[str, Any]:
    """The changes `payment_done` makes: when, by which channel, with which reference. A transfer needs the
    statement line matched to this dossier (server/payments/reconcile.py), so no device can claim one."""
    channel = args.get("channel", "cash")
    if channel not in CHANNELS:
        return _no("invalid_payment_channel", "Hình thức nộp phí không hợp lệ: tiền mặt (cash), chuyển khoản "
                   "(transfer) hoặc cổng thanh toán (gateway).", "Unknown payment channel: cash, transfer or gateway.")
    reference = args.get("reference") or ""
    if not isinstance(reference, str) or len(reference) > 128:
        return _no("invalid_reference", "Số biên lai hoặc mã giao dịch tối đa 128 ký tự.",
                   "The receipt number or transaction reference is at most 128 characters.")
    if channel == "transfer":
        line_id = args.get("statement_line")
        line = await StatementLine.get_or_none(id=line_id, dossier_id=record.id) \
            if isinstance(line_id, int) and not isinstance(line_id, bool) else None
        fixed_at = record.data.get("fee_fixed_at")
        since = datetime.fromisoformat(fixed_at) if fixed_at else None
        if line is not None and line.resolution == "paid" and line.resolved_by_id is not None:
            # An officer checked the line and resolved it as this dossier's payment (server/payments/resolve.py):
            # another amount than the fee only with their explicit confirmation, and only for this request.
            if (line.amount_vnd != record.data.get("fee_amount_vnd") and args.get("confirmed_amount") is not True) \
                    or (since and line.resolved_at is not None and line.resolved_at < since):
                line = None
        # Otherwise the line must carry this fee exactly and have come in after the fee was fixed: a partial line,
        # or one that paid an earlier request, is for an officer to look at, not a payment (docs/payments.md).
        elif line is not None and (line.amount_vnd != record.data.get("fee_amount_vnd") or (
                since and line.imported_at < since)):
            line = None
        if line is None:
            return _no("transfer_not_found", "Chưa có giao dịch chuyển khoản nào trong sao kê khớp với hồ sơ này; "
                       "hãy nhập sao kê ngân hàng của đơn vị hoặc ghi nhận nộp tiền mặt.",
                       "No bank statement line is matched to this dossier: import the unit's statement, or "
                       "record a cash payment.")
        reference = line.reference or f"sao kê {line.booked_on.isoformat()} #{line.id}"
    if channel == "gateway":
        # Only an order the gateway's verified notification marked paid, for this dossier and this fee, started
        # after the fee was fixed (an older order cannot pay a later request) (server/payments/online.py).
        order_id = args.get("gateway_order")
        order = await PaymentOrder.get_or_none(id=order_id, dossier_id=record.id, status="paid") \
            if isinstance(order_id, int) and not isinstance(order_id, bool) else None
        fixed_at = record.data.get("fee_fixed_at")
        if order is None or order.amount_vnd != record.data.get("fee_amount_vnd") or (
                fixed_at and order.created_at < datetime.fromisoformat(fixed_at)):
            return _no("gateway_not_confirmed", "Cổng thanh toán chưa xác nhận khoản nộp này; hồ sơ được cập nhật "
                       "khi có xác nhận.", "The payment gateway has not confirmed this payment; the dossier is "
                       "updated when it does.")
        reference = f"{order.provider} {order.transaction_no or order.txn_ref}"
    return {"paid_at": _now(), "payment_channel": channel, "payment_reference": reference.strip() or None}
