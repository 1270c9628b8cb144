"""The form validator: one set of rules for a form definition and the data filed with it.

docs/forms.md is the contract; the browser will enforce the same rules in
JavaScript, so the rules live in tables (types, keys, limits, messages) and the
code stays a plain walk over fields.
"""
from __future__ import annotations

import math
import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Callable, TypeGuard
from zoneinfo import ZoneInfo

from server.vietnamese import cccd_problems, is_cmnd, nfc, normalize_phone

__all__ = ["FIELD_TYPES", "FieldError", "LIMITS", "MESSAGES", "check_form_definition", "validate"]

VIETNAM_TZ = ZoneInfo("Asia/Ho_Chi_Minh")

LIMITS = {
    "text_max_length": 2000,
    "textarea_max_length": 10000,
    "address_detail_max_length": 200,
    "email_max_length": 254,
    "group_default_max_items": 100,
    "group_max_items_ceiling": 1000,
    "group_max_depth": 3,
    "unknown_fields_reported": 20,  # per object: enough to see the mistake, not a flood
    "number_string_max_length": 40,
}

NAME_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,63}")
DATE_PATTERN = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# Plain decimals only: in Vietnamese "1.000" is a thousand and "1,5" one and a half,
# so anything with separators is ambiguous and refused rather than guessed.
NUMBER_STRING_PATTERN = re.compile(r"-?[0-9]+(\.[0-9]+)?")
COMMUNE_CODE_PATTERN = re.compile(r"[0-9]{5}")
EMAIL_PATTERN = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.[A-Za-z]{2,63}"
)
# Control characters break storage (PostgreSQL refuses NUL) and display; lone
# surrogates cannot be encoded. Line breaks and tabs are allowed in textarea only.
_BAD_CHARS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ufeff\ud800-\udfff]")  # controls, BOM, lone surrogates
_LINE_BREAK = re.compile(r"[\t\n\r\u2028\u2029]")  # not in one-line text (a tab included)

COMMON_KEYS = {"name", "type", "label", "help", "required", "show_if"}
# The keys each type may carry besides COMMON_KEYS.
FIELD_TYPES: dict[str, set[str]] = {
    "text": {"min_length", "max_length", "pattern", "pattern_message"},
    "textarea": {"min_length", "max_length", "pattern", "pattern_message"},
    "number": {"min", "max", "integer"},
    "date": {"min", "max"},
    "choice": {"options"},
    "multichoice": {"options", "min_items", "max_items"},
    "phone": set(),
    "cccd": {"checks", "allow_cmnd"},
    "email": set(),
    "address": set(),
    "group": {"fields", "min_items", "max_items"},
}
CONDITION_TESTS = ("equals", "in", "not_empty")

