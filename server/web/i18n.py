"""Interface text in Vietnamese (the default) and English."""

from __future__ import annotations

from typing import Protocol

from starlette.requests import Request


class Translator(Protocol):
    """t(key, **values): the interface text for key in one language, with {values} filled in."""

    def __call__(self, key: str, **values: object) -> str: ...


LOCALES = ("vi", "en")
LANG_COOKIE = "motcua_lang"

STRINGS: dict[str, tuple[str, str]] = {
    "app_name": ("Một cửa", "One-stop shop"),
    "tagline": ("Dịch vụ công một cửa — nộp hồ sơ thủ tục hành chính, kể cả khi mạng yếu",
                "One-stop public services — file administrative procedures, even on a weak network"),
    "nav_home": ("Trang chủ", "Home"),
    "nav_catalog": ("Thủ tục", "Procedures"),
    "nav_dossiers": ("Hồ sơ của tôi", "My dossiers"),
    "nav_officer": ("Cán bộ", "Officers"),
    "nav_statistics": ("Thống kê", "Statistics"),
    "nav_signin": ("Đăng nhập", "Sign in"),
    "nav_signup": ("Đăng ký", "Sign up"),
    "nav_signout": ("Đăng xuất", "Sign out"),
    "switch_language": ("English", "Tiếng Việt"),
    "search_label": ("Tìm thủ tục", "Find a procedure"),
    "search_placeholder": ("Ví dụ: đăng ký khai sinh", "e.g. đăng ký khai sinh (birth registration)"),
    "search_button": ("Tìm", "Search"),
    "level": ("Cấp thực hiện", "Level"),
    "level_all": ("Tất cả các cấp", "All levels"),
    "level_commune": ("Cấp xã", "Commune"),
    "level_district": ("Cấp huyện", "District"),
    "level_province": ("Cấp tỉnh", "Province"),
    "results_count": ("{total} thủ tục", "{total} procedures"),
    "no_results": ("Không tìm thấy thủ tục nào. Hãy thử từ khóa ngắn hơn, có thể gõ không dấu.",
                   "No procedure found. Try fewer words; accents are optional."),
    "procedure_code": ("Mã thủ tục", "Procedure code"),
    "field": ("Lĩnh vực", "Field"),
    "processing_time": ("Thời hạn giải quyết", "Processing time"),
    "working_days": ("{days} ngày làm việc", "{days} working days"),
    "same_day": ("Trong ngày (nhận hồ sơ từ {h} giờ{m} trở đi thì trả kết quả ngày làm việc tiếp theo)",
                 "Same day (received from {h}:{mm} on: the next working day)"),
    "calendar_days": ("{days} ngày", "{days} days"),
    "working_hours": ("{days} giờ làm việc", "{days} working hours"),
    "fee": ("Phí, lệ phí", "Fees"),
    "fee_unknown": ("Theo mức do HĐND tỉnh quy định — hỏi bộ phận một cửa", "Set by the provincial council — ask the one-stop desk"),
    "days_unknown": ("Chưa công bố — hỏi bộ phận một cửa", "Not published — ask the one-stop desk"),
    "free": ("Không mất phí", "Free"),
    "online": ("Dịch vụ công trực tuyến", "Online service"),
    "online_full": ("Toàn trình", "Fully online"),
    "online_partial": ("Một phần", "Partly online"),
    "online_none": ("Nộp trực tiếp", "In person"),
    "online_unknown": ("Chưa công bố", "Not published"),
    "documents": ("Thành phần hồ sơ", "Required documents"),
    "copies": ("{n} bản", "{n} copies"),
    "original": ("bản chính", "original"),
    "optional": ("nếu có", "if any"),
    "form_fields": ("Thông tin cần khai", "Information to fill in"),
    "required_mark": ("bắt buộc", "required"),
    "legal_basis": ("Căn cứ pháp lý", "Legal basis"),
    "agency": ("Cơ quan thực hiện", "Agency"),
    "phone": ("Số điện thoại", "Phone number"),
    "password": ("Mật khẩu", "Password"),
    "full_name": ("Họ và tên", "Full name"),
    "signin_title": ("Đăng nhập", "Sign in"),
    "signup_title": ("Đăng ký tài khoản công dân", "Create a citizen account"),
    "signin_button": ("Đăng nhập", "Sign in"),
    "signin_oidc": ("Đăng nhập bằng VNeID / tài khoản định danh", "Sign in with VNeID / digital identity"),
    "signin_or_password": ("Hoặc đăng nhập bằng số điện thoại và mật khẩu", "Or sign in with your phone number and password"),
    "signup_button": ("Tạo tài khoản", "Create account"),
    "no_account": ("Chưa có tài khoản?", "No account yet?"),
    "have_account": ("Đã có tài khoản?", "Already have an account?"),
    "password_hint": ("Ít nhất 8 ký tự.", "At least 8 characters."),
    "phone_hint": ("10 chữ số, ví dụ 0912345678.", "10 digits, e.g. 0912345678."),
    "dossiers_title": ("Hồ sơ của tôi", "My dossiers"),
    "unit_dossiers_title": ("Hồ sơ của đơn vị", "The unit's dossiers"),
    "no_dossiers": ("Chưa có hồ sơ nào. Chọn một thủ tục để bắt đầu.", "No dossiers yet. Choose a procedure to start."),
    "status": ("Trạng thái", "Status"),
    # Links to a dossier's documents (docs/documents.md) and public tracking (docs/workflow.md "Tracking").
    "nav_track": ("Tra cứu hồ sơ", "Track a dossier"),
    "home_track": ("Đã nộp hồ sơ? Tra cứu tình trạng bằng mã hồ sơ trên giấy tiếp nhận.",
                   "Already filed? Track it with the code on your receipt."),
    "doc_receipt": ("Giấy tiếp nhận", "Receipt"),
    "doc_supplement_request": ("Phiếu yêu cầu bổ sung", "Supplement request"),
    "doc_refusal": ("Phiếu từ chối", "Refusal"),
    "doc_control_record": ("Phiếu kiểm soát", "Control record"),
    "officer_title": ("Khu vực cán bộ", "Officers' area"),
    # Reconciliation (docs/payments.md): the unit's bank statement and the transfers left to resolve.
    "payments_title": ("Đối soát phí, lệ phí", "Fee reconciliation"),
    "payments_link": ("Đối soát phí, lệ phí chuyển khoản", "Reconcile fees paid by transfer"),
    "payments_intro": ("Nhập sao kê tài khoản thu của {unit} (tệp CSV tải từ ngân hàng hoặc camt.053). Khoản chuyển "
                       "ghi đúng mã hồ sơ và đúng số tiền được ghi nhận ngay; các khoản còn lại liệt kê bên dưới để "
                       "cán bộ xem xét. Nhập lại cùng một sao kê không thay đổi gì.",
                       "Import the statement of {unit}'s collection account (the bank's CSV, or camt.053). Transfers "
                       "with the right dossier code and amount are recorded at once; the rest are listed below for "
                       "an officer. Importing the same statement again changes nothing."),
    "payments_file": ("Tệp sao kê", "Statement file"),
    "payments_import": ("Nhập sao kê", "Import the statement"),
    "payments_done": ("Đã đọc {lines} khoản có: {paid} ghi nhận đã nộp, {listed} cần xem xét, {again} đã nhập "
                      "trước đây.", "Read {lines} credit lines: {paid} recorded as paid, {listed} to look at, "
                      "{again} imported before."),
    "payments_waiting": ("Khoản chuyển cần xem xét", "Transfers to look at"),
    "payments_none": ("Không có khoản nào cần xem xét.", "Nothing to look at."),
    "payments_date": ("Ngày", "Date"), "payments_amount": ("Số tiền", "Amount"),
    "payments_note": ("Nội dung", "Note"), "payments_dossier": ("Hồ sơ", "Dossier"),
    "payments_outcome": ("Tình trạng", "Status"),
    "outcome_partial": ("Nộp thiếu", "Partial"), "outcome_overpaid": ("Nộp thừa", "Overpaid"),
    "outcome_duplicate": ("Nộp trùng", "Duplicate"), "outcome_unmatched": ("Không khớp mã hồ sơ", "No dossier code"),
    "outcome_refused": ("Hồ sơ không còn chờ nộp", "Dossier no longer awaiting payment"),
    # Resolving a listed line (server/payments/resolve.py).
    "payments_resolve": ("Xử lý", "Resolve"),
    "payments_dossier_code": ("Mã hồ sơ được nộp", "Code of the dossier paid"),
    "payments_confirm_amount": ("Đã kiểm tra: số tiền khác phí đã ấn định vẫn ghi nhận là đã nộp",
                                "Checked: record it as paid although the amount differs from the fixed fee"),
    "payments_pay": ("Ghi nhận đã nộp", "Record as paid"),
    "payments_reason": ("Lý do bỏ qua (đã hoàn tiền, không phải phí…)", "Why set aside (refunded, not a fee…)"),
    "payments_dismiss": ("Bỏ qua", "Set aside"),
    "payments_resolved_pay": ("Đã ghi nhận khoản chuyển là phí đã nộp của hồ sơ.",
                              "The transfer is recorded as the dossier's payment."),
    "payments_resolved_dismiss": ("Đã bỏ qua khoản chuyển; không hồ sơ nào thay đổi.",
                                  "The transfer is set aside; no dossier changed."),
    "payments_show_all": ("Xem cả các khoản đã xử lý", "Show the resolved lines too"),
    "payments_show_waiting": ("Chỉ xem các khoản cần xem xét", "Show only the lines to look at"),
    "resolution_paid": ("Đã ghi nhận nộp", "Recorded as paid"),
    "resolution_dismissed": ("Đã bỏ qua", "Set aside"),
    "officer_intro": ("Đơn vị: {unit}. Vai trò: {role}.", "Unit: {unit}. Role: {role}."),
    "role_citizen": ("Công dân", "Citizen"),
    "role_intake": ("Cán bộ tiếp nhận", "Intake officer"),
    "role_specialist": ("Chuyên viên", "Specialist"),
    "role_leader": ("Lãnh đạo", "Leader"),
    "role_admin": ("Quản trị", "Administrator"),
    "not_found_title": ("Không tìm thấy trang", "Page not found"),
    "not_found_text": ("Không có trang này. Hãy quay về trang chủ hoặc tìm thủ tục.",
                       "This page does not exist. Go back home or search for a procedure."),
    "server_error_title": ("Máy chủ gặp lỗi", "Server error"),
    "server_error_text": ("Máy chủ gặp lỗi ngoài dự kiến khi xử lý yêu cầu này. Vui lòng thử lại sau ít phút; "
                          "nếu lỗi còn, hãy báo cho bộ phận một cửa kèm mã yêu cầu dưới đây.",
                          "The server met an unexpected error handling this request. Please try again in a few "
                          "minutes; if it persists, tell the one-stop office the request id below."),
    "busy_title": ("Máy chủ đang bận", "Server busy"),
    "busy_text": ("Máy chủ đang bận ghi dữ liệu khác. Vui lòng thử lại sau ít giây.",
                  "The server is busy writing other data. Please try again in a few seconds."),
    "request_id": ("Mã yêu cầu", "Request id"),
    "forbidden_title": ("Không có quyền truy cập", "Not allowed"),
    "forbidden_text": ("Tài khoản này không được xem trang này.", "Your account may not see this page."),
    "home_catalog_intro": ("Tra cứu {count} thủ tục hành chính: giấy tờ cần chuẩn bị, thời hạn, lệ phí.",
                           "Look up {count} administrative procedures: documents, time limits, fees."),
    "home_offline": ("Ứng dụng vẫn dùng được khi mất sóng: hồ sơ được lưu trên máy và tự gửi khi có mạng.",
                     "Works without signal: dossiers are kept on the phone and sent when the network returns."),
    "signed_in_as": ("Đang đăng nhập: {name}", "Signed in as {name}"),
    # The front door to the app (/app): every page offers it, a procedure opens in it (docs/pwa.md "Front door").
    "open_app": ("Mở ứng dụng", "Open the app"),
    "menu": ("Menu", "Menu"),
    "install_app": ("Cài ứng dụng", "Install the app"),
    "app_offer": ("Soạn và nộp hồ sơ trong ứng dụng Một cửa, kể cả khi mất sóng.",
                  "Draft and submit applications in the Một cửa app, even without signal."),
    "apply_in_app": ("Nộp hồ sơ", "Apply"),
    "apply_in_app_hint": ("Mở thủ tục này trong ứng dụng để soạn và nộp hồ sơ.",
                          "Opens this procedure in the app, to draft and submit an application."),
    "new_dossier_in_app": ("Nộp hồ sơ mới", "Start a new application"),
    "previous": ("Trang trước", "Previous"),
    "next": ("Trang sau", "Next"),
}


