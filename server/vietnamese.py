"""Vietnamese data: names, search keys, mobile numbers, personal identifiers, dates.

Pure functions, no I/O. The rules and their sources are in docs/domain.md
and docs/forms.md ("CCCD").
"""
from __future__ import annotations

import re
import unicodedata
from datetime import date

__all__ = [
    "CCCD_PROBLEMS",
    "PROVINCE_CODES_BEFORE_2025",
    "cccd_problems",
    "fold",
    "format_date_vi",
    "is_cmnd",
    "nfc",
    "normalize_phone",
]


def nfc(text: str) -> str:
    """Unicode NFC: the one form in which names and text are stored.

    A phone keyboard may send "Nguyễn" decomposed (e + combining marks); stored
    composed, the same name compares equal and counts the same length everywhere.
    """
    return unicodedata.normalize("NFC", text)


def fold(text: str) -> str:
    """The search key (khóa tìm kiếm): "Đăng ký khai sinh" -> "dang ky khai sinh".

    Lower-cased before decomposing, so that a mark produced by lower-casing
    (e.g. "İ" -> "i" + dot above) is dropped too and fold stays idempotent.
    """
    decomposed = unicodedata.normalize("NFD", nfc(text).lower())
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    # đ is a letter of its own, not d with a mark: NFD leaves it alone.
    bare = bare.replace("đ", "d").replace("Đ", "d")
    return " ".join(bare.split())


# -- mobile numbers (số điện thoại di động) ----------------------------------

_PHONE_SEPARATORS = re.compile(r"[ .\-\t\u00a0]")
# docs/domain.md: ^(?:\+?84|0)(3|5|7|8|9)\d{8}$ ; [0-9] rather than \d, which in
# Python also matches other scripts' digits.
_MOBILE = re.compile(r"(?:\+?84|0)([35789][0-9]{8})")
_PHONE_MAX_INPUT = 32  # longer input cannot be a phone number, whatever the separators


def normalize_phone(text: str) -> str | None:
    """A Vietnamese mobile number as "0xxxxxxxxx", or None when it is not one.

    Accepts +84 / 84 / 0 prefixes and spaces, dots and dashes between digits.
    """
    if not isinstance(text, str) or len(text) > _PHONE_MAX_INPUT:
        return None
    match = _MOBILE.fullmatch(_PHONE_SEPARATORS.sub("", text.strip()))
    return "0" + match.group(1) if match else None


# -- personal identification number (số định danh cá nhân / CCCD) -------------

# Province (or city) where the birth was registered, the 63 units before 2025:
# Circular 07/2016/TT-BCA Appendix I (kept by Circular 59/2021/TT-BCA), for
# Decree 137/2015/NĐ-CP Art. 13. The codes are not contiguous. The number is
# for life: the 34 provinces of 2025 never apply here.
PROVINCE_CODES_BEFORE_2025: dict[str, str] = {
    "001": "Hà Nội",
    "002": "Hà Giang",
    "004": "Cao Bằng",
    "006": "Bắc Kạn",
    "008": "Tuyên Quang",
    "010": "Lào Cai",
    "011": "Điện Biên",
    "012": "Lai Châu",
    "014": "Sơn La",
    "015": "Yên Bái",
    "017": "Hòa Bình",
    "019": "Thái Nguyên",
    "020": "Lạng Sơn",
    "022": "Quảng Ninh",
    "024": "Bắc Giang",
    "025": "Phú Thọ",
    "026": "Vĩnh Phúc",
    "027": "Bắc Ninh",
    "030": "Hải Dương",
    "031": "Hải Phòng",
    "033": "Hưng Yên",
    "034": "Thái Bình",
    "035": "Hà Nam",
    "036": "Nam Định",
    "037": "Ninh Bình",
    "038": "Thanh Hóa",
    "040": "Nghệ An",
    "042": "Hà Tĩnh",
    "044": "Quảng Bình",
    "045": "Quảng Trị",
    "046": "Thừa Thiên Huế",
    "048": "Đà Nẵng",
    "049": "Quảng Nam",
    "051": "Quảng Ngãi",
    "052": "Bình Định",
    "054": "Phú Yên",
    "056": "Khánh Hòa",
    "058": "Ninh Thuận",
    "060": "Bình Thuận",
    "062": "Kon Tum",
    "064": "Gia Lai",
    "066": "Đắk Lắk",
    "067": "Đắk Nông",
    "068": "Lâm Đồng",
    "070": "Bình Phước",
    "072": "Tây Ninh",
    "074": "Bình Dương",
    "075": "Đồng Nai",
    "077": "Bà Rịa - Vũng Tàu",
    "079": "Hồ Chí Minh",
    "080": "Long An",
    "082": "Tiền Giang",
    "083": "Bến Tre",
    "084": "Trà Vinh",
    "086": "Vĩnh Long",
    "087": "Đồng Tháp",
    "089": "An Giang",
    "091": "Kiên Giang",
    "092": "Cần Thơ",
    "093": "Hậu Giang",
    "094": "Sóc Trăng",
    "095": "Bạc Liêu",
    "096": "Cà Mau",
}

# Problem codes returned by cccd_problems, in the order they are checked.
CCCD_PROBLEMS = (
    "wrong_length",      # not 12 characters
    "not_digits",        # something other than 0-9
    "unknown_province",  # PPP not on the 63-province list
    "century_mismatch",  # G does not match the century of the birth year
    "year_mismatch",     # YY is not the last two digits of the birth year
    "sex_mismatch",      # G even = male, odd = female
)

_DIGITS = re.compile(r"[0-9]+")
_FIRST_CENTURY = 1900  # G = 0/1: 1900-1999, 2/3: 2000-2099, ... 8/9: 2300-2399


def cccd_problems(
    number: str, birth_date: date | None = None, sex: str | None = None
) -> list[str]:
    """Problems with a 12-digit number PPP G YY NNNNNN; empty when it is valid.

    birth_date and sex ("male" / "female"), when given, are compared with G and
    YY. There is no check digit, so a well-formed number can still be wrong.
    """
    if len(number) != 12:
        return ["wrong_length"]
    if not _DIGITS.fullmatch(number):
        return ["not_digits"]
    problems: list[str] = []
    if number[:3] not in PROVINCE_CODES_BEFORE_2025:
        problems.append("unknown_province")
    g, yy = int(number[3]), int(number[4:6])
    if birth_date is not None:
        if _FIRST_CENTURY + (g // 2) * 100 != birth_date.year // 100 * 100:
            problems.append("century_mismatch")
        if yy != birth_date.year % 100:
            problems.append("year_mismatch")
    if sex in ("male", "female") and ("male" if g % 2 == 0 else "female") != sex:
        problems.append("sex_mismatch")
    return problems


def is_cmnd(number: str) -> bool:
    """An old identity card number (chứng minh nhân dân): 9 digits, still in records."""
    return isinstance(number, str) and len(number) == 9 and bool(_DIGITS.fullmatch(number))


# -- dates ----------------------------------------------------------------------

def format_date_vi(d: date) -> str:
    """The date as printed on Vietnamese administrative documents: "ngày 05 tháng 3 năm 2025".

    Decree 30/2020/NĐ-CP, Appendix I (place and date of issue): a zero goes before day numbers below 10 and
    before the months 1 and 2 only ("tháng 01", "tháng 02", but "tháng 3" … "tháng 12")."""
    month = f"{d.month:02d}" if d.month <= 2 else str(d.month)
    return f"ngày {d.day:02d} tháng {month} năm {d.year:04d}"