# Messages: {label} is the field's label (with its group item when inside a group).
# Vietnamese says what to do; English is the same sentence for the "en" interface.
MESSAGES: dict[str, dict[str, str]] = {
    "required": {"vi": "Vui lòng nhập {label}.", "en": "Please enter {label}."},
    "required_choice": {"vi": "Vui lòng chọn {label}.", "en": "Please choose {label}."},
    "required_group": {"vi": "Vui lòng thêm ít nhất một mục cho {label}.",
                       "en": "Please add at least one entry to {label}."},
    "type_form": {"vi": "Dữ liệu tờ khai không đúng định dạng.",
                  "en": "The form data must be a JSON object."},
    "type_text": {"vi": "{label} phải là chữ.", "en": "{label} must be text."},
    "type_number": {"vi": "{label} phải là một số, ví dụ 12 hoặc 12.5 (không dùng dấu phân cách hàng nghìn).",
                    "en": "{label} must be a number, e.g. 12 or 12.5 (no thousands separators)."},
    "type_list": {"vi": "{label} phải là một danh sách.", "en": "{label} must be a list."},
    "type_object": {"vi": "{label} không đúng định dạng.", "en": "{label} has the wrong format."},
    "one_line": {"vi": "{label} chỉ được viết trên một dòng.", "en": "{label} must be a single line."},
    "bad_char": {"vi": "{label} có ký tự không hợp lệ, vui lòng nhập lại.",
                 "en": "{label} contains invalid characters; please type it again."},
    "too_short": {"vi": "{label} phải có ít nhất {limit} ký tự.",
                  "en": "{label} must have at least {limit} characters."},
    "too_long": {"vi": "{label} chỉ được có tối đa {limit} ký tự.",
                 "en": "{label} must have at most {limit} characters."},
    "pattern": {"vi": "{label} không đúng định dạng quy định.", "en": "{label} is not in the required format."},
    "min": {"vi": "{label} phải lớn hơn hoặc bằng {limit}.", "en": "{label} must be at least {limit}."},
    "max": {"vi": "{label} phải nhỏ hơn hoặc bằng {limit}.", "en": "{label} must be at most {limit}."},
    "min_date": {"vi": "{label} không được trước ngày {limit}.", "en": "{label} cannot be before {limit}."},
    "max_date": {"vi": "{label} không được sau ngày {limit}.", "en": "{label} cannot be after {limit}."},
    "min_today": {"vi": "{label} không được trước ngày hôm nay.", "en": "{label} cannot be in the past."},
    "max_today": {"vi": "{label} không được sau ngày hôm nay.", "en": "{label} cannot be in the future."},
    "not_integer": {"vi": "{label} phải là số nguyên.", "en": "{label} must be a whole number."},
    "invalid_date": {"vi": "{label} không phải là ngày hợp lệ, vui lòng chọn lại ngày.",
                     "en": "{label} is not a valid date; please choose the date again."},
    "not_an_option": {"vi": "Vui lòng chọn {label} trong danh sách có sẵn.",
                      "en": "Please choose {label} from the list."},
    "too_few": {"vi": "{label} cần có ít nhất {limit} mục.", "en": "{label} needs at least {limit} entries."},
    "too_many": {"vi": "{label} chỉ được có tối đa {limit} mục.", "en": "{label} can have at most {limit} entries."},
    "duplicate": {"vi": "{label}: mỗi lựa chọn chỉ được chọn một lần.",
                  "en": "{label}: each option can be chosen only once."},
    "invalid_phone": {"vi": "{label} phải gồm 10 chữ số, bắt đầu bằng 03, 05, 07, 08 hoặc 09.",
                      "en": "{label} must have 10 digits and start with 03, 05, 07, 08 or 09."},
    "invalid_email": {"vi": "{label} không đúng định dạng, ví dụ: ten@example.com.",
                      "en": "{label} is not a valid e-mail address, e.g. name@example.com."},
    "cccd_length": {"vi": "{label} phải gồm đúng 12 chữ số.", "en": "{label} must have exactly 12 digits."},
    "cccd_or_cmnd_length": {
        "vi": "{label} phải gồm 12 chữ số (căn cước) hoặc 9 chữ số (chứng minh nhân dân cũ).",
        "en": "{label} must have 12 digits (citizen ID) or 9 digits (old identity card)."},
    "cccd_province": {
        "vi": "{label}: ba chữ số đầu ({province}) không phải mã tỉnh, thành phố nơi đăng ký khai sinh. "
              "Vui lòng kiểm tra lại số trên thẻ căn cước.",
        "en": "{label}: the first three digits ({province}) are not a province code of birth registration. "
              "Please check the number on the ID card."},
    "cccd_birth_year": {
        "vi": "{label} không khớp với {other} ({value}): chữ số thứ 4 đến thứ 6 của số định danh "
              "phải ứng với năm sinh. Vui lòng kiểm tra lại.",
        "en": "{label} does not match {other} ({value}): digits 4 to 6 of the number encode "
              "the year of birth. Please check both."},
    "cccd_sex": {
        "vi": "{label} không khớp với {other} ({value}): chữ số thứ 4 của số định danh "
              "ứng với giới tính. Vui lòng kiểm tra lại.",
        "en": "{label} does not match {other} ({value}): digit 4 of the number encodes the sex. "
              "Please check both."},
    "unknown_commune": {"vi": "{label}: không tìm thấy xã, phường đã chọn. Vui lòng chọn lại xã, phường.",
                        "en": "{label}: the commune or ward was not found. Please choose it again."},
    "unknown_field": {"vi": "Mục “{name}” không có trong tờ khai này.",
                      "en": "“{name}” is not a field of this form."},
}

# The sub-fields of an address, labelled like fields so messages read the same.
_COMMUNE_LABEL = {"vi": "Xã, phường", "en": "Commune or ward"}
_DETAIL_LABEL = {"vi": "Số nhà, đường, thôn, xóm", "en": "House number, street, hamlet"}
_SEX_VI = {"male": "nam", "female": "nữ"}


@dataclass(frozen=True)
class FieldError:
    """One problem with the submitted data, as sent to the device (docs/forms.md "Errors")."""

    path: str
    code: str
    message_vi: str
    message_en: str

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "code": self.code,
                "message": {"vi": self.message_vi, "en": self.message_en}}


Label = dict[str, str]
Field = dict[str, Any]  # one field of a form definition, as JSON (docs/forms.md)
Checked = tuple[Any, list[FieldError]]  # a check's (value or EMPTY, errors)


def _error(path: str, code: str, message: str, **params: Any) -> FieldError:
    """An error whose message is MESSAGES[message] with labels and values filled in per language."""
    texts = {}
    for lang in ("vi", "en"):
        filled = {k: (v[lang] if isinstance(v, dict) else v) for k, v in params.items()}
        texts[lang] = MESSAGES[message][lang].format(**filled)
    return FieldError(path, code, texts["vi"], texts["en"])


def _label(field: Field) -> Label:
    label = field.get("label") or {}
    vi = label.get("vi") or field.get("name", "")
    return {"vi": vi, "en": label.get("en") or vi}


def _fmt_number(value: float | int) -> dict[str, str]:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value)
    return {"vi": text.replace(".", ","), "en": text}


def _fmt_date(d: date) -> dict[str, str]:
    return {"vi": d.strftime("%d/%m/%Y"), "en": d.isoformat()}


def _today_in_vietnam() -> date:
    return datetime.now(VIETNAM_TZ).date()


# -- validating data ----------------------------------------------------------

class _Empty:
    """No value: absent, null, "", [] or an empty address (docs/forms.md "required")."""

    def __repr__(self) -> str:
        return "EMPTY"


EMPTY: Any = _Empty()


@dataclass
class _Context:
    commune_exists: Callable[[str], bool] | None
    today: date


