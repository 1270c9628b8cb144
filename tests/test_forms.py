"""The form validator (docs/forms.md): what a citizen sees for each kind of field."""
import json
import time
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.catalog.forms import FIELD_TYPES, FieldError, check_form_definition, validate

TODAY = date(2025, 3, 5)


def label(vi, en=None):
    return {"vi": vi, "en": en} if en else {"vi": vi}


def form(*fields):
    definition = {"fields": list(fields)}
    assert check_form_definition(definition) == []  # every form used below is itself valid
    return definition


def run(definition, data, **kwargs):
    kwargs.setdefault("today", TODAY)
    return validate(definition, data, **kwargs)


def codes(errors):
    return [(e.path, e.code) for e in errors]


def only_error(definition, data, **kwargs):
    clean, errors = run(definition, data, **kwargs)
    assert len(errors) == 1, errors
    return errors[0]


SEX = {"name": "sex", "type": "choice", "label": label("Giới tính", "Sex"),
       "options": [{"value": "male", "label": label("Nam")}, {"value": "female", "label": label("Nữ")}]}
BIRTH = {"name": "birth_date", "type": "date", "label": label("Ngày sinh", "Date of birth"), "max": "today"}
CCCD = {"name": "id_number", "type": "cccd", "label": label("Số định danh cá nhân", "Personal ID number"),
        "checks": {"birth_date": "birth_date", "sex": "sex"}}


# -- the error shape ------------------------------------------------------------

def test_error_as_json_has_path_code_and_message_in_both_languages():
    f = form({"name": "phone", "type": "phone", "label": label("Số điện thoại", "Phone number"),
              "required": True})
    error = only_error(f, {})
    assert error.to_json() == {
        "path": "phone", "code": "required",
        "message": {"vi": "Vui lòng nhập Số điện thoại.", "en": "Please enter Phone number."}}
    json.dumps(error.to_json())  # serialisable as sent to the device


def test_field_error_is_immutable():
    error = FieldError("a", "required", "x", "y")
    with pytest.raises(AttributeError):
        error.code = "other"  # type: ignore[misc]


def test_english_falls_back_to_the_vietnamese_label():
    f = form({"name": "full_name", "type": "text", "label": label("Họ và tên"), "required": True})
    error = only_error(f, {"full_name": "  "})
    assert error.message_en == "Please enter Họ và tên."


def test_data_must_be_a_json_object():
    f = form({"name": "a", "type": "text", "label": label("A")})
    for data in ([], "x", None, 3):
        clean, errors = run(f, data)
        assert clean == {}
        assert codes(errors) == [("", "type")]


# -- required, empty and unknown fields ------------------------------------------

@pytest.mark.parametrize("empty", [None, "", "   ", "\n"])
def test_required_text_must_not_be_empty(empty):
    f = form({"name": "full_name", "type": "text", "label": label("Họ và tên"), "required": True})
    error = only_error(f, {"full_name": empty})
    assert (error.path, error.code) == ("full_name", "required")
    assert error.message_vi == "Vui lòng nhập Họ và tên."


def test_missing_required_field_is_reported():
    f = form({"name": "full_name", "type": "text", "label": label("Họ và tên"), "required": True})
    assert codes(run(f, {})[1]) == [("full_name", "required")]


def test_empty_optional_fields_are_left_out_of_the_clean_data():
    f = form({"name": "note", "type": "textarea", "label": label("Ghi chú")},
             {"name": "phone", "type": "phone", "label": label("Điện thoại")})
    assert run(f, {"note": "  ", "phone": None}) == ({}, [])


def test_required_choice_asks_to_choose():
    f = form(dict(SEX, required=True))
    assert only_error(f, {}).message_vi == "Vui lòng chọn Giới tính."


def test_unknown_fields_are_refused_so_nothing_unchecked_is_stored():
    f = form({"name": "full_name", "type": "text", "label": label("Họ và tên")})
    clean, errors = run(f, {"full_name": "Lê Văn Tám", "is_admin": True})
    assert codes(errors) == [("is_admin", "unknown_field")]
    assert "is_admin" in errors[0].message_vi
    assert "is_admin" not in clean


def test_a_flood_of_unknown_fields_is_reported_briefly():
    f = form({"name": "a", "type": "text", "label": label("A")})
    _, errors = run(f, {f"x{i}": 1 for i in range(5000)})
    assert 0 < len(errors) <= 20
    assert {e.code for e in errors} == {"unknown_field"}


# -- text and textarea ------------------------------------------------------------

def test_text_is_stored_nfc_and_trimmed():
    f = form({"name": "full_name", "type": "text", "label": label("Họ và tên")})
    clean, errors = run(f, {"full_name": "  Nguye\u0302\u0303n Văn A "})
    assert errors == []
    assert clean == {"full_name": "Nguyễn Văn A"}


def test_length_is_counted_after_nfc():
    # 6 code points decomposed ("Nguyễn" = 8 before NFC), so max_length 6 accepts it
    f = form({"name": "family_name", "type": "text", "label": label("Họ"), "max_length": 6})
    assert run(f, {"family_name": "Nguye\u0302\u0303n"}) == ({"family_name": "Nguyễn"}, [])