def locale_of(request: Request) -> str:
    chosen = request.cookies.get(LANG_COOKIE)
    return chosen if chosen in LOCALES else "vi"


def translator(locale: str) -> Translator:
    index = LOCALES.index(locale) if locale in LOCALES else 0

    def t(key: str, **values: object) -> str:
        text = STRINGS[key][index]
        return text.format(**values) if values else text

    return t


def working_days(days: object, t: Translator, unit: object = "working_days", cutoff: object = None) -> str:
    """A legal processing time as people say it: same day (with its cut-off hour), N working days, N days,
    N working hours, or not published (docs/workflow.md "Deadlines")."""
    if days is None:
        return t("days_unknown")
    number = float(days)  # type: ignore[arg-type]
    if number == 0:
        hour, minute = (int(part) for part in str(cutoff or "15:00").split(":"))
        return t("same_day", h=str(hour), m=f" {minute:02d}" if minute else "", mm=f"{minute:02d}")
    key = {"days": "calendar_days", "hours": "working_hours"}.get(str(unit), "working_days")
    return t(key, days=f"{number:g}".replace(".", ","))


def pick(value: object, locale: str) -> str:
    """A label from the data: {"vi": …, "en": …} in the chosen language, falling back to Vietnamese."""
    if isinstance(value, dict):
        return str(value.get(locale) or value.get("vi") or "")
    return "" if value is None else str(value)
