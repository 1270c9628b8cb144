"""Server-rendered pages (jinja2): readable on any phone with or without JavaScript."""

from __future__ import annotations

from urllib.parse import quote, urlencode

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from server.accounts import access

from server.accounts import citizens as accounts
from server.accounts import oidc

from server.web import rate_limits
from server.accounts.routes import client_address
from server.catalog.procedures import LEVELS, current_version, search_procedures
from server.dossiers import claims as dossier_claims
from server.dossiers.records import STATUS_NAMES, dossiers_for
from server.dossiers.status import CITIZEN_NAMES
from server.dossiers.status import DossierStatus
from server.web.errors import ApiError
from server.web.i18n import LANG_COOKIE, LOCALES, locale_of, pick, translator, working_days
from server.models import Procedure
from server.accounts.sessions import SESSION_MAX_AGE, CSRF_FIELD, check_csrf, csrf_token, current_user, end_session, set_csrf_cookie, start_session
from server.resources import TEMPLATES_DIR

templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
PAGE_SIZE = 30


async def render(request: Request, name: str, status: int = 200, **context: object) -> Response:
    locale = locale_of(request)
    user = await current_user(request)
    t = translator(locale)
    response = templates.TemplateResponse(request, name, {
        "t": t, "days": lambda value, unit="working_days", cutoff=None: working_days(value, t, unit, cutoff), "locale": locale, "pick": lambda value: pick(value, locale), "user": user,
        "csrf_token": csrf_token(request), "csrf_field": CSRF_FIELD, "status_names": STATUS_NAMES, "citizen_status_names": CITIZEN_NAMES, "S": DossierStatus,
        "other_locale": "en" if locale == "vi" else "vi", "path": request.url.path, **context,
    }, status_code=status)
    set_csrf_cookie(request, response)
    return response


async def home(request: Request) -> Response:
    return await render(request, "home.html", procedure_count=await Procedure.all().count())


async def catalog(request: Request) -> Response:
    query = request.query_params.get("q", "")[:200]
    level = request.query_params.get("level") if request.query_params.get("level") in LEVELS else None
    try:
        page = max(1, min(int(request.query_params.get("page", "1")), 10_000))
    except ValueError:
        page = 1
    procedures, total = await search_procedures(query, level=level, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)

    def page_link(number: int) -> str:
        return "/procedures?" + urlencode({k: v for k, v in {"q": query, "level": level or "", "page": number}.items() if v})

    return await render(request, "catalog.html", query=query, level=level, levels=LEVELS, procedures=procedures,
                        total=total, page=page, previous_link=page_link(page - 1) if page > 1 else None,
                        next_link=page_link(page + 1) if page * PAGE_SIZE < total else None)


async def procedure_page(request: Request) -> Response:
    procedure = await Procedure.get_or_none(code=request.path_params["code"])
    if procedure is None:
        raise HTTPException(404)
    version = await current_version(procedure)
    return await render(request, "procedure.html", procedure=procedure, version=version, content=version.content)


async def signin_page(request: Request) -> Response:
    if request.method == "GET":
        return await render(request, "signin.html", next=_safe_next(request.query_params.get("next")))
    form = await request.form()
    next_url = _safe_next(form.get("next"))
    try:
        check_csrf(request, form.get(CSRF_FIELD))
        await rate_limits.check_sign_in(request, form.get("phone"))
        user = await accounts.sign_in(form.get("phone"), form.get("password"), client_address(request))
    except ApiError as error:
        page = await render(request, "signin.html", status=error.status, error=_message(request, error),
                            phone=str(form.get("phone", ""))[:20], next=next_url)
        page.headers.update(error.headers or {})  # Retry-After on 429
        return page
    response = RedirectResponse(next_url or ("/officer" if user.role != "citizen" else "/dossiers"), status_code=303)
    await start_session(request, response, user)
    return response


def _base_url(request: Request) -> str:
    """The configured public address (PUBLIC_URL), which the provider knows our callback by; else this request's."""
    return request.app.state.settings.public_url or str(request.base_url).rstrip("/")


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