def test_too_short_and_too_long():
    f = form({"name": "reason", "type": "text", "label": label("Lý do"), "min_length": 5, "max_length": 10})
    short = only_error(f, {"reason": "abc"})
    assert (short.code, short.message_vi) == ("too_short", "Lý do phải có ít nhất 5 ký tự.")
    long = only_error(f, {"reason": "a" * 11})
    assert (long.code, long.message_vi) == ("too_long", "Lý do chỉ được có tối đa 10 ký tự.")
    assert run(f, {"reason": "a" * 10})[1] == []


def test_implicit_length_limits():
    f = form({"name": "title", "type": "text", "label": label("Tiêu đề")},
             {"name": "body", "type": "textarea", "label": label("Nội dung")})
    assert run(f, {"title": "a" * 2000, "body": "b" * 10000})[1] == []
    assert codes(run(f, {"title": "a" * 2001, "body": "b" * 10001})[1]) == [
        ("title", "too_long"), ("body", "too_long")]
    assert codes(run(f, {"title": "a" * 10**6})[1]) == [("title", "too_long")]


def test_text_is_one_line_but_textarea_keeps_lines():
    f = form({"name": "title", "type": "text", "label": label("Tiêu đề")},
             {"name": "body", "type": "textarea", "label": label("Nội dung")})
    error = only_error(f, {"title": "dòng 1\ndòng 2"})
    assert (error.code, error.message_vi) == ("type", "Tiêu đề chỉ được viết trên một dòng.")
    assert run(f, {"body": "dòng 1\r\ndòng 2\rdòng 3"}) == ({"body": "dòng 1\ndòng 2\ndòng 3"}, [])


def test_control_characters_are_refused():
    f = form({"name": "body", "type": "textarea", "label": label("Nội dung")})
    assert codes(run(f, {"body": "a\x00b"})[1]) == [("body", "type")]
    assert codes(run(f, {"body": "a\ud800b"})[1]) == [("body", "type")]
    assert run(f, {"body": "a\tb"})[1] == []


def test_text_must_be_a_string():
    f = form({"name": "title", "type": "text", "label": label("Tiêu đề")})
    for value in (12, ["a"], {"a": 1}, True):
        assert codes(run(f, {"title": value})[1]) == [("title", "type")]


def test_pattern_must_match_the_whole_value():
    f = form({"name": "plate", "type": "text", "label": label("Biển số xe"),
              "pattern": r"[0-9]{2}[A-Z]-[0-9]{3}\.[0-9]{2}"})
    assert run(f, {"plate": "29A-123.45"}) == ({"plate": "29A-123.45"}, [])
    error = only_error(f, {"plate": "29A-123.45 extra"})
    assert (error.code, error.message_vi) == ("pattern", "Biển số xe không đúng định dạng quy định.")


def test_pattern_message_replaces_the_default():
    f = form({"name": "tax_code", "type": "text", "label": label("Mã số thuế"), "pattern": r"\d{10}(-\d{3})?",
              "pattern_message": label("Mã số thuế gồm 10 chữ số, có thể thêm -XXX.", "Ten digits.")})
    error = only_error(f, {"tax_code": "12345"})
    assert error.to_json()["message"] == {"vi": "Mã số thuế gồm 10 chữ số, có thể thêm -XXX.", "en": "Ten digits."}


def test_pattern_digits_are_ascii_as_in_javascript():
    f = form({"name": "code", "type": "text", "label": label("Mã"), "pattern": r"\d+"})
    assert run(f, {"code": "٣٤"})[1][0].code == "pattern"  # Arabic-Indic digits


def test_pattern_is_tested_only_within_the_length_limit():
    f = form({"name": "code", "type": "text", "label": label("Mã"), "pattern": "a*", "max_length": 5})
    assert codes(run(f, {"code": "a" * 6})[1]) == [("code", "too_long")]


# -- number ------------------------------------------------------------------------

def test_number_accepts_json_numbers_and_numeric_strings():
    f = form({"name": "area", "type": "number", "label": label("Diện tích (m²)")})
    assert run(f, {"area": 12.5}) == ({"area": 12.5}, [])
    assert run(f, {"area": " 12.5 "}) == ({"area": 12.5}, [])
    assert run(f, {"area": "120"}) == ({"area": 120}, [])
    assert run(f, {"area": "-3"}) == ({"area": -3}, [])


@pytest.mark.parametrize("value", ["1,5", "1.000.000", "1 000", "12abc", "1e3", ".5", True, [1],
                                   float("nan"), float("inf")])
def test_number_refuses_separators_and_non_numbers(value):
    f = form({"name": "area", "type": "number", "label": label("Diện tích")})
    error = only_error(f, {"area": value})
    assert (error.path, error.code) == ("area", "type")
    assert "không dùng dấu phân cách hàng nghìn" in error.message_vi


def test_in_a_numeric_string_the_point_is_the_decimal_separator():
    # JSON syntax, as the browser sends it: "1.000" is one, not a thousand.
    f = form({"name": "area", "type": "number", "label": label("Diện tích")})
    assert run(f, {"area": "1.000"}) == ({"area": 1.0}, [])
    assert run(f, {"area": " "}) == ({}, [])


