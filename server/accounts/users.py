"""Creating accounts from the command line (officers are never self-registered), and the personal identification
number (số định danh cá nhân) that links an account to the identity provider (server/accounts/oidc.py)."""

from __future__ import annotations

import re

from server.models import OFFICER_ROLES, ROLES, AdministrativeUnit, User
from server.accounts.passwords import hash_password, password_problem
from server.vietnamese import fold, nfc, normalize_phone

# Twelve ASCII digits: `\d` would also take Arabic-Indic or full-width digits, which no register issues.
PERSONAL_ID = re.compile(r"[0-9]{12}")


def is_personal_id(value: str) -> bool:
    return PERSONAL_ID.fullmatch(value) is not None


async def add_user(*, phone: str, name: str, role: str, unit_code: str | None, password: str,
                   personal_id: str | None = None) -> User:
    normalized = normalize_phone(phone)
    if normalized is None:
        raise ValueError(f"{phone!r} is not a Vietnamese mobile number (10 digits starting 03/05/07/08/09, or +84…)")
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; use one of {', '.join(ROLES)}")
    if problem := password_problem(password):
        raise ValueError(problem)
    unit = None
    if role in OFFICER_ROLES:
        if not unit_code:
            raise ValueError("an officer needs --unit CODE (the code of their administrative unit)")
        unit = await AdministrativeUnit.filter(code=unit_code, valid_to__isnull=True).first()
        if unit is None:
            raise ValueError(f"no administrative unit in force has code {unit_code!r}; run `motcua units import` first")
    if await User.filter(phone=normalized).exists():
        raise ValueError(f"an account with phone {normalized} already exists")
    if personal_id is not None:
        await _check_personal_id(personal_id, None)
    name = nfc(" ".join(name.split()))
    return await User.create(phone=normalized, full_name=name, full_name_folded=fold(name), role=role, unit=unit,
                             password_hash=hash_password(password), cccd=personal_id)


async def _check_personal_id(personal_id: str, owner: User | None) -> None:
    if not is_personal_id(personal_id):
        raise ValueError(f"{personal_id!r} is not a personal identification number (12 digits 0-9)")
    other = await User.filter(cccd=personal_id).first()
    if other is not None and (owner is None or other.id != owner.id):
        raise ValueError(f"personal id {personal_id} already belongs to the account {other.phone}")


async def set_personal_id(*, phone: str, personal_id: str | None) -> User:
    """Links an existing account (an officer's, typically) to the person the identity provider will assert, so that
    OIDC_REQUIRED_FOR_OFFICERS can be turned on; None unlinks it."""
    normalized = normalize_phone(phone)
    user = await User.filter(phone=normalized).first() if normalized else None
    if user is None:
        raise ValueError(f"no account has phone {phone!r}")
    if personal_id is not None:
        await _check_personal_id(personal_id, user)
    user.cccd = personal_id
    await user.save(update_fields=["cccd"])
    return user
