"""Citizens' accounts: registering, signing in, changing the password. Used by the API and the pages."""

from __future__ import annotations

from server import config
from server.accounts import throttle
from server.accounts.sessions import end_all_sessions
from server.web.errors import ApiError
from server.web.requests import FORBIDDEN_CHARACTERS
from server.models import CITIZEN, OFFICER_ROLES, User
from server.accounts.passwords import hash_password, password_problem, verify_password
from server.vietnamese import fold, nfc, normalize_phone

# Checked against a real hash when the phone is unknown, so a miss costs the same time as a hit.
_DUMMY_HASH = hash_password("motcua-dummy-password")


def parse_phone(raw: object) -> str:
    phone = normalize_phone(raw) if isinstance(raw, str) else None
    if phone is None:
        raise ApiError(400, "invalid_phone",
                       "Số điện thoại không hợp lệ: cần 10 chữ số, bắt đầu bằng 03, 05, 07, 08 hoặc 09 (hoặc +84).",
                       "Invalid phone number: 10 digits starting with 03, 05, 07, 08 or 09 (or +84).",
                       details=[{"path": "phone", "code": "invalid_phone"}])
    return phone


async def register_citizen(phone_raw: object, password: object, full_name: object) -> User:
    phone = parse_phone(phone_raw)
    if not isinstance(password, str) or (problem := password_problem(password)):
        raise ApiError(400, "weak_password", problem if isinstance(password, str) and problem else "Vui lòng nhập mật khẩu.",
                       "The password must have 8 to 200 characters.", details=[{"path": "password", "code": "weak_password"}])
    if not isinstance(full_name, str) or not (name := nfc(" ".join(full_name.split()))):
        raise ApiError(400, "required", "Vui lòng nhập họ và tên.", "Enter your full name.",
                       details=[{"path": "full_name", "code": "required"}])
    if FORBIDDEN_CHARACTERS.search(name):
        raise ApiError(400, "invalid_characters", "Họ và tên có ký tự không hợp lệ (ký tự điều khiển). Hãy gõ lại.",
                       "The full name contains control characters. Type it again.",
                       details=[{"path": "full_name", "code": "invalid_characters"}])
    if len(name) > 100:
        raise ApiError(400, "too_long", "Họ và tên dài quá 100 ký tự.", "The full name is longer than 100 characters.",
                       details=[{"path": "full_name", "code": "too_long"}])
    if await User.filter(phone=phone).exists():
        raise ApiError(409, "phone_taken", "Số điện thoại này đã có tài khoản. Hãy đăng nhập, hoặc dùng số khác.",
                       "This phone number already has an account. Sign in, or use another number.")
    return await User.create(phone=phone, full_name=name, full_name_folded=fold(name),
                             password_hash=hash_password(password), role=CITIZEN)


async def sign_in(phone_raw: object, password: object, address: str) -> User:
    phone = normalize_phone(phone_raw) if isinstance(phone_raw, str) else None
    keys = [(f"addr:{address}", throttle.PER_ADDRESS)]
    if phone:
        keys.insert(0, (f"phone:{phone}", throttle.PER_PHONE))
    await throttle.check_allowed(keys)
    user = await User.get_or_none(phone=phone).select_related("unit") if phone else None
    ok = verify_password(password if isinstance(password, str) else "", user.password_hash if user else _DUMMY_HASH)
    if user is None or not ok:
        await throttle.record_failure(keys)
        raise ApiError(401, "wrong_credentials", "Số điện thoại hoặc mật khẩu không đúng.",
                       "Wrong phone number or password.")
    await throttle.record_success(f"phone:{phone}")
    oidc = config.current().oidc
    if oidc and oidc.required_for_officers and user.role in OFFICER_ROLES:
        # checked after the password, so the answer tells a stranger nothing about which phones are officers'
        raise ApiError(403, "officer_must_use_oidc",
                       "Tài khoản cán bộ phải đăng nhập bằng VNeID / tài khoản định danh. "
                       "Hãy bấm “Đăng nhập bằng VNeID / tài khoản định danh”.",
                       "Officer accounts must sign in with VNeID (the identity provider).")
    return user


async def change_password(user: User, current: object, new: object) -> None:
    if not isinstance(current, str) or not verify_password(current, user.password_hash):
        raise ApiError(400, "wrong_password", "Mật khẩu hiện tại không đúng.", "The current password is wrong.")
    if not isinstance(new, str) or (problem := password_problem(new)):
        raise ApiError(400, "weak_password", problem if isinstance(new, str) and problem else "Vui lòng nhập mật khẩu mới.",
                       "The new password must have 8 to 200 characters.")
    user.password_hash = hash_password(new)
    await user.save(update_fields=["password_hash"])
    await end_all_sessions(user)


async def sign_out_everywhere(user: User) -> None:
    await end_all_sessions(user)