def validate(
    form: dict[str, Any],
    data: object,
    *,
    commune_exists: Callable[[str], bool] | None = None,
    today: date | None = None,
) -> tuple[dict[str, Any], list[FieldError]]:
    """Check data filed with a form: (clean_data, errors); store clean_data only when errors is empty.

    form must have passed check_form_definition. clean_data holds the visible,
    valid, non-empty values, normalised (NFC text, "0…" phones, numbers).
    """
    if not isinstance(data, dict):
        return {}, [_error("", "type", "type_form")]
    ctx = _Context(commune_exists, today or _today_in_vietnam())
    return _validate_object(form.get("fields", []), data, ctx, "", None)


def _validate_object(fields: list[Field], data: dict[str, Any], ctx: _Context, prefix: str,
                     item: tuple[Label, int] | None) -> tuple[dict[str, Any], list[FieldError]]:
    """One level: the top of the form, or one item of a group (item = group label, index)."""
    errors = _unknown_fields(data, {f["name"] for f in fields}, prefix)
    values: dict[str, Any] = {}
    field_errors: dict[str, list[FieldError]] = {}
    labels: dict[str, Label] = {}
    for field in fields:
        name = field["name"]
        labels[name] = _in_item(_label(field), item)
        check = _CHECKS[field["type"]]
        values[name], field_errors[name] = check(field, data.get(name), ctx, prefix + name, labels[name])

    visible = _visibility(fields, values)
    clean: dict[str, Any] = {}
    for field in fields:
        name = field["name"]
        if not visible[name]:
            continue  # hidden: never required, value dropped, its errors moot
        problems = field_errors[name]
        if values[name] is EMPTY and field.get("required") and not problems:
            problems = [_required_error(field, prefix + name, labels[name])]
        if not problems and field["type"] == "cccd" and values[name] is not EMPTY:
            problems = _cccd_cross_checks(field, values, visible, field_errors, prefix + name, labels)
        errors.extend(problems)
        if not problems and values[name] is not EMPTY:
            clean[name] = values[name]
    return clean, errors


def _unknown_fields(data: dict[str, Any], known: Collection[str], prefix: str) -> list[FieldError]:
    """An error for each key not in `known` (a level of the form, an address), the first few only (LIMITS)."""
    unknown = [key for key in data if key not in known][:LIMITS["unknown_fields_reported"]]
    return [_error(prefix + name, "unknown_field", "unknown_field", name=name)
            for name in (str(key)[:64] for key in unknown)]


def _in_item(label: Label, item: tuple[Label, int] | None) -> Label:
    if item is None:
        return label
    group, index = item
    return {"vi": f"{label['vi']} ({group['vi']}, mục {index + 1})",
            "en": f"{label['en']} ({group['en']}, entry {index + 1})"}


def _required_error(field: Field, path: str, label: Label) -> FieldError:
    kind = {"choice": "required_choice", "multichoice": "required_choice",
            "group": "required_group"}.get(field["type"], "required")
    return _error(path, "required", kind, label=label)


def _visibility(fields: list[Field], values: dict[str, Any]) -> dict[str, bool]:
    """Which fields exist; a condition on a hidden field sees it as empty."""
    by_name = {f["name"]: f for f in fields}
    visible: dict[str, bool] = {}

    def resolve(name: str, seen: frozenset[str]) -> bool:
        if name in visible:
            return visible[name]
        condition = by_name[name].get("show_if")
        if condition is None:
            result = True
        else:
            ref = condition.get("field")
            if ref not in by_name or ref in seen:  # refused by check_form_definition
                result = False
            else:
                shown = resolve(ref, seen | {name})
                result = _condition_holds(condition, values[ref] if shown else EMPTY)
        visible[name] = result
        return result

    for f in fields:
        resolve(f["name"], frozenset())
    return visible


def _condition_holds(condition: dict[str, Any], value: Any) -> bool:
    if "not_empty" in condition:
        return (value is not EMPTY) == bool(condition["not_empty"])
    if value is EMPTY:
        return False
    chosen = value if isinstance(value, list) else [value]  # multichoice: any chosen option
    if "equals" in condition:
        return any(_same(v, condition["equals"]) for v in chosen)
    if "in" in condition:
        return any(_same(v, w) for v in chosen for w in condition["in"])
    return False


def _same(a: Any, b: Any) -> bool:
    # True == 1 in Python but not in JSON or JavaScript: compare booleans apart.
    return isinstance(a, bool) == isinstance(b, bool) and a == b


# -- one check per type: (field, raw, ctx, path, label) -> (value or EMPTY, errors) --

def _is_empty_raw(raw: Any) -> bool:
    return raw is None or raw == "" or raw == [] or raw == {}


def _clean_string(raw: Any, path: str, label: Label, *, one_line: bool, limit: int,
                  ) -> tuple[Any, list[FieldError]]:
    """NFC, trimmed, length-limited text; EMPTY when nothing is left."""
    if raw is None:
        return EMPTY, []
    if not isinstance(raw, str):
        return EMPTY, [_error(path, "type", "type_text", label=label)]
    if len(raw) > 4 * limit:  # too long whatever NFC does; don't normalise megabytes
        return EMPTY, [_error(path, "too_long", "too_long", label=label, limit=limit)]
    text = nfc(raw.replace("\r\n", "\n").replace("\r", "\n")).strip()
    if not text:
        return EMPTY, []
    if _BAD_CHARS.search(text):
        return EMPTY, [_error(path, "type", "bad_char", label=label)]
    if one_line and _LINE_BREAK.search(text):
        return text, [_error(path, "type", "one_line", label=label)]
    if len(text) > limit:
        return text, [_error(path, "too_long", "too_long", label=label, limit=limit)]
    return text, []


