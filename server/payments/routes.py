"""Payments over HTTP (docs/payments.md):

- GET /api/dossiers/{id}/payment: what the citizen owes and how to pay it (the fixed fee, the VietQR text and its SVG,
  the unit's account); before payment is requested, the fee the rules give now. Whoever may read the dossier.
- GET /api/units/{code}/collection-account: the unit's collection account (its officers, for field intake offline;
  administrators of the unit or above it); PUT sets it (administrator of the unit or above it).
- POST /api/units/{code}/statements: import a bank statement (CSV or camt.053 XML, the raw file as the body).
- GET /api/units/{code}/payments: the statement lines left for an officer (partial, overpaid, duplicate, unmatched,
  refused; `?all=1`: the resolved ones too). POST /api/units/{code}/payments/{line_id}/resolve: an officer settles
  one (pay a dossier with it, or dismiss it with a reason). The last three: the one-stop desk and the leader of that
  unit only.
- POST /api/dossiers/{id}/payment/gateway: the owner starts paying at the gateway: {url} to send the browser to.
- GET /api/payments/vnpay/ipn: VNPAY's server-to-server notification (signature verified; with the status query,
  the only way a gateway payment is recorded); GET /api/payments/vnpay/return: the citizen's browser back from VNPAY,
  sent on to the app (an order still pending is queried at VNPAY first, when its merchant API is configured).
"""

from __future__ import annotations

from starlette.requests import Request
from datetime import datetime, timezone

from starlette.datastructures import UploadFile
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from server.accounts import access
from server.accounts.sessions import CSRF_FIELD, check_csrf, current_user
from server.catalog.fees import fee_text
from server.catalog.routes import unit_tree
from server.documents.qr import qr_svg
from server.dossiers.store import dossier_record
from server.models import AdministrativeUnit, CollectionAccount, Dossier, PaymentOrder, User
from server.payments import online
from server.payments.obligation import quote
from server.payments.vnpay import Vnpay
from server.payments.reconcile import import_lines, line_json, waiting_lines
from server.payments.resolve import ACTIONS, MAX_REASON, Unresolvable, resolve
from server.payments.statements import StatementError, read_statement
from server.payments.vietqr import ACCOUNT_PATTERN, BIN_PATTERN
from server.web.errors import ApiError
from server.web.guard import requires
from server.web.i18n import locale_of
from server.web.pages import render
from server.web.requests import FORBIDDEN_CHARACTERS, read_json_object, text_field


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
        # Whether the owner may pay this fee at a gateway now (POST …/payment/gateway): the app's button.
        "gateway": request.app.state.settings.vnpay is not None and dossier.status == 6 and bool(amount)
        and dossier.paid_at is None and access.allowed(user, "dossier.own", dossier),
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


@requires("payment.account")
async def get_collection_account(request: Request, user: User) -> JSONResponse:
    """The unit's collection account: its officers keep it on their phones to show a VietQR code at a field intake
    with no network (pwa/static/js/officer.js); an administrator of the unit or a unit above it reads what they set."""
    unit = await _unit(request)
    if not (access.allowed(user, "payment.account", access.UnitTree(frozenset({str(unit.id)})))
            or access.allowed(user, "unit.manage", await unit_tree(unit))):
        raise ApiError(403, "forbidden", "Chỉ xem được tài khoản thu của đơn vị mình.",
                       "You may read only your own unit's collection account.")
    account = await CollectionAccount.get_or_none(unit_id=unit.id)
    if account is None:
        raise ApiError(404, "no_collection_account", "Đơn vị chưa khai báo tài khoản thu phí, lệ phí.",
                       "The unit has no collection account yet.")
    return JSONResponse({"bank_bin": account.bank_bin, "number": account.number, "name": account.name})


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
    return JSONResponse({"items": await waiting_lines(unit, resolved_too=request.query_params.get("all") == "1")})


def _line_id(request: Request) -> int:
    raw = request.path_params["line_id"]
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 10 and int(raw) < 2 ** 31):
        raise ApiError(404, "line_not_found", "Không tìm thấy khoản này trong sao kê của đơn vị.",
                       "This line is not in the unit's statements.")
    return int(raw)


def _refused(error: Unresolvable) -> ApiError:
    return ApiError(error.status, error.code, error.vi, error.en)


