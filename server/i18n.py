"""Interface text in Vietnamese (the default) and English."""

from __future__ import annotations

from starlette.requests import Request

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
    "same_day": ("Trong ngày", "Same day"),
    "fee": ("Phí, lệ phí", "Fees"),
    "fee_unknown": ("Theo mức do HĐND tỉnh quy định — hỏi bộ phận một cửa", "Set by the provincial council — ask the one-stop desk"),
    "days_unknown": ("Chưa công bố — hỏi bộ phận một cửa", "Not published — ask the one-stop desk"),
    "free": ("Không mất phí", "Free"),
    "online": ("Dịch vụ công trực tuyến", "Online service"),
    "online_full": ("Toàn trình", "Fully online"),
    "online_partial": ("Một phần", "Partly online"),
    "online_none": ("Nộp trực tiếp", "In person"),
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
    "officer_intro": ("Đơn vị: {unit}. Vai trò: {role}.", "Unit: {unit}. Role: {role}."),
    "role_citizen": ("Công dân", "Citizen"),
    "role_intake": ("Cán bộ tiếp nhận", "Intake officer"),
    "role_specialist": ("Chuyên viên", "Specialist"),
    "role_leader": ("Lãnh đạo", "Leader"),
    "role_admin": ("Quản trị", "Administrator"),
    "not_found_title": ("Không tìm thấy trang", "Page not found"),
    "not_found_text": ("Trang bạn tìm không có. Hãy quay về trang chủ hoặc tìm thủ tục.",
                       "This page does not exist. Go back home or search for a procedure."),
    "forbidden_title": ("Không có quyền truy cập", "Not allowed"),
    "forbidden_text": ("Tài khoản của bạn không được xem trang này.", "Your account may not see this page."),
    "home_catalog_intro": ("Tra cứu {count} thủ tục hành chính: giấy tờ cần chuẩn bị, thời hạn, lệ phí.",
                           "Look up {count} administrative procedures: documents, time limits, fees."),
    "home_offline": ("Ứng dụng vẫn dùng được khi mất sóng: hồ sơ được lưu trên máy và tự gửi khi có mạng.",
                     "Works without signal: dossiers are kept on the phone and sent when the network returns."),
    "signed_in_as": ("Đang đăng nhập: {name}", "Signed in as {name}"),
    "previous": ("Trang trước", "Previous"),
    "next": ("Trang sau", "Next"),
}


def locale_of(request: Request) -> str:
    chosen = request.cookies.get(LANG_COOKIE)
    return chosen if chosen in LOCALES else "vi"


def translator(locale: str):
    index = LOCALES.index(locale) if locale in LOCALES else 0

    def t(key: str, **values: object) -> str:
        text = STRINGS[key][index]
        return text.format(**values) if values else text

    return t


def working_days(days: object, t) -> str:
    """A legal processing time as people say it: same day, N working days, or not published."""
    if days is None:
        return t("days_unknown")
    number = float(days)  # type: ignore[arg-type]
    if number == 0:
        return t("same_day")
    return t("working_days", days=f"{number:g}".replace(".", ","))


def pick(value: object, locale: str) -> str:
    """A label from the data: {"vi": …, "en": …} in the chosen language, falling back to Vietnamese."""
    if isinstance(value, dict):
        return str(value.get(locale) or value.get("vi") or "")
    return "" if value is None else str(value)