def test_number_min_and_max():
    f = form({"name": "members", "type": "number", "label": label("Số thành viên"), "min": 1, "max": 20})
    low = only_error(f, {"members": 0})
    assert (low.code, low.message_vi) == ("min", "Số thành viên phải lớn hơn hoặc bằng 1.")
    high = only_error(f, {"members": "21"})
    assert (high.code, high.message_vi) == ("max", "Số thành viên phải nhỏ hơn hoặc bằng 20.")
    assert run(f, {"members": 1})[1] == [] and run(f, {"members": 20})[1] == []


def test_decimal_bounds_print_with_a_comma_in_vietnamese():
    f = form({"name": "ratio", "type": "number", "label": label("Tỷ lệ"), "max": 0.5})
    error = only_error(f, {"ratio": 0.75})
    assert error.message_vi == "Tỷ lệ phải nhỏ hơn hoặc bằng 0,5."
    assert error.message_en == "Tỷ lệ must be at most 0.5."


def test_integer_refuses_fractions_and_stores_whole_floats_as_int():
    f = form({"name": "children", "type": "number", "label": label("Số con"), "integer": True})
    error = only_error(f, {"children": 2.5})
    assert (error.code, error.message_vi) == ("not_integer", "Số con phải là số nguyên.")
    assert codes(run(f, {"children": "2.5"})[1]) == [("children", "not_integer")]
    clean, errors = run(f, {"children": 3.0})
    assert errors == [] and clean == {"children": 3} and type(clean["children"]) is int


# -- date ------------------------------------------------------------------------

def test_date_must_be_a_real_calendar_date_in_iso_form():
    f = form({"name": "d", "type": "date", "label": label("Ngày cấp")})
    assert run(f, {"d": "2024-02-29"}) == ({"d": "2024-02-29"}, [])
    for bad in ("2023-02-29", "2025-13-01", "05/03/2025", "20250305", "2025-3-5", "2025-03-05T00:00"):
        error = only_error(f, {"d": bad})
        assert error.code == "invalid_date", bad
        assert error.message_vi.startswith("Ngày cấp không phải là ngày hợp lệ")


def test_date_not_after_today():
    f = form(BIRTH)
    error = only_error(f, {"birth_date": "2025-03-06"})
    assert (error.code, error.message_vi) == ("max", "Ngày sinh không được sau ngày hôm nay.")
    assert run(f, {"birth_date": "2025-03-05"})[1] == []


def test_date_not_before_today():
    f = form({"name": "appointment", "type": "date", "label": label("Ngày hẹn"), "min": "today"})
    error = only_error(f, {"appointment": "2025-03-04"})
    assert (error.code, error.message_vi) == ("min", "Ngày hẹn không được trước ngày hôm nay.")


def test_date_with_fixed_bounds():
    f = form({"name": "d", "type": "date", "label": label("Ngày kết hôn"), "min": "1960-01-01",
              "max": "2030-12-31"})
    error = only_error(f, {"d": "1959-12-31"})
    assert (error.code, error.message_vi) == ("min", "Ngày kết hôn không được trước ngày 01/01/1960.")
    assert only_error(f, {"d": "2031-01-01"}).message_vi == "Ngày kết hôn không được sau ngày 31/12/2030."


def test_today_defaults_to_the_date_in_vietnam():
    f = form({"name": "d", "type": "date", "label": label("Ngày"), "max": "today"})
    from datetime import datetime
    from zoneinfo import ZoneInfo
    vietnam_today = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).date()
    assert validate(f, {"d": vietnam_today.isoformat()})[1] == []
    later = date.fromordinal(vietnam_today.toordinal() + 1).isoformat()
    assert codes(validate(f, {"d": later})[1]) == [("d", "max")]


# -- choice and multichoice --------------------------------------------------------

def test_choice_must_be_one_of_the_options():
    f = form(SEX)
    assert run(f, {"sex": "female"}) == ({"sex": "female"}, [])
    error = only_error(f, {"sex": "other"})
    assert (error.code, error.message_vi) == ("not_an_option", "Vui lòng chọn Giới tính trong danh sách có sẵn.")


DOCUMENTS = {"name": "documents", "type": "multichoice", "label": label("Giấy tờ kèm theo"),
             "min_items": 2, "max_items": 3,
             "options": [{"value": v, "label": label(v)} for v in ("a", "b", "c", "d")]}


def test_multichoice_items_and_counts():
    f = form(DOCUMENTS)
    assert run(f, {"documents": ["a", "c"]}) == ({"documents": ["a", "c"]}, [])
    assert codes(run(f, {"documents": ["a"]})[1]) == [("documents", "too_few")]
    assert run(f, {"documents": ["a"]})[1][0].message_vi == "Giấy tờ kèm theo cần có ít nhất 2 mục."
    assert codes(run(f, {"documents": ["a", "b", "c", "d"]})[1]) == [("documents", "too_many")]
    assert codes(run(f, {"documents": ["a", "x"]})[1]) == [("documents", "not_an_option")]
    assert codes(run(f, {"documents": ["a", "a"]})[1]) == [("documents", "duplicate")]
    assert codes(run(f, {"documents": "a"})[1]) == [("documents", "type")]
    assert codes(run(f, {"documents": ["a", 1]})[1]) == [("documents", "type")]


def test_a_huge_multichoice_list_is_refused_without_counting_it_through():
    f = form(DOCUMENTS)
    assert codes(run(f, {"documents": ["a"] * 100000})[1]) == [("documents", "duplicate")]


# -- phone ------------------------------------------------------------------------