@requires("payment.reconcile")
async def post_resolve(request: Request, user: User) -> JSONResponse:
    unit = await _unit(request)
    _own_unit_only(user, unit)
    line_id = _line_id(request)
    body = await read_json_object(request)
    action = body.get("action")
    if action not in ACTIONS:
        raise ApiError(400, "invalid_action", "Thao tác phải là ghi nhận đã nộp (pay) hoặc bỏ qua (dismiss).",
                       "The action is pay or dismiss.", details=[{"path": "action", "code": "invalid_action"}])
    confirmed = body.get("confirmed_amount", False)
    if not isinstance(confirmed, bool):
        raise ApiError(400, "type", "confirmed_amount phải là true hoặc false.", "confirmed_amount must be a boolean.",
                       details=[{"path": "confirmed_amount", "code": "type"}])
    code = text_field(body, "dossier", "mã hồ sơ", max_length=64, required=False)
    reason = text_field(body, "reason", "lý do", max_length=MAX_REASON, required=False) or ""
    try:
        line = await resolve(unit, user, line_id, str(action), dossier_code=code, confirmed_amount=confirmed,
                             reason=" ".join(reason.split()))
    except Unresolvable as error:
        raise _refused(error) from None
    return JSONResponse(await line_json(line))


def _gateway(request: Request) -> Vnpay:
    settings = request.app.state.settings.vnpay
    if settings is None:
        raise ApiError(409, "gateway_not_configured", "Chưa có cổng thanh toán trực tuyến; Ông/Bà chuyển khoản bằng "
                       "mã VietQR hoặc nộp tại bộ phận một cửa.",
                       "No online payment gateway is set up: pay by VietQR transfer or at the desk.")
    return Vnpay(settings)


@requires("dossier.own")
async def post_gateway_order(request: Request, user: User) -> JSONResponse:
    dossier_id = request.path_params["id"]
    dossier = await Dossier.get_or_none(id=dossier_id) if len(dossier_id) <= 36 else None
    if dossier is None or not access.allowed(user, "dossier.read", dossier):
        raise _not_found()
    if not access.allowed(user, "dossier.own", dossier):
        raise ApiError(403, "forbidden", "Chỉ người nộp hồ sơ thanh toán trực tuyến được.",
                       "Only the applicant pays online.")
    if dossier.status != 6 or not dossier.fee_amount_vnd or dossier.paid_at is not None:
        raise ApiError(409, "nothing_to_pay", "Hồ sơ này không có khoản phí nào đang chờ nộp.",
                       "This dossier has no fee waiting to be paid.")
    gateway = _gateway(request)
    row, order = await online.start_order(dossier, gateway.name)
    base = request.app.state.settings.public_url or str(request.base_url).rstrip("/")  # the address citizens use
    return_url = base + "/api/payments/vnpay/return"
    client = request.client.host if request.client else ""
    # Dated when the order was stored: a status query finds the order at the gateway by this date (querydr).
    return JSONResponse({"url": gateway.pay_url(order, return_url, client, row.created_at),
                         "txn_ref": order.txn_ref}, status_code=201)


def _params(request: Request) -> dict[str, str]:
    params = {name: value for name, value in request.query_params.items() if name.startswith("vnp_")}
    if len(params) > 40 or any(len(value) > 1000 for value in params.values()):
        return {}
    return params


@requires("payment.notify")
async def vnpay_ipn(request: Request, user: User | None) -> JSONResponse:
    """Always 200 with VNPAY's {RspCode, Message}: the gateway retries on anything else."""
    notification = _gateway(request).verify(_params(request))
    code = online.BAD_SIGNATURE if notification is None else await online.notified(notification)
    return JSONResponse({"RspCode": code, "Message": online.MESSAGES[code]})


@requires("payment.notify")
async def vnpay_return(request: Request, user: User | None) -> RedirectResponse:
    """Back to the dossier in the app. Nothing the return says is recorded: only the notification, or the gateway's
    answer to a status query, pays (a return can be forged or replayed by a browser, and may come before the
    notification)."""
    notification = _gateway(request).verify(_params(request))
    if notification is None:
        raise ApiError(400, "invalid_signature", "Đường dẫn trả về từ cổng thanh toán không hợp lệ. Ông/Bà mở lại "
                       "hồ sơ trong ứng dụng để xem tình trạng nộp phí.",
                       "The link back from the payment gateway is not valid: open the dossier in the app.")
    gateway = _gateway(request)
    order = await PaymentOrder.get_or_none(txn_ref=notification.txn_ref[:40])
    if order is not None and order.status == "pending" and gateway.settings.api_url:
        # The citizen is back and no notification came yet (or it was lost): ask the gateway itself, whose signed
        # answer counts as the notification would (server/payments/online.py). What the return says is not asked.
        await online.query_order(gateway, order, datetime.now(timezone.utc), timeout=5.0)  # a browser is waiting
    return RedirectResponse(f"/app#/d/{order.dossier_id}" if order else "/app", status_code=303)


