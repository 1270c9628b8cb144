"""Statistics for leaders: GET /statistics (the dashboard page), GET /api/statistics (JSON) and
GET /statistics.csv (for Excel). A leader sees their own unit (a province-level leader: any unit of the
province); an administrator sees the province of their unit and picks a unit. Figures: server/statistics/figures.py.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import datetime
from urllib.parse import quote, urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from server.accounts import access

from server.statistics import charts
from server.web.errors import ApiError
from server.web.i18n import locale_of
from server.models import ADMIN, AdministrativeUnit, User
from server.accounts.sessions import current_user
from server.web.guard import requires
from server.workflow.working_time import VIETNAM
from server.statistics.figures import CHANNELS, MAX_YEAR, MIN_YEAR, RATINGS, Period, Scope, Statistics, compute, \
    province_of, scope_of, share, units_in

# (Vietnamese, English): the page's own words, kept beside the page rather than in the shared i18n table.
TEXT: dict[str, tuple[str, str]] = {
    "title": ("Thống kê giải quyết thủ tục hành chính", "Administrative procedure statistics"),
    "unit": ("Đơn vị", "Unit"), "year": ("Năm", "Year"), "month": ("Tháng", "Month"),
    "whole_year": ("Cả năm", "Whole year"), "show": ("Xem", "Show"), "csv": ("Tải CSV (Excel)", "Download CSV (Excel)"),
    "province_all": ("Toàn tỉnh", "Whole province"),
    "received": ("Hồ sơ tiếp nhận", "Dossiers received"), "resolved": ("Đã giải quyết", "Resolved"),
    "pending": ("Đang giải quyết", "Pending"), "overdue": ("Quá hạn (chưa giải quyết)", "Overdue (pending)"),
    "early": ("Trước hạn", "Early"), "on_time": ("Đúng hạn", "On time"), "late": ("Quá hạn", "Late"),
    "without_due": ("Không có hạn", "No appointment"),
    "extended": ("Đã xin lỗi, gia hạn (tính theo hạn gốc)", "Extended after an apology (judged on the original date)"),
    "timeliness_note": ("Trước hạn, đúng hạn, quá hạn: so ngày giải quyết xong (có kết quả) với ngày hẹn trả ban đầu; "
                        "hồ sơ được gia hạn sau văn bản xin lỗi vẫn tính theo ngày hẹn ban đầu.",
                        "Early, on time, late: the day processing ended (result ready) against the original "
                        "appointment; a dossier extended after an apology is still judged on the original date."),
    "channel_direct": ("Trực tiếp", "At the desk"), "channel_online": ("Trực tuyến", "Online"),
    "channel_postal": ("Bưu chính công ích", "Public postal service"),
    "channel_field": ("Tiếp nhận lưu động", "Field intake"),
    "by_channel": ("Hồ sơ tiếp nhận theo kênh", "Dossiers received by channel"),
    "by_month_channel": ("Hồ sơ tiếp nhận theo tháng và kênh", "Dossiers received by month and channel"),
    "by_month_timeliness": ("Hồ sơ đã giải quyết theo tháng: trước hạn, đúng hạn, quá hạn",
                            "Dossiers resolved by month: early, on time, late"),
    "online_by_month": ("Tỷ lệ hồ sơ trực tuyến theo tháng", "Online share by month"),
    "timeliness": ("Kết quả giải quyết", "Timeliness"),
    "satisfaction": ("Đánh giá mức độ hài lòng", "Satisfaction ratings"),
    "rating_very_satisfied": ("Rất hài lòng", "Very satisfied"), "rating_satisfied": ("Hài lòng", "Satisfied"),
    "rating_unsatisfied": ("Không hài lòng", "Unsatisfied"), "rated": ("Lượt đánh giá", "Ratings"),
    "procedures": ("Tỷ lệ trực tuyến theo thủ tục", "Online share per procedure"),
    "procedure": ("Thủ tục", "Procedure"), "online_level": ("Mức trực tuyến", "Online level"),
    "online_full": ("Toàn trình", "Fully online"), "online_partial": ("Một phần", "Partly online"),
    "online_none": ("Không", "None"), "online_unknown": ("Chưa rõ", "Not known"), "online": ("Trực tuyến", "Online"), "share": ("Tỷ lệ", "Share"),
    "count": ("Số hồ sơ", "Dossiers"), "indicator": ("Chỉ tiêu", "Indicator"),
    "index": ("Chỉ số phục vụ người dân, doanh nghiệp (Quyết định 766/QĐ-TTg), ước tính",
              "Service index (Decision 766/QĐ-TTg), estimate"),
    "index_note": ("Chỉ tính các chỉ tiêu có dữ liệu trong hệ thống: đạt {points} / {max} điểm tính được "
                   "(trên tổng 100 điểm); các chỉ tiêu còn lại cần dữ liệu mà hệ thống chưa có.",
                   "Only the indicators the system holds data for: {points} of the {max} computable points "
                   "(of 100); the others need data the system does not hold."),
    "points": ("Điểm", "Points"), "max_points": ("Tối đa", "Max"), "not_computed": ("Chưa tính được", "Not computed"),
    "group_transparency": ("Công khai, minh bạch", "Transparency"),
    "group_timeliness": ("Tiến độ, kết quả giải quyết", "Timeliness of processing"),
    "group_digitisation": ("Số hóa hồ sơ", "Digitisation"),
    "group_online": ("Cung cấp dịch vụ trực tuyến", "Online services"),
    "group_satisfaction": ("Mức độ hài lòng", "Satisfaction"),
    "part_publication": ("Công bố, công khai TTHC; đồng bộ hồ sơ lên Cổng DVC quốc gia",
                         "Publication of procedures; dossiers synchronised to the national portal"),
    "part_on_time": ("Tỷ lệ hồ sơ giải quyết trước hạn và đúng hạn", "Dossiers resolved early or on time"),
    "part_digitisation": ("Số hóa hồ sơ, kết quả điện tử, tái sử dụng dữ liệu",
                          "Digitised dossiers, electronic results, data reuse"),
    "part_online_procedures": ("Tỷ lệ thủ tục cung cấp dịch vụ công trực tuyến",
                               "Procedures offered as online services"),
    "part_online_dossiers": ("Tỷ lệ hồ sơ nộp trực tuyến (thủ tục có DVC trực tuyến)",
                             "Dossiers filed online (procedures offered online)"),
    "part_online_payment": ("Thanh toán trực tuyến", "Online payment"),
    "part_satisfaction": ("Tỷ lệ hài lòng trong tiếp nhận, giải quyết TTHC",
                          "Satisfaction in receiving and resolving dossiers"),
    "part_feedback": ("Xử lý phản ánh, kiến nghị", "Handling of complaints and suggestions"),
    "period_year": ("năm {year}", "year {year}"), "period_month": ("tháng {month}/{year}", "{month}/{year}"),
    "month_short": ("T{m}", "M{m}"),
    "pending_note": ("Đang giải quyết và quá hạn: hồ sơ tiếp nhận trong kỳ chưa giải quyết xong, tính đến lúc xem.",
                     "Pending and overdue: dossiers received in the period and not finished, as of now."),
    "no_data": ("Chưa có hồ sơ nào trong kỳ này.", "No dossiers in this period."),
}


Text = Callable[..., str]  # a TEXT entry in the reader's language, formatted with keyword values


def text(locale: str) -> Text:
    index = 0 if locale != "en" else 1

    def st(key: str, **values: object) -> str:
        value = TEXT[key][index]
        return value.format(**values) if values else value

    return st


def _bad(name: str, vi: str, en: str) -> ApiError:
    return ApiError(400, "invalid_parameter", vi, en, details=[{"path": name, "code": "invalid"}])


def read_period(request: Request) -> Period:
    """?year=YYYY&month=M; the current year (in Vietnam) when absent."""
    params = request.query_params
    raw_year, raw_month = params.get("year", "").strip(), params.get("month", "").strip()
    year = datetime.now(VIETNAM).year
    if raw_year:
        if not (raw_year.isascii() and raw_year.isdigit()) or not MIN_YEAR <= int(raw_year) <= MAX_YEAR:
            raise _bad("year", f"Năm phải là số từ {MIN_YEAR} đến {MAX_YEAR}.",
                       f"year must be a number from {MIN_YEAR} to {MAX_YEAR}.")
        year = int(raw_year)
    month = None
    if raw_month:
        if not (raw_month.isascii() and raw_month.isdigit()) or not 1 <= int(raw_month) <= 12:
            raise _bad("month", "Tháng phải là số từ 1 đến 12 (để trống để xem cả năm).",
                       "month must be a number from 1 to 12 (leave it empty for the whole year).")
        month = int(raw_month)
    return Period(year, month)


async def read_scope(user: User, request: Request) -> tuple[Scope, AdministrativeUnit | None]:
    """The unit asked for, if this user may see it; also the province whose units they may pick (or None)."""
    access.check(user, "statistics.read")
    if user.unit_id is None:
        raise ApiError(403, "no_unit", "Tài khoản này chưa gắn với đơn vị nào nên chưa xem được thống kê.",
                       "Your account has no unit, so it cannot see statistics.")
    own = await AdministrativeUnit.get(id=user.unit_id)
    province = await province_of(own)
    # A leader of a commune sees their commune; an administrator, or a leader of the province, the province.
    picker = province if user.role == ADMIN or own.level == "province" else None
    default = province if picker else own
    code = request.query_params.get("unit", "").strip()
    if not code or code == default.code:
        return await scope_of(default), picker
    if len(code) > 16 or not code.replace(".", "").isalnum():
        raise _bad("unit", "Mã đơn vị không hợp lệ.", "Invalid unit code.")
    if picker is None:
        raise ApiError(403, "forbidden_unit", "Chỉ xem được thống kê của đơn vị mình.",
                       "You may see only your own unit's statistics.")
    allowed = await scope_of(picker)
    unit = await AdministrativeUnit.filter(code=code, id__in=list(allowed.unit_ids)).order_by("-valid_from").first()
    if unit is None:
        raise ApiError(404, "unknown_unit", f"Không có đơn vị mã {code} trong tỉnh của tài khoản này.",
                       f"There is no unit {code} in your province.")
    return await scope_of(unit), picker


async def _statistics(request: Request, user: User) -> tuple[Statistics, AdministrativeUnit | None]:
    period = read_period(request)
    scope, picker = await read_scope(user, request)
    return await compute(scope, period), picker


@requires("statistics.read")
async def api_statistics(request: Request, user: User) -> JSONResponse:
    stats, _ = await _statistics(request, user)
    return JSONResponse(stats.to_json())


def _pct(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


def csv_rows(stats: Statistics, st: Text) -> list[list[object]]:
    """The dashboard as rows: key figures, then the months, then the procedures, then the 766 index."""
    timed = stats.early + stats.on_time + stats.late
    label = st("period_month", month=stats.period.month, year=stats.period.year) if stats.period.month \
        else st("period_year", year=stats.period.year)
    rows: list[list[object]] = [[st("unit"), f"{stats.unit_name} ({stats.unit_code})"], [st("title"), label], [],
                                [st("indicator"), st("count"), st("share") + " (%)"],
                                [st("received"), stats.received, ""]]
    rows += [[st("channel_" + c), n, _pct(share(n, stats.received))] for c, n in stats.by_channel.items()]
    rows += [[st("resolved"), stats.resolved, ""]]
    rows += [[st(key), getattr(stats, key), _pct(share(getattr(stats, key), timed))]
             for key in ("early", "on_time", "late")]
    rows += [[st("without_due"), stats.without_due, ""], [st("extended"), stats.extended, ""],
             [st("pending"), stats.pending, ""],
             [st("overdue"), stats.overdue, ""], [st("rated"), stats.rated, ""]]
    rows += [[st("rating_" + value), stats.ratings[value], _pct(share(stats.ratings[value], stats.rated))]
             for value in RATINGS]
    rows += [[], [st("month"), st("received"), *(st("channel_" + c) for c in CHANNELS), st("resolved"),
                  st("early"), st("on_time"), st("late"), st("online") + " (%)"]]
    rows += [[m.month, m.total_received, *(m.received[c] for c in CHANNELS), m.resolved, m.early, m.on_time, m.late,
              _pct(m.online_share)] for m in stats.months]
    rows += [[], [st("procedure"), st("procedure"), st("online_level"), st("received"), st("online"),
                  st("share") + " (%)"]]
    rows += [[p.code, p.name, st("online_" + p.online_level), p.received, p.online, _pct(p.online_share)]
             for p in stats.procedures]
    rows += [[], [st("index"), st("indicator"), st("max_points"), st("share") + " (%)", st("points")]]
    rows += [[st("group_" + i.group), st("part_" + i.key), i.max_points, _pct(i.ratio),
              st("not_computed") if not i.computed else "" if i.points is None else f"{i.points:.2f}"]
             for i in stats.index]
    return rows


@requires("statistics.read")
async def statistics_csv(request: Request, user: User) -> Response:
    stats, _ = await _statistics(request, user)
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(csv_rows(stats, text(locale_of(request))))
    name = f"thong-ke-{stats.unit_code}-{stats.period.year}" + (f"-{stats.period.month:02d}" if stats.period.month else "")
    # A byte-order mark makes Excel read the file as UTF-8, so Vietnamese letters show correctly.
    return Response(("\ufeff" + out.getvalue()).encode("utf-8"), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})


def chart_set(stats: Statistics, st: Text) -> dict[str, str]:
    labels = [st("month_short", m=m.month) for m in stats.months]
    channel_series = [charts.Series(st("channel_" + c), [m.received[c] for m in stats.months]) for c in CHANNELS]
    timeliness = [charts.Series(st("early"), [m.early for m in stats.months], "#2e8540"),
                  charts.Series(st("on_time"), [m.on_time for m in stats.months], "#1f5fa8"),
                  charts.Series(st("late"), [m.late for m in stats.months], "#b3261e")]
    year = st("period_year", year=stats.period.year)
    return {
        "channels": charts.bars(f"{st('by_channel')} ({st('received').lower()})",
                                [(st("channel_" + c), n) for c, n in stats.by_channel.items()]),
        "months_channel": charts.stacked_bars(f"{st('by_month_channel')}, {year}", labels, channel_series),
        "months_timeliness": charts.stacked_bars(f"{st('by_month_timeliness')}, {year}", labels, timeliness),
        "online": charts.line(f"{st('online_by_month')}, {year}", labels, [m.online_share for m in stats.months]),
        "ratings": charts.bars(st("satisfaction"), [(st("rating_" + v), stats.ratings[v]) for v in RATINGS],
                               color="#2e8540"),
    }


async def statistics_page(request: Request) -> Response:
    from server.web.pages import render

    user = await current_user(request)
    if user is None:
        return RedirectResponse("/signin?next=" + quote(str(request.url.path)), status_code=303)
    st = text(locale_of(request))
    if not access.allowed(user, "statistics.read"):
        return await render(request, "message.html", status=403, title_key="forbidden_title",
                            text_key="forbidden_text")
    try:
        period = read_period(request)
        scope, picker = await read_scope(user, request)
    except ApiError as error:
        message = error.message if locale_of(request) == "vi" else error.message_en
        return await render(request, "statistics.html", status=error.status, st=st, error=message, stats=None)
    stats = await compute(scope, period)
    query = {"unit": scope.unit.code, "year": period.year, "month": period.month or ""}
    return await render(request, "statistics.html", st=st, stats=stats, error=None, charts=chart_set(stats, st),
                        units=await units_in(picker) if picker else [], picker=picker, share=share,
                        csv_link="/statistics.csv?" + urlencode(query), years=_years(period.year),
                        number=charts.number, pct=percent_label)


def percent_label(value: float | None) -> str:
    """25,8 % as Vietnamese writes it; a dash when there is nothing to divide by."""
    return "—" if value is None else charts.number(value) + " %"


def _years(selected: int) -> list[int]:
    this_year = datetime.now(VIETNAM).year
    return sorted({*range(this_year - 5, this_year + 1), selected}, reverse=True)


api_routes = [  # under /api
    Route("/statistics", api_statistics, methods=["GET"]),
]

page_routes = [
    Route("/statistics", statistics_page, methods=["GET"]),
    Route("/statistics.csv", statistics_csv, methods=["GET"]),
]