PHONE = {"name": "phone", "type": "phone", "label": label("Số điện thoại", "Phone number")}


@pytest.mark.parametrize("typed", ["+84 912 345 678", "84912345678", "0912.345.678", "0912-345-678"])
def test_phone_is_stored_normalised(typed):
    assert run(form(PHONE), {"phone": typed}) == ({"phone": "0912345678"}, [])


def test_invalid_phone_message_says_what_a_number_looks_like():
    error = only_error(form(PHONE), {"phone": "0212345678"})
    assert error.code == "invalid_phone"
    assert error.message_vi == "Số điện thoại phải gồm 10 chữ số, bắt đầu bằng 03, 05, 07, 08 hoặc 09."


# -- CCCD -------------------------------------------------------------------------

PERSON = form(BIRTH, SEX, CCCD)


def test_valid_cccd_of_a_woman_born_in_the_2000s():
    data = {"birth_date": "2003-07-14", "sex": "female", "id_number": "001 3 03 012345"}
    clean, errors = run(PERSON, data)
    assert errors == []
    assert clean == {"birth_date": "2003-07-14", "sex": "female", "id_number": "001303012345"}


def test_cccd_from_a_province_merged_in_2025_is_accepted():
    # 026 Vĩnh Phúc is not one of the 34 provinces of 2025, but the number is for life.
    data = {"birth_date": "1990-01-01", "sex": "male", "id_number": "026090123456"}
    assert run(PERSON, data)[1] == []


@pytest.mark.parametrize("number", ["00130301234", "0013030123456", "00130301234X", "CCCD001303012"])
def test_cccd_of_wrong_length_or_with_letters(number):
    error = only_error(PERSON, {"id_number": number})
    assert (error.code, error.message_vi) == ("invalid_cccd", "Số định danh cá nhân phải gồm đúng 12 chữ số.")


@pytest.mark.parametrize("code", ["000", "003"])
def test_cccd_with_an_unknown_province_code(code):
    error = only_error(PERSON, {"id_number": code + "303012345"})
    assert error.code == "invalid_cccd"
    assert f"({code})" in error.message_vi and "mã tỉnh" in error.message_vi


def test_cccd_century_digit_against_the_birth_year():
    error = only_error(PERSON, {"birth_date": "1990-05-01", "id_number": "001290123456"})
    assert (error.path, error.code) == ("id_number", "cccd_mismatch")
    assert "Ngày sinh (01/05/1990)" in error.message_vi
    assert "năm sinh" in error.message_vi


def test_cccd_year_digits_against_the_birth_year():
    error = only_error(PERSON, {"birth_date": "1991-05-01", "id_number": "001090123456"})
    assert error.code == "cccd_mismatch"


def test_cccd_sex_digit_against_the_sex():
    error = only_error(PERSON, {"sex": "female", "id_number": "001090123456"})
    assert error.code == "cccd_mismatch"
    assert "Giới tính (nữ)" in error.message_vi and "giới tính" in error.message_vi


def test_cccd_birth_year_and_sex_mismatch_are_both_reported():
    _, errors = run(PERSON, {"birth_date": "1990-05-01", "sex": "male", "id_number": "001303012345"})
    assert codes(errors) == [("id_number", "cccd_mismatch"), ("id_number", "cccd_mismatch")]


def test_cccd_is_not_compared_with_an_invalid_birth_date():
    _, errors = run(PERSON, {"birth_date": "2090-01-01", "id_number": "001290123456"})
    assert codes(errors) == [("birth_date", "max")]


def test_cccd_without_checks_only_checks_the_number():
    f = form({"name": "id_number", "type": "cccd", "label": label("Số CCCD")})
    assert run(f, {"id_number": "079303012345"})[1] == []


def test_old_identity_card_only_when_the_field_allows_it():
    strict = form({"name": "id_number", "type": "cccd", "label": label("Số giấy tờ")})
    assert codes(run(strict, {"id_number": "012345678"})[1]) == [("id_number", "invalid_cccd")]
    lenient = form(BIRTH, SEX, dict(CCCD, allow_cmnd=True))
    clean, errors = run(lenient, {"id_number": "012345678", "sex": "female", "birth_date": "1970-01-01"})
    assert errors == [] and clean["id_number"] == "012345678"
    assert "9 chữ số" in run(lenient, {"id_number": "1234"})[1][0].message_vi


# -- email --------------------------------------------------------------------------

@pytest.mark.parametrize("email", ["an.nguyen@example.com", "x+tag@sub.mail.gov.vn"])
def test_valid_email(email):
    f = form({"name": "email", "type": "email", "label": label("Thư điện tử")})
    assert run(f, {"email": f" {email} "}) == ({"email": email}, [])


@pytest.mark.parametrize("email", ["an.nguyen", "a@b", "a@@b.vn", "a b@c.vn", "@c.vn", "a@-c.vn",
                                   "a" * 65 + "@c.vn", "a@" + "b" * 250 + ".vn"])
def test_invalid_email(email):
    f = form({"name": "email", "type": "email", "label": label("Thư điện tử")})
    error = only_error(f, {"email": email})
    assert error.code in ("invalid_email", "too_long")


# -- address --------------------------------------------------------------------------

ADDRESS = {"name": "residence", "type": "address", "label": label("Nơi cư trú"), "required": True}


