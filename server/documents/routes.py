"""Printable documents of a dossier (HTML and PDF) and a unit's register (HTML, PDF, CSV) — docs/documents.md."""

from __future__ import annotations

from datetime import datetime, timezone
from functools import partial
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from server.accounts import access
from server.documents.context import (VIETNAM, DocumentContext, gather, governing_body, load_dossier, local,
                                      place_name, service_centre, vi_date)
from server.documents.numbers import issue
from server.documents.pdf import FONTS
from server.documents.register import parse_period, register_csv, register_rows
from server.documents.render import document_html, document_pdf, page_html
from server.documents.templates import REGISTER, TEMPLATES, DocumentTemplate, template_for
from server.web.errors import ApiError
from server.models import OFFICER_ROLES, AdministrativeUnit
from server.accounts.sessions import current_user
from server.documents.tracking import tracking_url

# Documents hold personal data: never kept by a shared proxy or the browser's disk cache.
PRIVATE = {"cache-control": "private, no-store"}
FONT_FILES = frozenset({"LiberationSerif-Regular.ttf", "LiberationSerif-Bold.ttf", "LiberationSerif-Italic.ttf"})


def base_url(request: Request) -> str:
    """Where printed links and QR codes point: the configured public address (PUBLIC_URL); with none, the address
    this server answers on. Never the request's Host header, which anyone can write."""
    configured: str | None = request.app.state.settings.public_url
    if configured:
        return configured.rstrip("/")
    host, port = request.scope.get("server") or ("127.0.0.1", 8000)
    scheme = request.scope.get("scheme", "http")
    host = f"[{host}]" if ":" in host else host
    default = {"http": 80, "https": 443}.get(scheme)
    return f"{scheme}://{host}" + ("" if port == default or port is None else f":{port}")


def _split(name: str) -> tuple[str, str]:
    for suffix in (".pdf", ".csv"):
        if name.endswith(suffix):
            return name[: -len(suffix)], suffix[1:]
    return name, "html"


async def _unavailable(request: Request, status: int, heading: str, text: str) -> Response:
    from server.web.pages import render

    return await render(request, "documents/unavailable.html", status=status, heading=heading, text=text)


def _sign_in(request: Request) -> Response:
    return RedirectResponse("/signin?next=" + quote(request.url.path), status_code=303)


def _file_name(kind: str, code: str | None, extension: str) -> str:
    safe = "".join(ch if ch.isalnum() or ch in "-." else "_" for ch in (code or "ho-so"))
    return f"{kind}-{safe}.{extension}"


async def numbered(template: DocumentTemplate, ctx: DocumentContext) -> dict[str, str]:
    """The document's own number and its date of issue, given the first time it is issued and stable afterwards
    (server/documents/numbers.py); a form without a number of its own prints today's date."""
    if not template.series or ctx.unit is None:
        return {"number": "", "issued_date": ctx.today}
    moment = template.issued(ctx) or datetime.now(timezone.utc)
    year = local(moment).year  # type: ignore[union-attr]
    record = await issue(unit_id=ctx.unit.id, series=template.series, dossier_id=ctx.dossier.id, issued_at=moment,
                         year=year)
    # Decree 30/2020/NĐ-CP, Appendix I: numbers below 10 take a leading zero.
    return {"number": f"{record.number:02d}/{template.symbol}", "issued_date": vi_date(record.issued_at)}


async def dossier_document(request: Request) -> Response:
    user = await current_user(request)
    if user is None:
        return _sign_in(request)
    kind, extension = _split(request.path_params["name"])
    dossier = await load_dossier(request.path_params["id"])
    if dossier is None or not access.allowed(user, "dossier.read", dossier) or kind not in TEMPLATES or extension == "csv":
        # The same answer for "missing", "not yours" and "no such document": nothing about others is revealed.
        return await _unavailable(request, 404, "Không tìm thấy giấy tờ",
                                  "Không tìm thấy hồ sơ hoặc giấy tờ này trong các hồ sơ tài khoản này được xem.")
    link = tracking_url(base_url(request), dossier.id, request.app.state.settings.secret_key)
    ctx = await gather(dossier, tracking_url=link)
    template = template_for(kind, ctx) or TEMPLATES[kind]
    if not template.applies(ctx):
        return await _unavailable(request, 404, "Chưa có giấy tờ này", template.not_yet)
    path = f"/dossiers/{dossier.id}/documents/{kind}"
    html = document_html(template, ctx, pdf_url=path + ".pdf",
                         back_url="/dossiers" if user.role == "citizen" else "/officer",
                         extra=await numbered(template, ctx))
    if extension == "html":
        return HTMLResponse(html, headers=PRIVATE)
    return Response(document_pdf(template, html, link), media_type="application/pdf", headers={
        **PRIVATE, "content-disposition": f'inline; filename="{_file_name(kind, dossier.code, "pdf")}"'})


async def unit_register(request: Request, name: str) -> Response:
    user = await current_user(request)
    if user is None:
        return _sign_in(request)
    _, extension = _split(name)
    unit = await AdministrativeUnit.get_or_none(id=user.unit_id) if user.unit_id else None
    if user.role not in OFFICER_ROLES or unit is None or unit.code != request.path_params["code"]:
        return await _unavailable(request, 403, "Không có quyền xem sổ này",
                                  "Chỉ cán bộ của đơn vị mới xem được sổ theo dõi hồ sơ của đơn vị.")
    today = datetime.now(timezone.utc).astimezone(VIETNAM).date()
    try:
        start, end = parse_period(request.query_params.get("from"), request.query_params.get("to"), today)
    except ApiError as error:  # shown as a page, since a person typed the dates
        return await _unavailable(request, error.status, "Khoảng ngày không hợp lệ", error.message)
    rows = await register_rows(unit, start, end)
    if extension == "csv":
        return Response(register_csv(rows), media_type="text/csv; charset=utf-8", headers={
            **PRIVATE, "content-disposition": f'attachment; filename="so-theo-doi-{unit.code}-{start}-{end}.csv"'})
    query = f"?from={start.isoformat()}&to={end.isoformat()}"
    html = page_html(REGISTER, {
        "rows": rows, "unit_name": unit.name, "code": "", "place": place_name(unit), "today": vi_date(today),
        "governing": governing_body(unit), "issuer": service_centre(unit), "number": "", "issued_date": vi_date(today),
        "from_text": vi_date(start), "to_text": vi_date(end), "qr_svg": "", "tracking_url": "",
        "pdf_url": f"/units/{unit.code}/register.pdf{query}", "back_url": "/officer"})
    if extension == "html":
        return HTMLResponse(html, headers=PRIVATE)
    return Response(document_pdf(REGISTER, html), media_type="application/pdf", headers={
        **PRIVATE, "content-disposition": f'inline; filename="so-theo-doi-{unit.code}-{start}-{end}.pdf"'})


async def font(request: Request) -> Response:
    """The shipped document font, for browsers with no Vietnamese serif of their own (print.css lists it last)."""
    name = request.path_params["name"]
    if name not in FONT_FILES:
        return await _unavailable(request, 404, "Không tìm thấy trang", "Địa chỉ này không có.")
    return FileResponse(FONTS / name, media_type="font/ttf", headers={"cache-control": "public, max-age=2592000"})


page_routes = [
    Route("/documents/fonts/{name}", font, methods=["GET"]),
    Route("/dossiers/{id}/documents/{name}", dossier_document, methods=["GET"]),
    *(Route(f"/units/{{code}}/{name}", partial(unit_register, name=name), methods=["GET"])
      for name in ("register", "register.pdf", "register.csv")),
]
