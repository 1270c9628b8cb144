"""What `motcua seed` loads so that a newcomer sees motcua working: catalog, units, demo accounts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from server.catalog.shipped import import_shipped_catalog
from server.workflow.holidays import load_shipped_holidays_if_empty
from server.models import AdministrativeUnit, Procedure, User
from server.accounts.passwords import hash_password
from server.catalog.units import DEFAULT_FILES, UNITS_DIR, import_units_file
from server.vietnamese import fold

# The demo's commune office: a ward of Phú Thọ province since 1 July 2025 (formerly Vĩnh Yên, Vĩnh Phúc).
DEMO_UNIT_NAME = "Vĩnh Yên"


@dataclass(frozen=True)
class DemoAccount:
    phone: str
    password: str
    name: str
    role: str
    role_vi: str


DEMO_ACCOUNTS = (
    DemoAccount("0912345678", "congdan123", "Nguyễn Thị Lan", "citizen", "Công dân"),
    DemoAccount("0987000001", "tiepnhan123", "Trần Văn Minh", "intake", "Cán bộ tiếp nhận"),
    DemoAccount("0987000002", "chuyenvien123", "Lê Thị Hoa", "specialist", "Chuyên viên"),
    DemoAccount("0987000003", "lanhdao123", "Phạm Quốc Hùng", "leader", "Lãnh đạo"),
    DemoAccount("0987000004", "quantri123", "Đỗ Văn Tâm", "admin", "Quản trị"),
)


async def demo_unit() -> AdministrativeUnit | None:
    units = AdministrativeUnit.filter(level="commune", valid_to__isnull=True)
    return (await units.filter(name_folded__contains=fold(DEMO_UNIT_NAME)).order_by("code").first()
            or await units.order_by("code").first())


async def seed() -> dict[str, Any]:
    for name in DEFAULT_FILES:
        await import_units_file(UNITS_DIR / name)
    await import_shipped_catalog()  # a real commune's whole list, the hand-made forms kept (docs/catalog.md)
    await load_shipped_holidays_if_empty()  # holidays and make-up days for deadlines (docs/workflow.md)
    unit = await demo_unit()
    for account in DEMO_ACCOUNTS:
        if await User.filter(phone=account.phone).exists():
            continue
        await User.create(phone=account.phone, full_name=account.name, full_name_folded=fold(account.name),
                          role=account.role, unit=None if account.role == "citizen" else unit,
                          password_hash=hash_password(account.password))
    return {"procedures": await Procedure.all().count(), "units": await AdministrativeUnit.all().count()}