def test_address_with_a_known_commune():
    known = {"00004", "26734"}
    clean, errors = run(form(ADDRESS), {"residence": {"commune_code": "26734", "detail": " Số 5, ngõ 12 "}},
                        commune_exists=known.__contains__)
    assert errors == []
    assert clean == {"residence": {"commune_code": "26734", "detail": "Số 5, ngõ 12"}}


def test_address_with_an_unknown_commune():
    error = only_error(form(ADDRESS), {"residence": {"commune_code": "99999"}}, commune_exists=lambda c: False)
    assert (error.path, error.code) == ("residence.commune_code", "unknown_commune")
    assert "Nơi cư trú" in error.message_vi and "chọn lại" in error.message_vi


def test_without_the_commune_list_only_the_shape_of_the_code_is_checked():
    f = form(ADDRESS)
    assert run(f, {"residence": {"commune_code": "99999"}}) == ({"residence": {"commune_code": "99999"}}, [])
    for bad in ("9999", "999999", "ab123"):
        assert codes(run(f, {"residence": {"commune_code": bad}})[1]) == [("residence.commune_code",
                                                                            "unknown_commune")]
    assert codes(run(f, {"residence": {"commune_code": 26734}})[1]) == [("residence.commune_code", "type")]


def test_address_detail_without_commune_asks_for_the_commune():
    _, errors = run(form(ADDRESS), {"residence": {"detail": "Thôn 3"}})
    assert codes(errors) == [("residence.commune_code", "required")]
    assert errors[0].message_vi.startswith("Vui lòng chọn Xã, phường")


def test_address_detail_length_and_extra_keys():
    f = form(ADDRESS)
    _, errors = run(f, {"residence": {"commune_code": "00004", "detail": "x" * 201, "lat": 21.0}})
    assert codes(errors) == [("residence.lat", "unknown_field"), ("residence.detail", "too_long")]


def test_empty_required_address():
    assert codes(run(form(ADDRESS), {"residence": {}})[1]) == [("residence", "required")]
    assert codes(run(form(ADDRESS), {"residence": "Hà Nội"})[1]) == [("residence", "type")]


# -- show_if ---------------------------------------------------------------------------

MARITAL = {"name": "marital_status", "type": "choice", "label": label("Tình trạng hôn nhân"),
           "options": [{"value": v, "label": label(v)} for v in ("single", "married", "divorced")]}
SPOUSE = {"name": "spouse_name", "type": "text", "label": label("Họ tên vợ/chồng"), "required": True,
          "show_if": {"field": "marital_status", "equals": "married"}}


def test_show_if_equals_shows_and_requires_the_field():
    f = form(MARITAL, SPOUSE)
    assert codes(run(f, {"marital_status": "married"})[1]) == [("spouse_name", "required")]


def test_a_hidden_required_field_is_not_required():
    f = form(MARITAL, SPOUSE)
    assert run(f, {"marital_status": "single"}) == ({"marital_status": "single"}, [])
    assert run(f, {}) == ({}, [])


def test_a_hidden_fields_value_is_dropped_even_when_invalid():
    f = form(MARITAL, dict(SPOUSE, max_length=3))
    clean, errors = run(f, {"marital_status": "single", "spouse_name": "Trần Thị B"})
    assert (clean, errors) == ({"marital_status": "single"}, [])


def test_show_if_in():
    f = form({"name": "reason", "type": "choice", "label": label("Lý do cấp lại"),
              "options": [{"value": v, "label": label(v)} for v in ("lost", "damaged", "changed")]},
             {"name": "police_report", "type": "text", "label": label("Số biên bản"), "required": True,
              "show_if": {"field": "reason", "in": ["lost", "damaged"]}})
    assert codes(run(f, {"reason": "lost"})[1]) == [("police_report", "required")]
    assert codes(run(f, {"reason": "damaged"})[1]) == [("police_report", "required")]
    assert run(f, {"reason": "changed", "police_report": "x"}) == ({"reason": "changed"}, [])


def test_show_if_not_empty():
    f = form({"name": "children_count", "type": "number", "label": label("Số con")},
             {"name": "children_note", "type": "text", "label": label("Ghi chú về con"),
              "show_if": {"field": "children_count", "not_empty": True}},
             {"name": "why_none", "type": "text", "label": label("Lý do"),
              "show_if": {"field": "children_count", "not_empty": False}})
    assert run(f, {"children_count": "2", "children_note": "a", "why_none": "b"}) == (
        {"children_count": 2, "children_note": "a"}, [])
    assert run(f, {"children_note": "a", "why_none": "b"}) == ({"why_none": "b"}, [])


def test_show_if_sees_the_normalised_value_and_on_multichoice_any_chosen_option():
    f = form(DOCUMENTS, {"name": "b_number", "type": "text", "label": label("Số giấy tờ B"), "required": True,
                         "show_if": {"field": "documents", "equals": "b"}})
    assert codes(run(f, {"documents": ["a", "b"]})[1]) == [("b_number", "required")]
    assert run(f, {"documents": ["a", "c"]})[1] == []


