"""Server-rendered pages (jinja2): readable on any phone with or without JavaScript."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote, urlencode

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from server import access, accounts, rate_limits
from server.api.session import client_address
from server.catalog import LEVELS, current_version, search_procedures
from server.dossiers import STATUS_NAMES, dossiers_for
from server.errors import ApiError
from server.i18n import LANG_COOKIE, LOCALES, locale_of, pick, translator, working_days
from server.models import Procedure
from server.sessions import CSRF_FIELD, check_csrf, csrf_token, current_user, end_session, set_csrf_cookie, start_session

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "pwa" / "templates"
templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
PAGE_SIZE = 30


async def render(request: Request, name: str, status: int = 200, **context) -> Response:
    locale = locale_of(request)
    user = await current_user(request)
    t = translator(locale)
    response = templates.TemplateResponse(request, name, {
        "t": t, "days": lambda value: working_days(value, t), "locale": locale, "pick": lambda value: pick(value, locale), "user": user,
        "csrf_token": csrf_token(request), "csrf_field": CSRF_FIELD, "status_names": STATUS_NAMES,
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
    start_session(request, response, user)
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
    response = RedirectResponse("/dossiers", status_code=303)
    start_session(request, response, user)
    return response


async def signout(request: Request) -> Response:
    form = await request.form()
    check_csrf(request, form.get(CSRF_FIELD))
    response = RedirectResponse("/", status_code=303)
    end_session(request, response)
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
    if not access.may(user, "officer.area"):
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
        from server.errors import api_error_handler
        return await api_error_handler(request, ApiError(404, "not_found", "Không có địa chỉ API này.",
                                                         "There is no such API address."))
    return await render(request, "message.html", status=404, title_key="not_found_title", text_key="not_found_text")


async def method_not_allowed(request: Request, exc: Exception) -> Response:
    from server.errors import api_error_handler
    return await api_error_handler(request, ApiError(405, "method_not_allowed", "Địa chỉ này không nhận phương thức "
                                                     f"{request.method}.", f"{request.method} is not allowed here."))


def _safe_next(value: object) -> str | None:
    """Only same-site paths: never redirect a person to another site after signing in."""
    if isinstance(value, str) and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value[:500]
    return None


def _message(request: Request, error: ApiError) -> str:
    return error.message if locale_of(request) == "vi" else error.message_en


routes = [
    Route("/", home, methods=["GET"]),
    Route("/procedures", catalog, methods=["GET"]),
    Route("/procedures/{code}", procedure_page, methods=["GET"]),
    Route("/signin", signin_page, methods=["GET", "POST"]),
    Route("/signup", signup_page, methods=["GET", "POST"]),
    Route("/signout", signout, methods=["POST"]),
    Route("/dossiers", dossiers_page, methods=["GET"]),
    Route("/officer", officer_page, methods=["GET"]),
    Route("/lang/{locale}", switch_language, methods=["GET"]),
]
