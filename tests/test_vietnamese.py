"""Vietnamese data helpers: what each accepts, refuses and returns."""
import unicodedata
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.vietnamese import (
    PROVINCE_CODES_BEFORE_2025,
    cccd_problems,
    fold,
    format_date_vi,
    is_cmnd,
    nfc,
    normalize_phone,
)

# "Nguyễn" typed on a keyboard that sends base letters and combining marks.
DECOMPOSED_NGUYEN = "Nguye\u0302\u0303n"


# -- nfc / fold -----------------------------------------------------------------

def test_nfc_composes_a_decomposed_name():
    assert DECOMPOSED_NGUYEN != "Nguyễn"
    assert nfc(DECOMPOSED_NGUYEN) == "Nguyễn"
    assert len(nfc(DECOMPOSED_NGUYEN)) == 6


def test_fold_makes_the_unaccented_query_match_the_title():
    assert fold("Đăng ký khai sinh") == "dang ky khai sinh"
    assert fold("dang ky khai sinh") == fold("Đăng  ký\tkhai sinh ")


def test_fold_turns_d_with_stroke_into_d_in_both_cases():
    assert fold("Đỗ Đức Đạt") == "do duc dat"
    assert fold("đường") == "duong"


def test_fold_gives_the_same_key_for_composed_and_decomposed_input():
    assert fold(DECOMPOSED_NGUYEN) == fold("Nguyễn") == "nguyen"


def test_fold_collapses_and_trims_whitespace():
    assert fold("  Ủy   ban\nnhân dân  ") == "uy ban nhan dan"


@given(st.text())
def test_fold_is_idempotent(text):
    assert fold(fold(text)) == fold(text)


@given(st.text())
def test_fold_leaves_no_combining_marks_capitals_or_d_with_stroke(text):
    key = fold(text)
    assert not any(unicodedata.combining(ch) for ch in key)
    assert "đ" not in key and "Đ" not in key
    assert "  " not in key and key == key.strip()


# -- phone ------------------------------------------------------------------------

@pytest.mark.parametrize("typed", [
    "0912345678",
    "091 234 5678",
    "091.234.5678",
    "091-234-5678",
    "+84912345678",
    "+84 91 234 5678",
    "84912345678",
    " 0912345678 ",
])
def test_phone_is_normalised_to_a_leading_zero(typed):
    assert normalize_phone(typed) == "0912345678"


@pytest.mark.parametrize("prefix", ["03", "05", "07", "08", "09"])
def test_every_mobile_prefix_is_accepted(prefix):
    assert normalize_phone(prefix + "12345678") == prefix + "12345678"


@pytest.mark.parametrize("typed", [
    "0112345678",    # 01 is not a mobile prefix (landlines, old 11-digit numbers)
    "0212345678",    # 02x is a landline area code
    "0412345678",
    "0612345678",
    "091234567",     # 9 digits
    "09123456789",   # 11 digits
    "+8409123456789",
    "0084912345678",  # international prefix 00 is not part of the rule
    "09123x5678",
    "(091) 234 5678",  # parentheses are not among the accepted separators
    "０９１２３４５６７８",  # full-width digits
    "",
    "0" * 100,
])
def test_non_mobile_numbers_are_refused(typed):
    assert normalize_phone(typed) is None


def test_phone_rejects_non_strings():
    assert normalize_phone(912345678) is None  # type: ignore[arg-type]


# -- CCCD -------------------------------------------------------------------------

def test_province_list_has_the_63_units_before_2025_and_is_not_contiguous():
    assert len(PROVINCE_CODES_BEFORE_2025) == 63
    assert PROVINCE_CODES_BEFORE_2025["001"] == "Hà Nội"
    assert PROVINCE_CODES_BEFORE_2025["002"] == "Hà Giang"
    assert PROVINCE_CODES_BEFORE_2025["004"] == "Cao Bằng"
    assert PROVINCE_CODES_BEFORE_2025["017"] == "Hòa Bình"
    assert PROVINCE_CODES_BEFORE_2025["025"] == "Phú Thọ"
    assert PROVINCE_CODES_BEFORE_2025["026"] == "Vĩnh Phúc"
    assert PROVINCE_CODES_BEFORE_2025["079"] == "Hồ Chí Minh"
    assert PROVINCE_CODES_BEFORE_2025["096"] == "Cà Mau"
    assert "003" not in PROVINCE_CODES_BEFORE_2025
    assert all(len(code) == 3 and code.isdigit() for code in PROVINCE_CODES_BEFORE_2025)