async def _reconciling_officer(request: Request) -> Response | tuple[User, AdministrativeUnit]:
    """The signed-in officer who may reconcile their own unit's payments, with that unit; else the answer to give
    (sign in first, or 403)."""
    user = await current_user(request)
    if user is None:
        return RedirectResponse("/signin?next=/officer/payments", status_code=303)
    unit = await AdministrativeUnit.get_or_none(id=user.unit_id) if user.unit_id else None
    if unit is None or not access.allowed(user, "payment.reconcile", access.UnitTree(frozenset({str(unit.id)}))):
        return await render(request, "message.html", status=403, title_key="forbidden_title", text_key="forbidden_text")
    return user, unit


async def officer_payments_page(request: Request) -> Response:
    """/officer/payments: the statement import as a form, and the lines left to resolve (the officer's own unit)."""
    officer = await _reconciling_officer(request)
    if isinstance(officer, Response):
        return officer
    user, unit = officer
    report, error, status = None, None, 200
    if request.method == "POST":
        async with request.form(max_files=1, max_fields=4) as form:
            try:
                check_csrf(request, form.get(CSRF_FIELD))
                upload = form.get("statement")
                data = await upload.read() if isinstance(upload, UploadFile) else b""
                report = (await import_lines(unit, user, read_statement(data))).as_json()
            except StatementError as refused:
                error, status = (refused.en if locale_of(request) == "en" else refused.vi), 400
            except ApiError as refused:
                error, status = (refused.message_en if locale_of(request) == "en" else refused.message), refused.status
    return await _payments_page(request, unit, status=status, report=report, error=error)


async def _payments_page(request: Request, unit: AdministrativeUnit, *, status: int = 200, **shown: object
                         ) -> Response:
    resolved_too = request.query_params.get("all") == "1"
    return await render(request, "payments.html", status=status, unit=unit, resolved_too=resolved_too,
                        lines=await waiting_lines(unit, resolved_too=resolved_too), **shown)


async def officer_resolve_page(request: Request) -> Response:
    """POST /officer/payments/lines/{line_id}: the page's form for one line (pay a dossier with it, or dismiss it),
    then the page again with what was done or why not."""
    officer = await _reconciling_officer(request)
    if isinstance(officer, Response):
        return officer
    user, unit = officer
    english = locale_of(request) == "en"
    try:
        async with request.form(max_files=0, max_fields=6, max_part_size=4096) as form:
            check_csrf(request, form.get(CSRF_FIELD))
            values = {name: form.get(name) for name in ("action", "dossier", "confirmed_amount", "reason")}
        raw = {name: value if isinstance(value, str) else "" for name, value in values.items()}
        texts = {name: " ".join(value.split()) for name, value in raw.items()}
        if any(FORBIDDEN_CHARACTERS.search(value) for value in raw.values()) or len(texts["dossier"]) > 64:
            raise Unresolvable(400, "invalid_text", "Nội dung nhập có ký tự không hợp lệ hoặc quá dài.",
                               "The text entered has characters that are not allowed, or is too long.")
        await resolve(unit, user, _line_id(request), texts["action"], dossier_code=texts["dossier"] or None,
                      confirmed_amount=texts["confirmed_amount"] == "1", reason=texts["reason"])
    except Unresolvable as refused:
        return await _payments_page(request, unit, status=refused.status, error=refused.en if english else refused.vi)
    except ApiError as refused:
        return await _payments_page(request, unit, status=refused.status,
                                    error=refused.message_en if english else refused.message)
    return await _payments_page(request, unit, resolved=texts["action"])


page_routes = [
    Route("/officer/payments", officer_payments_page, methods=["GET", "POST"]),
    Route("/officer/payments/lines/{line_id}", officer_resolve_page, methods=["POST"]),
]


api_routes = [  # under /api
    Route("/dossiers/{id}/payment", get_payment, methods=["GET"]),
    Route("/units/{code}/collection-account", get_collection_account, methods=["GET"]),
    Route("/units/{code}/collection-account", put_collection_account, methods=["PUT"]),
    Route("/units/{code}/statements", post_statement, methods=["POST"]),
    Route("/units/{code}/payments", get_waiting, methods=["GET"]),
    Route("/units/{code}/payments/{line_id}/resolve", post_resolve, methods=["POST"]),
    Route("/dossiers/{id}/payment/gateway", post_gateway_order, methods=["POST"]),
    Route("/payments/vnpay/ipn", vnpay_ipn, methods=["GET"]),
    Route("/payments/vnpay/return", vnpay_return, methods=["GET"]),
]