def test_show_if_chains_through_hidden_fields():
    f = form(MARITAL, dict(SPOUSE, required=False),
             {"name": "spouse_phone", "type": "phone", "label": label("Điện thoại vợ/chồng"), "required": True,
              "show_if": {"field": "spouse_name", "not_empty": True}})
    # spouse_name is hidden (single), so its value counts as empty and spouse_phone is hidden too
    assert run(f, {"marital_status": "single", "spouse_name": "X"}) == ({"marital_status": "single"}, [])
    assert codes(run(f, {"marital_status": "married", "spouse_name": "X"})[1]) == [("spouse_phone", "required")]


# -- groups --------------------------------------------------------------------------

MEMBERS = {"name": "members", "type": "group", "label": label("Thành viên hộ gia đình", "Household members"),
           "min_items": 1, "max_items": 3,
           "fields": [{"name": "full_name", "type": "text", "label": label("Họ và tên", "Full name"),
                       "required": True},
                      {"name": "relation", "type": "choice", "label": label("Quan hệ"),
                       "options": [{"value": "child", "label": label("Con")},
                                   {"value": "other", "label": label("Khác")}]},
                      {"name": "relation_other", "type": "text", "label": label("Quan hệ khác"),
                       "required": True, "show_if": {"field": "relation", "equals": "other"}}]}


def test_group_items_are_validated_with_nested_paths():
    f = form(MEMBERS)
    _, errors = run(f, {"members": [{"full_name": "Lê An"}, {"full_name": " "}]})
    assert codes(errors) == [("members[1].full_name", "required")]
    assert errors[0].message_vi == "Vui lòng nhập Họ và tên (Thành viên hộ gia đình, mục 2)."
    assert errors[0].message_en == "Please enter Full name (Household members, entry 2)."


def test_group_clean_data_and_conditions_inside_an_item():
    f = form(MEMBERS)
    data = {"members": [{"full_name": "Lê  An ", "relation": "child", "relation_other": "dropped"},
                        {"full_name": "Lê Bình", "relation": "other"}]}
    clean, errors = run(f, data)
    assert codes(errors) == [("members[1].relation_other", "required")]
    data["members"][1]["relation_other"] = "Cháu"
    clean, errors = run(f, data)
    assert errors == []
    assert clean == {"members": [{"full_name": "Lê  An", "relation": "child"},
                                 {"full_name": "Lê Bình", "relation": "other", "relation_other": "Cháu"}]}


def test_group_item_counts():
    f = form(MEMBERS)
    item = {"full_name": "A"}
    assert codes(run(f, {"members": [item] * 4})[1]) == [("members", "too_many")]
    assert codes(run(f, {"members": [item] * 3})[1]) == []
    f_min = form(dict(MEMBERS, min_items=2))
    assert codes(run(f_min, {"members": [item]})[1]) == [("members", "too_few")]


def test_group_without_max_items_refuses_more_than_100():
    f = form({k: v for k, v in MEMBERS.items() if k != "max_items"})
    assert run(f, {"members": [{"full_name": "A"}] * 100})[1] == []
    error = only_error(f, {"members": [{"full_name": "A"}] * 101})
    assert (error.code, error.message_vi) == ("too_many", "Thành viên hộ gia đình chỉ được có tối đa 100 mục.")


def test_group_items_must_be_objects_and_unknown_keys_are_refused():
    f = form(MEMBERS)
    _, errors = run(f, {"members": ["Lê An", {"full_name": "B", "age": 3}]})
    assert codes(errors) == [("members[0]", "type"), ("members[1].age", "unknown_field")]
    assert codes(run(f, {"members": {"full_name": "A"}})[1]) == [("members", "type")]


def test_required_group_needs_one_item():
    f = form(dict(MEMBERS, required=True))
    error = only_error(f, {"members": []})
    assert error.message_vi == "Vui lòng thêm ít nhất một mục cho Thành viên hộ gia đình."


def test_cccd_checks_inside_a_group_item_use_that_items_siblings():
    f = form({"name": "members", "type": "group", "label": label("Thành viên"),
              "fields": [BIRTH, SEX, CCCD]})
    data = {"members": [{"birth_date": "2003-07-14", "sex": "female", "id_number": "001303012345"},
                        {"birth_date": "1980-01-01", "sex": "female", "id_number": "001303012345"}]}
    _, errors = run(f, data)
    assert codes(errors) == [("members[1].id_number", "cccd_mismatch")]  # the year, not the sex
    assert "Ngày sinh (Thành viên, mục 2) (01/01/1980)" in errors[0].message_vi


# -- checking a definition ------------------------------------------------------------

def problems(*fields):
    return check_form_definition({"fields": list(fields)})


def test_a_good_definition_has_no_problems():
    assert problems(BIRTH, SEX, CCCD, MARITAL, SPOUSE, MEMBERS, DOCUMENTS, ADDRESS, PHONE) == []