async def _oidc_refused(request: Request, error: ApiError) -> Response:
    """A refused sign-in: JSON for a program, else the sign-in page with the message and the button to try again."""
    response: Response
    if _wants_json(request):
        response = JSONResponse(error.to_json(), status_code=error.status)
    else:
        response = await render(request, "signin.html", status=error.status, error=_message(request, error))
    response.delete_cookie(oidc.FLOW_COOKIE, path=oidc.COOKIE_PATH, httponly=True, samesite="lax")
    return response


async def oidc_start(request: Request) -> Response:
    settings = request.app.state.settings
    if settings.oidc is None:
        return await _oidc_refused(request, oidc.not_configured())
    next_url = _safe_next(request.query_params.get("next")) or "/app"
    try:
        url, flow = await oidc.start(settings.oidc, settings.secret_key, _base_url(request), next_url)
    except ApiError as error:
        return await _oidc_refused(request, error)
    response = RedirectResponse(url, status_code=303)
    # SameSite=Lax: the provider's redirect back is a top-level GET, which carries it
    response.set_cookie(oidc.FLOW_COOKIE, flow, max_age=oidc.FLOW_MAX_AGE, httponly=True, samesite="lax",
                        secure=request.url.scheme == "https", path=oidc.COOKIE_PATH)
    return response


async def oidc_callback(request: Request) -> Response:
    settings = request.app.state.settings
    if settings.oidc is None:
        return await _oidc_refused(request, oidc.not_configured())
    params = request.query_params
    try:
        flow = oidc.read_flow(settings.secret_key, request.cookies.get(oidc.FLOW_COOKIE), params.get("state"))
        if params.get("error"):
            raise oidc.refused("oidc_denied", "Ông/Bà đã huỷ, hoặc hệ thống định danh đã từ chối đăng nhập.",
                               "You cancelled, or the identity provider refused the sign-in.")
        code = params.get("code")
        if not code:
            raise oidc.refused("oidc_no_code", "Hệ thống định danh không gửi mã đăng nhập.",
                               "The identity provider sent no sign-in code.")
        token = await oidc.exchange_code(settings.oidc, _base_url(request), code, flow["verifier"])
        claims = await oidc.verify_id_token(settings.oidc, token["id_token"], flow["nonce"])
        if oidc.personal_id(settings.oidc, claims) is None or "name" not in claims:
            extra = await oidc.userinfo(settings.oidc, token.get("access_token"), claims.get("sub"))
            claims = {**extra, **claims}
        user = await oidc.account_for(settings.oidc, claims)
    except ApiError as error:
        return await _oidc_refused(request, error)
    # The desk and field dossiers carrying the number the provider asserted become this citizen's, also those taken
    # since the last sign-in (server/dossiers/claims.py; docs/workflow.md "Desk and field intake").
    await dossier_claims.link_by_personal_id(user)
    response = RedirectResponse(_safe_next(flow.get("next")) or "/app", status_code=303)
    response.delete_cookie(oidc.FLOW_COOKIE, path=oidc.COOKIE_PATH, httponly=True, samesite="lax")
    response.set_cookie(oidc.ID_TOKEN_COOKIE, token["id_token"], max_age=SESSION_MAX_AGE, httponly=True,
                        samesite="lax", secure=request.url.scheme == "https", path=oidc.COOKIE_PATH)
    await start_session(request, response, user)
    return response


async def oidc_signout(request: Request) -> Response:
    """Ends the local session and, where the provider publishes end_session_endpoint, the provider's too."""
    settings = request.app.state.settings
    response: Response = RedirectResponse("/", status_code=303)
    if settings.oidc is not None:
        url = await oidc.end_session_url(settings.oidc, request.cookies.get(oidc.ID_TOKEN_COOKIE), _base_url(request) + "/")
        if url:
            response = RedirectResponse(url, status_code=303)
    response.delete_cookie(oidc.ID_TOKEN_COOKIE, path=oidc.COOKIE_PATH, httponly=True, samesite="lax")
    await end_session(request, response)
    return response


