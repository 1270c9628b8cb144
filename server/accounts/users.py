"""Creating accounts from the command line (officers are never self-registered)."""

from __future__ import annotations

from server.models import OFFICER_ROLES, ROLES, AdministrativeUnit, User
from server.accounts.passwords import hash_password, password_problem
from server.vietnamese import fold, nfc, normalize_phone


async def add_user(*, phone: str, name: str, role: str, unit_code: str | None, password: str) -> User:
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
    name = nfc(" ".join(name.split()))
    return await User.create(phone=normalized, full_name=name, full_name_folded=fold(name), role=role, unit=unit,
                             password_hash=hash_password(password))