@pytest.mark.parametrize("field, fragment", [
    ({"name": "Full name", "type": "text", "label": label("A")}, "name must match"),
    ({"name": "a", "type": "checkbox", "label": label("A")}, "unknown type"),
    ({"name": "a", "type": "text"}, "'label'"),
    ({"name": "a", "type": "text", "label": {"en": "A"}}, "'label'"),
    ({"name": "a", "type": "text", "label": label("A"), "requried": True}, "key 'requried'"),
    ({"name": "a", "type": "number", "label": label("A"), "options": []}, "key 'options'"),
    ({"name": "a", "type": "choice", "label": label("A")}, "non-empty 'options'"),
    ({"name": "a", "type": "choice", "label": label("A"),
      "options": [{"value": "x", "label": label("X")}, {"value": "x", "label": label("Y")}]}, "listed twice"),
    ({"name": "a", "type": "text", "label": label("A"), "pattern": "([a-z]"}, "does not compile"),
    ({"name": "a", "type": "text", "label": label("A"), "pattern": "(?P<x>a)"}, "common subset"),
    ({"name": "a", "type": "text", "label": label("A"), "pattern": "(?<=a)b"}, "common subset"),
    ({"name": "a", "type": "text", "label": label("A"), "pattern": "(a+)+"}, "exponential"),
    ({"name": "a", "type": "text", "label": label("A"), "min_length": 5, "max_length": 2}, "greater than"),
    ({"name": "a", "type": "text", "label": label("A"), "max_length": 5000}, "above the limit"),
    ({"name": "a", "type": "text", "label": label("A"), "max_length": -1}, "whole number"),
    ({"name": "a", "type": "number", "label": label("A"), "min": 10, "max": 1}, "greater than"),
    ({"name": "a", "type": "number", "label": label("A"), "min": "1"}, "must be a number"),
    ({"name": "a", "type": "date", "label": label("A"), "max": "tomorrow"}, "YYYY-MM-DD"),
    ({"name": "a", "type": "date", "label": label("A"), "min": "2025-02-30"}, "YYYY-MM-DD"),
    ({"name": "a", "type": "date", "label": label("A"), "min": "2025-01-02", "max": "2025-01-01"}, "greater"),
    ({"name": "a", "type": "group", "label": label("A"), "fields": []}, "non-empty 'fields'"),
    ({"name": "a", "type": "group", "label": label("A"), "max_items": 5000,
      "fields": [{"name": "b", "type": "text", "label": label("B")}]}, "above the limit"),
    ({"name": "a", "type": "text", "label": label("A"), "required": "yes"}, "true or false"),
    ({"name": "a", "type": "text", "label": label("A"), "show_if": {"field": "a", "not_empty": True}}, "itself"),
    ({"name": "a", "type": "text", "label": label("A"), "show_if": {"field": "zzz", "not_empty": True}},
     "not a field at this level"),
    ({"name": "a", "type": "text", "label": label("A"), "show_if": {"field": "sex"}}, "exactly one"),
    ({"name": "a", "type": "text", "label": label("A"), "show_if": {"field": "sex", "equals": "man"}},
     "not one of its options"),
    ({"name": "a", "type": "cccd", "label": label("A"), "checks": {"birth_date": "sex"}}, "must refer to a 'date'"),
    ({"name": "a", "type": "cccd", "label": label("A"), "checks": {"birth_date": "nope"}}, "not a field"),
    ({"name": "a", "type": "cccd", "label": label("A"), "checks": {"born": "sex"}}, "unknown key 'born'"),
    ({"name": "a", "type": "cccd", "label": label("A"), "checks": {"sex": "marital_status"}}, "'male' and 'female'"),
])
def test_definition_problems(field, fragment):
    found = problems(SEX, MARITAL, field)
    assert any(fragment in p for p in found), found


def test_names_must_be_unique_per_level_but_may_repeat_in_a_group():
    assert any("used twice" in p for p in problems(SEX, SEX))
    inner = {"name": "g", "type": "group", "label": label("G"), "fields": [SEX]}
    assert problems(SEX, inner) == []


def test_show_if_cycles_are_refused():
    a = {"name": "a", "type": "text", "label": label("A"), "show_if": {"field": "b", "not_empty": True}}
    b = {"name": "b", "type": "text", "label": label("B"), "show_if": {"field": "a", "not_empty": True}}
    assert any("cycle" in p for p in problems(a, b))


def test_groups_nest_at_most_two_deep():
    leaf = {"name": "x", "type": "text", "label": label("X")}
    g3 = {"name": "g3", "type": "group", "label": label("G3"), "fields": [leaf]}
    g2 = {"name": "g2", "type": "group", "label": label("G2"), "fields": [leaf]}
    g1 = {"name": "g1", "type": "group", "label": label("G1"), "fields": [dict(g2)]}
    assert problems(g1) == []
    g1_deep = {"name": "g1", "type": "group", "label": label("G1"), "fields": [dict(g2, fields=[g3])]}
    assert any("nested" in p for p in problems(g1_deep))


def test_a_definition_problem_names_the_nested_field():
    bad = {"name": "g", "type": "group", "label": label("G"),
           "fields": [{"name": "n", "type": "number", "label": label("N"), "integer": True, "min": 0.5}]}
    assert problems(bad) == ["fields[0] (g).fields[0] (n): 'min' of an integer field should be a whole number"]


def test_a_definition_that_is_not_an_object():
    assert check_form_definition([]) != []
    assert check_form_definition({"fields": "x"}) != []
    assert check_form_definition({"fields": [], "title": "x"}) == ["form: unknown key 'title'"]



# Any JSON at all, shaped enough like a definition that every check is reached: names and references drawn
# from a few sibling names, options and conditions with any value inside.
_ANY_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=4) | st.sampled_from(["a", "b", "today"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(["name", "type", "label", "fields", "options", "value", "field", "equals", "in", "vi", "sex"]),
        inner, max_size=4),
    max_leaves=10)