def _check_text(field: Field, raw: Any, ctx: _Context, path: str, label: Label) -> Checked:
    kind = field["type"]
    limit = min(field.get("max_length", math.inf), LIMITS[f"{kind}_max_length"])
    text, errors = _clean_string(raw, path, label, one_line=kind == "text", limit=int(limit))
    if errors or text is EMPTY:
        return text, errors
    if len(text) < field.get("min_length", 0):
        return text, [_error(path, "too_short", "too_short", label=label, limit=field["min_length"])]
    pattern = field.get("pattern")
    if pattern is not None and not re.fullmatch(pattern, text, re.ASCII):
        custom = field.get("pattern_message")
        if custom and custom.get("vi"):
            vi = custom["vi"]
            return text, [FieldError(path, "pattern", vi, custom.get("en") or vi)]
        return text, [_error(path, "pattern", "pattern", label=label)]
    return text, []


def _blank(raw: Any) -> bool:
    """Nothing typed: null, or a string of spaces (the value is then EMPTY)."""
    return raw is None or (isinstance(raw, str) and not raw.strip())


def _blank_or_not_text(raw: Any, path: str, label: Label) -> Checked | None:
    """How a check of one typed-in text (date, phone, CCCD) ends early: EMPTY when blank, a type error when
    it is not a string; None when there is text to check."""
    if _blank(raw):
        return EMPTY, []
    if not isinstance(raw, str):
        return EMPTY, [_error(path, "type", "type_text", label=label)]
    return None


def _check_number(field: Field, raw: Any, ctx: _Context, path: str, label: Label) -> Checked:
    if _blank(raw):
        return EMPTY, []
    if isinstance(raw, str):
        text = raw.strip()
        if len(text) > LIMITS["number_string_max_length"] or not NUMBER_STRING_PATTERN.fullmatch(text):
            return EMPTY, [_error(path, "type", "type_number", label=label)]
        number: int | float = float(text) if "." in text else int(text)
    elif isinstance(raw, (int, float)) and not isinstance(raw, bool):
        number = raw
    else:
        return EMPTY, [_error(path, "type", "type_number", label=label)]
    if isinstance(number, float):
        if not math.isfinite(number):
            return EMPTY, [_error(path, "type", "type_number", label=label)]
        if field.get("integer") and number.is_integer():
            number = int(number)
    if field.get("integer") and not isinstance(number, int):
        return number, [_error(path, "not_integer", "not_integer", label=label)]
    if "min" in field and number < field["min"]:
        return number, [_error(path, "min", "min", label=label, limit=_fmt_number(field["min"]))]
    if "max" in field and number > field["max"]:
        return number, [_error(path, "max", "max", label=label, limit=_fmt_number(field["max"]))]
    return number, []