def test_a_valid_number_of_a_woman_born_in_the_2000s():
    # 001 Hà Nội, 3 = female born 2000-2099, 03 = 2003
    assert cccd_problems("001303012345", date(2003, 7, 14), "female") == []


def test_a_valid_number_of_a_man_born_in_the_1900s():
    assert cccd_problems("079090123456", date(1990, 1, 2), "male") == []


def test_a_province_merged_in_2025_still_counts_because_the_number_is_for_life():
    # Vĩnh Phúc (026) and Hòa Bình (017) became part of Phú Thọ on 1 July 2025.
    assert cccd_problems("026085001234", date(1985, 3, 4), "male") == []
    assert cccd_problems("017185001234", date(1985, 3, 4), "female") == []


@pytest.mark.parametrize("number", ["00130301234", "0013030123456", ""])
def test_wrong_length(number):
    assert cccd_problems(number) == ["wrong_length"]


@pytest.mark.parametrize("number", ["00130301234A", "001 03012345", "-01303012345", "００１３０３０１２３４５"[:12]])
def test_anything_but_ascii_digits(number):
    assert cccd_problems(number) == ["not_digits"]


@pytest.mark.parametrize("code", ["000", "003", "005", "097", "099", "999"])
def test_unknown_province_code(code):
    assert cccd_problems(code + "090123456") == ["unknown_province"]


def test_century_digit_must_match_the_birth_year():
    # G = 2 says born 2000-2099, but the birth year is 1990 (YY agrees: 90)
    assert cccd_problems("001290123456", date(1990, 5, 1)) == ["century_mismatch"]
    assert cccd_problems("001090123456", date(2090, 5, 1)) == ["century_mismatch"]


def test_year_digits_must_match_the_birth_year():
    assert cccd_problems("001091123456", date(1990, 5, 1)) == ["year_mismatch"]


def test_both_birth_year_problems_are_reported():
    assert cccd_problems("001205123456", date(1990, 5, 1)) == ["century_mismatch", "year_mismatch"]


def test_sex_digit_must_match_the_sex():
    assert cccd_problems("001090123456", date(1990, 5, 1), "female") == ["sex_mismatch"]
    assert cccd_problems("001303012345", date(2003, 1, 1), "male") == ["sex_mismatch"]


def test_sex_alone_is_checked_without_a_birth_date():
    assert cccd_problems("001303012345", sex="male") == ["sex_mismatch"]
    assert cccd_problems("001303012345", sex="female") == []


def test_later_centuries_follow_the_same_scheme():
    assert cccd_problems("001500123456", date(2100, 1, 1), "female") == []
    assert cccd_problems("001800123456", date(2300, 1, 1), "male") == []


def test_without_birth_date_or_sex_only_the_shape_and_province_are_checked():
    assert cccd_problems("001990123456") == []


def test_all_problems_together():
    assert cccd_problems("003290123456", date(1991, 1, 1), "female") == [
        "unknown_province", "century_mismatch", "year_mismatch", "sex_mismatch"]


@given(st.text(max_size=20), st.one_of(st.none(), st.dates()), st.sampled_from([None, "male", "female", "x"]))
def test_cccd_problems_never_raises_and_returns_known_codes(number, birth, sex):
    problems = cccd_problems(number, birth, sex)
    assert set(problems) <= {"wrong_length", "not_digits", "unknown_province",
                             "century_mismatch", "year_mismatch", "sex_mismatch"}


def test_old_identity_card_has_nine_digits():
    assert is_cmnd("012345678")
    assert not is_cmnd("01234567")
    assert not is_cmnd("0123456789")
    assert not is_cmnd("01234567a")
    assert not is_cmnd("001303012345")


# -- dates ----------------------------------------------------------------------

def test_date_in_vietnamese_document_style():
    """Decree 30/2020/NĐ-CP, Appendix I: day numbers below 10 and the months 1 and 2 take a leading zero."""
    assert format_date_vi(date(2026, 3, 5)) == "ngày 05 tháng 3 năm 2026"
    assert format_date_vi(date(2026, 1, 9)) == "ngày 09 tháng 01 năm 2026"
    assert format_date_vi(date(2026, 2, 28)) == "ngày 28 tháng 02 năm 2026"
    assert format_date_vi(date(2025, 10, 1)) == "ngày 01 tháng 10 năm 2025"
    assert format_date_vi(date(2025, 12, 31)) == "ngày 31 tháng 12 năm 2025"