_SIBLING = st.sampled_from(["a", "b"]) | _ANY_JSON


def _definition_fields(children: st.SearchStrategy) -> st.SearchStrategy:
    field = st.fixed_dictionaries(
        {"name": _SIBLING, "type": st.sampled_from(sorted(FIELD_TYPES)) | _ANY_JSON},
        optional={"label": _ANY_JSON, "min": _ANY_JSON, "max": _ANY_JSON, "max_length": _ANY_JSON,
                  "min_items": _ANY_JSON, "pattern": _ANY_JSON, "required": _ANY_JSON, "fields": children,
                  "options": _ANY_JSON | st.lists(_ANY_JSON | st.fixed_dictionaries({"value": _ANY_JSON}), max_size=3),
                  "show_if": _ANY_JSON | st.fixed_dictionaries({"field": _SIBLING}, optional={"equals": _ANY_JSON,
                                                                                              "in": _ANY_JSON}),
                  "checks": _ANY_JSON | st.fixed_dictionaries({}, optional={"birth_date": _SIBLING, "sex": _SIBLING})})
    return st.lists(field, max_size=3)


@settings(max_examples=1500, deadline=None)
@given(st.one_of(_ANY_JSON, st.fixed_dictionaries({"fields": st.recursive(_definition_fields(_ANY_JSON),
                                                                           _definition_fields, max_leaves=4)})))
def test_any_definition_gets_a_list_of_problems_never_an_exception(definition):
    """An admin's catalog file is input like any other: lists or objects where a name, a type, a reference or
    an option's value belongs are reported as problems (they once raised TypeError: unhashable type)."""
    found = check_form_definition(definition)
    assert isinstance(found, list) and all(isinstance(problem, str) for problem in found)


# -- robustness -------------------------------------------------------------------------

EVERYTHING = form(
    {"name": "full_name", "type": "text", "label": label("Họ và tên"), "required": True, "pattern": "[^0-9]+"},
    {"name": "note", "type": "textarea", "label": label("Ghi chú")},
    {"name": "count", "type": "number", "label": label("Số lượng"), "integer": True, "min": 0},
    BIRTH, SEX, CCCD, PHONE, DOCUMENTS, MARITAL, SPOUSE,
    {"name": "email", "type": "email", "label": label("Email")},
    dict(ADDRESS, required=False),
    MEMBERS,
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20,
)
field_names = st.sampled_from(["full_name", "note", "count", "birth_date", "sex", "id_number", "phone",
                               "documents", "marital_status", "spouse_name", "email", "residence", "members",
                               "relation", "commune_code", "detail", "other"])


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(field_names, json_values, max_size=8) | json_values)
def test_validate_never_raises_and_always_answers_in_the_documented_shape(data):
    clean, errors = validate(EVERYTHING, data, today=TODAY)
    assert isinstance(clean, dict)
    for error in errors:
        payload = error.to_json()
        assert payload["message"]["vi"] and payload["message"]["en"]
        assert payload["code"] in {
            "required", "type", "too_short", "too_long", "pattern", "min", "max", "not_integer", "invalid_date",
            "not_an_option", "too_few", "too_many", "duplicate", "invalid_phone", "invalid_cccd",
            "cccd_mismatch", "invalid_email", "unknown_commune", "unknown_field"}
    json.dumps(clean)  # what is stored is plain JSON


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(field_names, json_values, max_size=8))
def test_clean_data_validates_again_to_itself(data):
    clean, errors = validate(EVERYTHING, data, today=TODAY)
    if not errors:
        assert validate(EVERYTHING, clean, today=TODAY) == (clean, [])


def test_a_large_submission_is_refused_quickly():
    f = form(MEMBERS)
    started = time.perf_counter()
    _, errors = run(f, {"members": [{"full_name": "A" * 3000}] * 10**6})
    assert codes(errors) == [("members", "too_many")]
    assert time.perf_counter() - started < 1.0


def test_patterns_that_javascript_would_read_differently_are_refused_in_definitions():
    """Possessive quantifiers and \\N{…} do not compile in JavaScript; a backreference to an unmatched group
    matches nothing in Python but the empty string in JavaScript: the browser would disagree with the server."""
    for pattern in (r"a++", r"\d*+", r"\N{DIGIT ONE}", r"(a)?\1b"):
        problems = check_form_definition({"fields": [{"name": "x", "type": "text", "label": {"vi": "X"},
                                                      "pattern": pattern}]})
        assert problems and "common subset" in problems[0], pattern
    assert check_form_definition({"fields": [{"name": "x", "type": "text", "label": {"vi": "X"},
                                              "pattern": r"(?:[0-9]{3})+-\d{2}"}]}) == []


def test_tabs_in_one_line_text_and_invisible_controls_are_refused():
    form = {"fields": [{"name": "a", "type": "text", "label": {"vi": "Ghi chú một dòng"}},
                       {"name": "b", "type": "textarea", "label": {"vi": "Ghi chú"}}]}
    clean, errors = validate(form, {"a": "x\ty", "b": "x\ty"})
    assert [(e.path, e.code) for e in errors] == [("a", "type")] and clean == {"b": "x\ty"}
    _, errors = validate(form, {"a": "x\u0085y", "b": "\ufeffAnh"})
    assert sorted((e.path, e.code) for e in errors) == [("a", "type"), ("b", "type")]