def _parse_date(text: Any) -> date | None:
    if not isinstance(text, str) or not DATE_PATTERN.fullmatch(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _date_bound(bound: str, ctx: _Context) -> date:
    return ctx.today if bound == "today" else date.fromisoformat(bound)


def _check_date(field: Field, raw: Any, ctx: _Context, path: str, label: Label) -> Checked:
    if (ended := _blank_or_not_text(raw, path, label)) is not None:
        return ended
    day = _parse_date(raw.strip())
    if day is None:
        return EMPTY, [_error(path, "invalid_date", "invalid_date", label=label)]
    text = day.isoformat()
    for side in ("min", "max"):
        if side not in field:
            continue
        bound = _date_bound(field[side], ctx)
        if (day < bound) if side == "min" else (day > bound):
            if field[side] == "today":
                return text, [_error(path, side, f"{side}_today", label=label)]
            return text, [_error(path, side, f"{side}_date", label=label, limit=_fmt_date(bound))]
    return text, []


def _option_values(field: Field) -> list[str]:
    return [o["value"] for o in field.get("options", [])]


def _check_choice(field: Field, raw: Any, ctx: _Context, path: str, label: Label) -> Checked:
    if raw is None or raw == "":
        return EMPTY, []
    if not isinstance(raw, str):
        return EMPTY, [_error(path, "type", "type_text", label=label)]
    if raw not in _option_values(field):
        return raw, [_error(path, "not_an_option", "not_an_option", label=label)]
    return raw, []


def _check_multichoice(field: Field, raw: Any, ctx: _Context, path: str, label: Label) -> Checked:
    if raw is None or raw == []:
        return EMPTY, []
    if not isinstance(raw, list):
        return EMPTY, [_error(path, "type", "type_list", label=label)]
    options = _option_values(field)
    if len(raw) > len(options):  # cannot be valid: some option repeats or is foreign
        if all(isinstance(v, str) and v in options for v in raw):
            return EMPTY, [_error(path, "duplicate", "duplicate", label=label)]
        return EMPTY, [_error(path, "not_an_option", "not_an_option", label=label)]
    if not all(isinstance(v, str) for v in raw):
        return EMPTY, [_error(path, "type", "type_list", label=label)]
    chosen = list(raw)
    if any(v not in options for v in chosen):
        return chosen, [_error(path, "not_an_option", "not_an_option", label=label)]
    if len(set(chosen)) != len(chosen):
        return chosen, [_error(path, "duplicate", "duplicate", label=label)]
    if len(chosen) < field.get("min_items", 0):
        return chosen, [_error(path, "too_few", "too_few", label=label, limit=field["min_items"])]
    if "max_items" in field and len(chosen) > field["max_items"]:
        return chosen, [_error(path, "too_many", "too_many", label=label, limit=field["max_items"])]
    return chosen, []


def _check_phone(field: Field, raw: Any, ctx: _Context, path: str, label: Label) -> Checked:
    if (ended := _blank_or_not_text(raw, path, label)) is not None:
        return ended
    phone = normalize_phone(raw)
    if phone is None:
        return EMPTY, [_error(path, "invalid_phone", "invalid_phone", label=label)]
    return phone, []


def _check_cccd(field: Field, raw: Any, ctx: _Context, path: str, label: Label) -> Checked:
    """The number alone; the comparison with birth date and sex is _cccd_cross_checks."""
    if (ended := _blank_or_not_text(raw, path, label)) is not None:
        return ended
    if len(raw) > 64:
        return EMPTY, [_error(path, "invalid_cccd", "cccd_length", label=label)]
    number = "".join(raw.split())  # "001 0 90 012345" as printed on the card
    if field.get("allow_cmnd") and is_cmnd(number):
        return number, []
    problems = cccd_problems(number)
    length_message = "cccd_or_cmnd_length" if field.get("allow_cmnd") else "cccd_length"
    if "wrong_length" in problems or "not_digits" in problems:
        return EMPTY, [_error(path, "invalid_cccd", length_message, label=label)]
    if "unknown_province" in problems:
        return number, [_error(path, "invalid_cccd", "cccd_province", label=label, province=number[:3])]
    return number, []


def _cccd_cross_checks(field: Field, values: dict[str, Any], visible: dict[str, bool],
                       field_errors: dict[str, list[FieldError]],
                       path: str, labels: dict[str, Label]) -> list[FieldError]:
    """Compare G and YY with the sibling date of birth and sex named in `checks`.

    Only visible, valid siblings are compared: a wrong birth date is reported
    on the birth date, not twice. A 9-digit CMND encodes neither.
    """
    number = values[field["name"]]
    checks = field.get("checks") or {}
    if len(number) != 12 or not checks:
        return []

    def sibling(key: str) -> tuple[Any, str] | None:
        name = checks.get(key)
        if not isinstance(name, str) or name not in values or not visible.get(name) or field_errors[name] or values[name] is EMPTY:
            return None
        return values[name], name

    birth = sibling("birth_date")
    sex = sibling("sex")
    problems = cccd_problems(number, date.fromisoformat(birth[0]) if birth else None,
                             sex[0] if sex else None)
    label = labels[field["name"]]
    errors = []
    if birth and ("century_mismatch" in problems or "year_mismatch" in problems):
        errors.append(_error(path, "cccd_mismatch", "cccd_birth_year", label=label,
                             other=labels[birth[1]], value=_fmt_date(date.fromisoformat(birth[0]))))
    if sex and "sex_mismatch" in problems:
        errors.append(_error(path, "cccd_mismatch", "cccd_sex", label=label, other=labels[sex[1]],
                             value={"vi": _SEX_VI[sex[0]], "en": sex[0]}))
    return errors


def _check_email(field: Field, raw: Any, ctx: _Context, path: str, label: Label) -> Checked:
    text, errors = _clean_string(raw, path, label, one_line=True, limit=LIMITS["email_max_length"])
    if errors or text is EMPTY:
        return text, errors
    if not EMAIL_PATTERN.fullmatch(text):
        return text, [_error(path, "invalid_email", "invalid_email", label=label)]
    return text, []


def _check_address(field: Field, raw: Any, ctx: _Context, path: str, label: Label) -> Checked:
    if _is_empty_raw(raw):
        return EMPTY, []
    if not isinstance(raw, dict):
        return EMPTY, [_error(path, "type", "type_object", label=label)]
    errors = _unknown_fields(raw, ("commune_code", "detail"), path + ".")
    commune_label = {lang: f"{_COMMUNE_LABEL[lang]} ({label[lang]})" for lang in ("vi", "en")}
    detail_label = {lang: f"{_DETAIL_LABEL[lang]} ({label[lang]})" for lang in ("vi", "en")}
    commune, commune_errors = _clean_string(raw.get("commune_code"), path + ".commune_code",
                                            commune_label, one_line=True, limit=16)
    detail, detail_errors = _clean_string(raw.get("detail"), path + ".detail", detail_label,
                                          one_line=True, limit=LIMITS["address_detail_max_length"])
    errors += commune_errors + detail_errors
    if commune is EMPTY and detail is EMPTY and not errors:
        return EMPTY, []
    if commune is EMPTY and not commune_errors:
        errors.append(_error(path + ".commune_code", "required", "required_choice", label=commune_label))
    elif commune is not EMPTY and not commune_errors:
        known = COMMUNE_CODE_PATTERN.fullmatch(commune) and (
            ctx.commune_exists is None or ctx.commune_exists(commune))
        if not known:
            errors.append(_error(path + ".commune_code", "unknown_commune", "unknown_commune", label=label))
    value = {"commune_code": commune} if commune is not EMPTY else {}
    if detail is not EMPTY:
        value["detail"] = detail
    return value, errors


def _check_group(field: Field, raw: Any, ctx: _Context, path: str, label: Label) -> Checked:
    if raw is None or raw == []:
        return EMPTY, []
    if not isinstance(raw, list):
        return EMPTY, [_error(path, "type", "type_list", label=label)]
    most = field.get("max_items", LIMITS["group_default_max_items"])
    if len(raw) > most:  # refused before looking inside: the cost stays bounded
        return EMPTY, [_error(path, "too_many", "too_many", label=label, limit=most)]
    items: list[Field] = []
    errors: list[FieldError] = []
    for index, entry in enumerate(raw):
        item_path = f"{path}[{index}]"
        if not isinstance(entry, dict):
            item_label = {"vi": f"{label['vi']}, mục {index + 1}", "en": f"{label['en']}, entry {index + 1}"}
            errors.append(_error(item_path, "type", "type_object", label=item_label))
            continue
        clean, item_errors = _validate_object(field["fields"], entry, ctx, item_path + ".", (label, index))
        items.append(clean)
        errors.extend(item_errors)
    if len(raw) < field.get("min_items", 0):
        errors.append(_error(path, "too_few", "too_few", label=label, limit=field["min_items"]))
    return items, errors


_CHECKS: dict[str, Callable[..., tuple[Any, list[FieldError]]]] = {
    "text": _check_text,
    "textarea": _check_text,
    "number": _check_number,
    "date": _check_date,
    "choice": _check_choice,
    "multichoice": _check_multichoice,
    "phone": _check_phone,
    "cccd": _check_cccd,
    "email": _check_email,
    "address": _check_address,
    "group": _check_group,
}


# -- checking a form definition -----------------------------------------------

def check_form_definition(form: object) -> list[str]:
    """Problems with a form definition itself, for the admin importing a catalog; empty when fine."""
    if not isinstance(form, dict):
        return ["the form must be a JSON object with a 'fields' list"]
    problems = [f"form: unknown key '{k}'" for k in form if k != "fields"]
    fields = form.get("fields")
    if not isinstance(fields, list):
        return problems + ["form: 'fields' must be a list"]
    problems += _check_fields(fields, "", depth=1)
    return problems


def _check_fields(fields: list[Any], where: str, depth: int) -> list[str]:
    problems: list[str] = []
    names: dict[str, Field] = {}
    for index, field in enumerate(fields):
        at = f"{where}fields[{index}]"
        if not isinstance(field, dict):
            problems.append(f"{at}: a field must be an object")
            continue
        name = field.get("name")
        if isinstance(name, str):
            at = f"{at} ({name})"
        if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
            problems.append(f"{at}: name must match ^[a-z][a-z0-9_]{{0,63}}$")
        elif name in names:
            problems.append(f"{at}: name '{name}' is used twice at this level")
        else:
            names[name] = field
        problems += _check_field(field, at, depth)
    # Conditions and checks name siblings: only known once the whole level is read.
    for index, field in enumerate(fields):
        if isinstance(field, dict):
            at = f"{where}fields[{index}] ({field.get('name')})"
            problems += _check_show_if(field, names, at)
            problems += _check_cccd_checks(field, names, at)
    problems += _check_condition_cycles(names, where)
    return problems


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _is_count(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _text_pair_problem(value: Any, key: str, at: str, required: bool) -> list[str]:
    if value is None and not required:
        return []
    if not isinstance(value, dict) or not isinstance(value.get("vi"), str) or not value["vi"].strip():
        return [f"{at}: '{key}' must be an object with a non-empty 'vi' text (and optional 'en')"]
    extra = set(value) - {"vi", "en"}
    if extra or not isinstance(value.get("en", ""), str):
        return [f"{at}: '{key}' may hold only 'vi' and 'en' texts"]
    return []


def _check_field(field: Field, at: str, depth: int) -> list[str]:
    kind = field.get("type")
    if not isinstance(kind, str) or kind not in FIELD_TYPES:
        return [f"{at}: unknown type {kind!r}; known types: {', '.join(FIELD_TYPES)}"]
    problems = [f"{at}: key '{k}' does not apply to type '{kind}'"
                for k in field if k not in COMMON_KEYS | FIELD_TYPES[kind]]
    problems += _text_pair_problem(field.get("label"), "label", at, required=True)
    problems += _text_pair_problem(field.get("help"), "help", at, required=False)
    for flag in ("required", "integer", "allow_cmnd"):
        if flag in field and not isinstance(field[flag], bool):
            problems.append(f"{at}: '{flag}' must be true or false")

    if kind in ("text", "textarea"):
        problems += _check_lengths(field, LIMITS[f"{kind}_max_length"], at)
        problems += _check_pattern(field, at)
    if kind in ("number", "date"):
        problems += _check_bounds(field, kind, at)
    if kind in ("choice", "multichoice"):
        problems += _check_options(field, at)
    if kind in ("multichoice", "group"):
        problems += _check_item_counts(field, kind, at)
    if kind == "group":
        if depth >= LIMITS["group_max_depth"]:
            problems.append(f"{at}: groups may be nested at most {LIMITS['group_max_depth'] - 1} deep")
        elif not isinstance(field.get("fields"), list) or not field["fields"]:
            problems.append(f"{at}: a group needs a non-empty 'fields' list")
        else:
            problems += _check_fields(field["fields"], f"{at}.", depth + 1)
    return problems


def _check_lengths(field: Field, ceiling: int, at: str) -> list[str]:
    problems = _not_counts(field, ("min_length", "max_length"), at)
    low, high = field.get("min_length", 0), field.get("max_length", ceiling)
    if _is_count(high) and high > ceiling:
        problems.append(f"{at}: 'max_length' {high} is above the limit of {ceiling} for this type")
    return problems + _min_above_max(low, high, "length", at)


def _not_counts(field: Field, keys: tuple[str, str], at: str) -> list[str]:
    """The bounds of a count (a length, a number of items) that are given and are not whole numbers ≥ 0."""
    return [f"{at}: '{key}' must be a whole number ≥ 0" for key in keys if key in field and not _is_count(field[key])]


def _min_above_max(low: Any, high: Any, what: str, at: str) -> list[str]:
    """min_<what> above max_<what>, both whole numbers (a bound that is not was reported by _not_counts)."""
    if _is_count(low) and _is_count(high) and low > high:
        return [f"{at}: 'min_{what}' is greater than 'max_{what}'"]
    return []


# JavaScript RegExp has no look-behind in older engines, no (?P<name>), no inline
# flags, no \A \Z; Python `re` has no \u{...}. Patterns use what both share.
# Also refused: possessive quantifiers and \N{…} (JavaScript cannot compile them) and backreferences
# (an unmatched group matches nothing in Python, the empty string in JavaScript).
_NOT_PORTABLE = re.compile(r"(?<!\\)\(\?(?![:=!])|\\[AZz]|\\[pP]\{|\(\?<|[*+?}]\+|\\N|\\[1-9]")


def _check_pattern(field: Field, at: str) -> list[str]:
    if "pattern_message" in field:
        problems = _text_pair_problem(field["pattern_message"], "pattern_message", at, required=True)
        if "pattern" not in field:
            problems.append(f"{at}: 'pattern_message' without 'pattern'")
    else:
        problems = []
    if "pattern" not in field:
        return problems
    pattern = field["pattern"]
    if not isinstance(pattern, str) or not pattern:
        return problems + [f"{at}: 'pattern' must be a non-empty string"]
    try:
        compiled = re.compile(pattern, re.ASCII)
    except re.error as exc:
        return problems + [f"{at}: 'pattern' does not compile: {exc}"]
    if _NOT_PORTABLE.search(pattern):
        problems.append(f"{at}: 'pattern' uses syntax outside the common subset of Python and "
                        "JavaScript (no look-behind, named groups, inline flags, \\A, \\Z, \\p{}, possessive "
                        "quantifiers, \\N, backreferences)")
    if _has_nested_repeat(compiled.pattern):
        problems.append(f"{at}: 'pattern' repeats a repetition, e.g. (a+)+, which can take "
                        "exponential time; rewrite it without the nesting")
    return problems


def _has_nested_repeat(pattern: str) -> bool:
    """A quantified group that contains an unbounded quantifier: the classic slow regex."""
    # The parser of the standard library's own regex engine: present since 3.11, absent from typeshed.
    from re import _parser  # type: ignore[attr-defined]

    def walk(items: Any, inside_repeat: bool) -> bool:
        for op, arg in items:
            name = str(op)
            if name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
                low, high, sub = arg
                if inside_repeat and high == _parser.MAXREPEAT:
                    return True
                if walk(sub, inside_repeat or high > 1):
                    return True
            elif name == "SUBPATTERN":
                if walk(arg[-1], inside_repeat):
                    return True
            elif name == "BRANCH":
                if any(walk(branch, inside_repeat) for branch in arg[1]):
                    return True
            elif name in ("ASSERT", "ASSERT_NOT"):
                if walk(arg[1], inside_repeat):
                    return True
        return False

    return walk(_parser.parse(pattern), False)


def _check_bounds(field: Field, kind: str, at: str) -> list[str]:
    problems = []
    parsed: dict[str, Any] = {}
    for key in ("min", "max"):
        if key not in field:
            continue
        value = field[key]
        if kind == "number":
            if not _is_number(value):
                problems.append(f"{at}: '{key}' must be a number")
            else:
                parsed[key] = value
        elif value == "today":
            parsed[key] = "today"
        elif _parse_date(value) is None:
            problems.append(f"{at}: '{key}' must be a date YYYY-MM-DD or \"today\"")
        else:
            parsed[key] = _parse_date(value)
    low, high = parsed.get("min"), parsed.get("max")
    if low is not None and high is not None and "today" not in (low, high) and low > high:
        problems.append(f"{at}: 'min' is greater than 'max'")
    if kind == "number" and field.get("integer") is True:
        for key, value in parsed.items():
            if isinstance(value, float) and not value.is_integer():
                problems.append(f"{at}: '{key}' of an integer field should be a whole number")
    return problems


def _check_options(field: Field, at: str) -> list[str]:
    options = field.get("options")
    if not isinstance(options, list) or not options:
        return [f"{at}: a {field['type']} field needs a non-empty 'options' list"]
    problems = []
    seen: set[str] = set()
    for index, option in enumerate(options):
        where = f"{at}.options[{index}]"
        if not isinstance(option, dict) or not isinstance(option.get("value"), str) or not option["value"]:
            problems.append(f"{where}: an option needs a non-empty string 'value'")
            continue
        if set(option) - {"value", "label"}:
            problems.append(f"{where}: an option holds only 'value' and 'label'")
        if option["value"] in seen:
            problems.append(f"{where}: value '{option['value']}' is listed twice")
        seen.add(option["value"])
        problems += _text_pair_problem(option.get("label"), "label", where, required=True)
    return problems


def _check_item_counts(field: Field, kind: str, at: str) -> list[str]:
    problems = _not_counts(field, ("min_items", "max_items"), at)
    low, high = field.get("min_items", 0), field.get("max_items")
    if kind == "group" and _is_count(high) and high > LIMITS["group_max_items_ceiling"]:
        problems.append(f"{at}: 'max_items' is above the limit of {LIMITS['group_max_items_ceiling']}")
    if kind == "multichoice" and _is_count(low) and isinstance(field.get("options"), list) \
            and low > len(field["options"]):
        problems.append(f"{at}: 'min_items' is more than the number of options")
    return problems + _min_above_max(low, high, "items", at)


def _given_object(field: Field, key: str, at: str) -> tuple[dict[str, Any] | None, list[str]]:
    """A key that must hold an object when given (show_if, checks): (its object, []) to check further, or
    (None, []) when absent, (None, [the problem]) when it is not an object."""
    if key not in field:
        return None, []
    value = field[key]
    if not isinstance(value, dict):
        return None, [f"{at}: '{key}' must be an object"]
    return value, []


def _check_show_if(field: Field, siblings: dict[str, Field], at: str) -> list[str]:
    condition, problems = _given_object(field, "show_if", at)
    if condition is None:
        return problems
    tests = [t for t in CONDITION_TESTS if t in condition]
    problems = [f"{at}: show_if: unknown key '{k}'" for k in condition
                if k != "field" and k not in CONDITION_TESTS]
    if len(tests) != 1:
        problems.append(f"{at}: show_if needs exactly one of {', '.join(CONDITION_TESTS)}")
    ref = condition.get("field")
    if ref == field.get("name"):
        return problems + [f"{at}: show_if refers to the field itself"]
    if not isinstance(ref, str) or ref not in siblings:
        return problems + [f"{at}: show_if refers to {ref!r}, which is not a field at this level"]
    scalar = (str, int, float)
    if "equals" in condition and (not isinstance(condition["equals"], scalar)
                                  or isinstance(condition["equals"], bool)):
        problems.append(f"{at}: show_if 'equals' must be a string or a number")
    if "in" in condition and (not isinstance(condition["in"], list) or not condition["in"]):
        problems.append(f"{at}: show_if 'in' must be a non-empty list")
    if "not_empty" in condition and not isinstance(condition["not_empty"], bool):
        problems.append(f"{at}: show_if 'not_empty' must be true or false")
    target = siblings[ref]
    if target.get("type") in ("choice", "multichoice") and isinstance(target.get("options"), list):
        known = _declared_values(target["options"])
        wanted = [condition["equals"]] if "equals" in condition else condition.get("in", [])
        for value in wanted if isinstance(wanted, list) else []:
            if isinstance(value, (str, int, float)) and value not in known:
                problems.append(f"{at}: show_if tests '{ref}' for {value!r}, which is not one of its options")
    return problems


def _declared_values(options: list[Any]) -> set[str]:
    """The string values of a definition's options; anything else was reported by _check_options."""
    return {o["value"] for o in options if isinstance(o, dict) and isinstance(o.get("value"), str)}


def _check_condition_cycles(siblings: dict[str, Field], where: str) -> list[str]:
    """a shown if b, b shown if a: neither could ever appear."""
    problems = []
    for start in siblings:
        seen = [start]
        current = siblings[start]
        while isinstance(current.get("show_if"), dict):
            ref = current["show_if"].get("field")
            if not isinstance(ref, str) or ref not in siblings or ref == current.get("name"):
                break
            if ref == start:
                problems.append(f"{where}fields ({start}): show_if conditions form a cycle: "
                                + " -> ".join(seen + [start]))
                break
            if ref in seen:
                break  # a cycle not through start: reported from its own members
            seen.append(ref)
            current = siblings[ref]
    return problems


def _check_cccd_checks(field: Field, siblings: dict[str, Field], at: str) -> list[str]:
    checks, problems = _given_object(field, "checks", at)
    if checks is None:
        return problems
    problems = [f"{at}: checks: unknown key '{k}' (use birth_date, sex)"
                for k in checks if k not in ("birth_date", "sex")]
    wanted_type = {"birth_date": "date", "sex": "choice"}
    for key, kind in wanted_type.items():
        if key not in checks:
            continue
        target = siblings.get(checks[key]) if isinstance(checks[key], str) else None
        if target is None:
            problems.append(f"{at}: checks.{key} refers to {checks[key]!r}, which is not a field at this level")
        elif target.get("type") != kind:
            problems.append(f"{at}: checks.{key} must refer to a '{kind}' field, "
                            f"'{checks[key]}' is '{target.get('type')}'")
        elif key == "sex":
            options = target.get("options")
            values = _declared_values(options) if isinstance(options, list) else set()
            if values != {"male", "female"}:
                problems.append(f"{at}: checks.sex must refer to a choice with the options "
                                f"'male' and 'female', '{checks[key]}' has {sorted(map(str, values))}")
    return problems
