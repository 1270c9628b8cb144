"""Payments over HTTP (docs/payments.md):

- GET /api/dossiers/{id}/payment: what the citizen owes and how to pay it (the fixed fee, the VietQR text and its SVG,
  the unit's account); before payment is requested, the fee the rules give now. Whoever may read the dossier.
- PUT /api/units/{code}/collection-account: the unit's collection account (administrator of the unit or above it).
- POST /api/units/{code}/statements: import a bank statement (CSV or camt.053 XML, the raw file as the body).
- GET /api/units/{code}/payments: the statement lines left for an officer (partial, overpaid, duplicate, unmatched,
  refused). The last two: the one-stop desk and the leader of that unit only.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from server.accounts import access
from server.catalog.fees import fee_text
from server.catalog.routes import unit_tree
from server.documents.qr import qr_svg
from server.dossiers.store import dossier_record
from server.models import AdministrativeUnit, CollectionAccount, Dossier, User
from server.payments.obligation import quote
from server.payments.reconcile import import_lines, waiting_lines
from server.payments.statements import StatementError, read_statement
from server.payments.vietqr import ACCOUNT_PATTERN, BIN_PATTERN
from server.web.errors import ApiError
from server.web.guard import requires
from server.web.requests import read_json_object, text_field


def _not_found() -> ApiError:
    return ApiError(404, "not_found", "Không tìm thấy hồ sơ.", "Dossier not found.")


@requires("dossier.read")
async def get_payment(request: Request, user: User) -> JSONResponse:
    dossier_id = request.path_params["id"]
    dossier = await Dossier.get_or_none(id=dossier_id) if len(dossier_id) <= 36 else None
    if dossier is None or not access.allowed(user, "dossier.read", dossier):
        raise _not_found()  # another's dossier is not there at all (docs/access.md)
    unit_id = dossier.handling_unit_id or dossier.unit_id
    account = await CollectionAccount.get_or_none(unit_id=unit_id) if unit_id else None
    fixed = dossier.fee_fixed_at is not None
    current = await quote(await dossier_record(dossier))
    amount = dossier.fee_amount_vnd if fixed else current["amount_vnd"]
    return JSONResponse({
        "fixed": fixed, "amount_vnd": amount,
        "text": fee_text({**current, "amount_vnd": amount}),
        "qr": dossier.payment_qr or None,
        "qr_svg": qr_svg(dossier.payment_qr, title="Mã VietQR nộp phí, lệ phí") if dossier.payment_qr else None,
        "note": dossier.code if dossier.payment_qr else None,
        "account": {"bank_bin": account.bank_bin, "number": account.number, "name": account.name}
        if account else None,
        "paid_at": dossier.paid_at.isoformat() if dossier.paid_at else None,
        "channel": dossier.payment_channel or None, "reference": dossier.payment_reference or None,
    })


async def _unit(request: Request) -> AdministrativeUnit:
    code = request.path_params["code"]
    unit = await AdministrativeUnit.filter(code=code, valid_to__isnull=True).order_by("id").first() \
        if len(code) <= 16 else None
    if unit is None:
        raise ApiError(404, "unknown_unit", "Không tìm thấy đơn vị hành chính đang có hiệu lực với mã này.",
                       "No administrative unit in force has this code.")
    return unit


def _own_unit_only(user: User, unit: AdministrativeUnit) -> None:
    if not access.allowed(user, "payment.reconcile", access.UnitTree(frozenset({str(unit.id)}))):
        raise ApiError(403, "forbidden", "Chỉ đối soát được tài khoản thu của đơn vị mình.",
                       "You may reconcile only your own unit's account.")


@requires("unit.manage")
async def put_collection_account(request: Request, user: User) -> JSONResponse:
    unit = await _unit(request)
    if not access.allowed(user, "unit.manage", await unit_tree(unit)):
        raise ApiError(403, "forbidden", "Chỉ sửa được đơn vị của mình và các đơn vị trực thuộc.",
                       "You may change only your own unit and the units below it.")
    body = await read_json_object(request)
    bank_bin = text_field(body, "bank_bin", "mã BIN ngân hàng", max_length=6) or ""
    number = text_field(body, "number", "số tài khoản", max_length=19) or ""
    name = text_field(body, "name", "tên chủ tài khoản", max_length=200) or ""
    if not BIN_PATTERN.match(bank_bin) or not ACCOUNT_PATTERN.match(number):
        raise ApiError(400, "invalid_account", "Mã BIN ngân hàng gồm 6 chữ số (ví dụ 970415); số tài khoản tối đa "
                       "19 chữ hoặc số, không có dấu cách.",
                       "The bank BIN is 6 digits (e.g. 970415); the account number up to 19 letters or digits.")
    await CollectionAccount.update_or_create(unit_id=unit.id, defaults={"bank_bin": bank_bin, "number": number,
                                                                        "name": name})
    return JSONResponse({"unit": unit.code, "bank_bin": bank_bin, "number": number, "name": name})


@requires("payment.reconcile")
async def post_statement(request: Request, user: User) -> JSONResponse:
    unit = await _unit(request)
    _own_unit_only(user, unit)
    try:
        lines = read_statement(await request.body())
    except StatementError as error:
        raise ApiError(400, "invalid_statement", error.vi, error.en) from None
    report = await import_lines(unit, user, lines)
    return JSONResponse(report.as_json())


@requires("payment.reconcile")
async def get_waiting(request: Request, user: User) -> JSONResponse:
    unit = await _unit(request)
    _own_unit_only(user, unit)
    return JSONResponse({"items": await waiting_lines(unit)})


api_routes = [  # under /api
    Route("/dossiers/{id}/payment", get_payment, methods=["GET"]),
    Route("/units/{code}/collection-account", put_collection_account, methods=["PUT"]),
    Route("/units/{code}/statements", post_statement, methods=["POST"]),
    Route("/units/{code}/payments", get_waiting, methods=["GET"]),
]