async def signup_page(request: Request) -> Response:
    if request.method == "GET":
        return await render(request, "signup.html")
    form = await request.form()
    try:
        check_csrf(request, form.get(CSRF_FIELD))
        await rate_limits.check(request, "signup")
        user = await accounts.register_citizen(form.get("phone"), form.get("password"), form.get("full_name"))
    except ApiError as error:
        page = await render(request, "signup.html", status=error.status, error=_message(request, error),
                            phone=str(form.get("phone", ""))[:20], full_name=str(form.get("full_name", ""))[:100])
        page.headers.update(error.headers or {})  # Retry-After on 429
        return page
    # A new citizen's next step is an application: into the app, which the session cookie signs in too.
    response = RedirectResponse("/app", status_code=303)
    await start_session(request, response, user)
    return response


async def signout(request: Request) -> Response:
    form = await request.form()
    check_csrf(request, form.get(CSRF_FIELD))
    # with an identity provider, on through /auth/oidc/signout, which ends the provider's session too
    response = RedirectResponse("/auth/oidc/signout" if request.app.state.settings.oidc else "/", status_code=303)
    await end_session(request, response)
    return response


async def dossiers_page(request: Request) -> Response:
    user = await current_user(request)
    if user is None:
        return RedirectResponse("/signin?next=" + quote("/dossiers"), status_code=303)
    return await render(request, "dossiers.html", dossiers=await dossiers_for(user, 100, 0))


async def officer_page(request: Request) -> Response:
    user = await current_user(request)
    if user is None:
        return RedirectResponse("/signin?next=" + quote("/officer"), status_code=303)
    if not access.allowed(user, "officer.area"):
        return await render(request, "message.html", status=403, title_key="forbidden_title", text_key="forbidden_text")
    return await render(request, "officer.html", dossiers=await dossiers_for(user, 100, 0))


async def switch_language(request: Request) -> Response:
    locale = request.path_params["locale"]
    response = RedirectResponse(_safe_next(request.query_params.get("next")) or "/", status_code=303)
    if locale in LOCALES:
        response.set_cookie(LANG_COOKIE, locale, max_age=365 * 24 * 3600, samesite="lax", path="/")
    return response


async def not_found(request: Request, exc: Exception) -> Response:
    if request.url.path.startswith("/api/"):
        from server.web.errors import api_error_handler
        return await api_error_handler(request, ApiError(404, "not_found", "Không có địa chỉ API này.",
                                                         "There is no such API address."))
    return await render(request, "message.html", status=404, title_key="not_found_title", text_key="not_found_text")


async def method_not_allowed(request: Request, exc: Exception) -> Response:
    from server.web.errors import api_error_handler
    return await api_error_handler(request, ApiError(405, "method_not_allowed", "Địa chỉ này không nhận phương thức "
                                                     f"{request.method}.", f"{request.method} is not allowed here."))


def _safe_next(value: object) -> str | None:
    """Only same-site paths: never redirect a person to another site after signing in."""
    if isinstance(value, str) and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value[:500]
    return None


def _message(request: Request, error: ApiError) -> str:
    return error.message if locale_of(request) == "vi" else error.message_en


page_routes = [
    Route("/", home, methods=["GET"]),
    Route("/procedures", catalog, methods=["GET"]),
    Route("/procedures/{code}", procedure_page, methods=["GET"]),
    Route("/signin", signin_page, methods=["GET", "POST"]),
    Route("/signup", signup_page, methods=["GET", "POST"]),
    Route("/signout", signout, methods=["POST"]),
    Route("/auth/oidc/start", oidc_start, methods=["GET"]),
    Route("/auth/oidc/callback", oidc_callback, methods=["GET"]),
    Route("/auth/oidc/signout", oidc_signout, methods=["GET"]),
    Route("/dossiers", dossiers_page, methods=["GET"]),
    Route("/officer", officer_page, methods=["GET"]),
    Route("/lang/{locale}", switch_language, methods=["GET"]),
]
