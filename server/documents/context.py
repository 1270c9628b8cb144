"""What a document prints: the dossier, its procedure, units, events, documents received and dates, gathered once.

Dates print as on Vietnamese administrative documents ("ngày 25 tháng 11 năm 2026", docs/domain.md) in Vietnam
time (UTC+7, no daylight saving), whatever the server's clock zone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any, cast

from server.catalog.fees import fee_for, fee_text
from server.dossiers.records import STATUS_NAMES
from server.catalog.generic import CASE_FIELD
from server.workflow.deadlines import processing_time
from server.models import AdministrativeUnit, Attachment, Dossier, DossierEvent
from server.vietnamese import format_date_vi

VIETNAM = timezone(timedelta(hours=7))

# What each workflow action is called on the processing-control record (phiếu kiểm soát).
ACTION_NAMES: dict[str, str] = {
    "create": "Tạo hồ sơ", "submit": "Nộp hồ sơ trực tuyến", "receive": "Tiếp nhận hồ sơ",
    "refuse": "Từ chối tiếp nhận", "start": "Bắt đầu xử lý", "request_supplement": "Yêu cầu bổ sung hồ sơ",
    "accept_supplement": "Nhận hồ sơ bổ sung", "request_payment": "Yêu cầu thực hiện nghĩa vụ tài chính",
    "payment_done": "Đã thực hiện nghĩa vụ tài chính", "withdraw": "Công dân yêu cầu rút hồ sơ",
    "stop": "Dừng xử lý", "finish": "Đã xử lý xong, trình ký kết quả", "approve": "Lãnh đạo ký duyệt kết quả",
    "return": "Trả kết quả", "apologise": "Xin lỗi, hẹn lại ngày trả",
    "assign": "Giao xử lý", "forward": "Chuyển hồ sơ (liên thông)", "record_postal": "Ghi nhận bưu gửi",
    "send_supplement": "Công dân gửi bổ sung hồ sơ",
    "claim": "Công dân nhận hồ sơ vào tài khoản",  # a walk-in dossier linked to its citizen (workflow/ownership.py)
}

CHANNEL_NAMES = {"online": "Trực tuyến", "direct": "Trực tiếp", "postal": "Bưu chính công ích",
                 "field": "Tiếp nhận lưu động"}


def local(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    if moment.tzinfo is None:  # SQLite hands back naive UTC
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(VIETNAM)


def vi_date(value: date | datetime | None) -> str:
    """"ngày 25 tháng 11 năm 2026"; a datetime is taken in Vietnam time first."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = local(value).date()  # type: ignore[union-attr]
    return format_date_vi(value)


def vi_time(value: datetime | None) -> str:
    """"10 giờ 05 phút, ngày 25 tháng 11 năm 2026", the form of the processing-control record."""
    moment = local(value)
    if moment is None:
        return ""
    return f"{moment.hour:02d} giờ {moment.minute:02d} phút, {vi_date(moment)}"


def place_name(unit: AdministrativeUnit | None) -> str:
    """The place before the date, the name without its kind: "Vĩnh Yên, ngày …" (Decree 30/2020/NĐ-CP, Appendix I)."""
    if unit is None:
        return ""
    kind = (unit.kind or "").strip()
    if kind and unit.name.lower().startswith(kind.lower() + " "):
        return unit.name[len(kind) + 1:].strip()
    return unit.name


def _with_kind(unit: AdministrativeUnit) -> str:
    """"Phường Vĩnh Yên": the unit's name with its kind (the data may hold the name with or without it)."""
    kind = (unit.kind or "").strip()
    return unit.name if not kind or unit.name.lower().startswith(kind.lower()) else f"{kind} {unit.name}"


def _full_name(unit: AdministrativeUnit) -> str:
    """"PHƯỜNG VĨNH YÊN": the unit's name with its kind, in capitals as a header prints it."""
    kind = (unit.kind or "").strip()
    name = unit.name if not kind or unit.name.lower().startswith(kind.lower()) else f"{kind} {unit.name}"
    return name.upper()


def governing_body(unit: AdministrativeUnit | None) -> str:
    """The header's first line: the governing body, "ỦY BAN NHÂN DÂN PHƯỜNG VĨNH YÊN" (Decree 30/2020)."""
    return f"ỦY BAN NHÂN DÂN {_full_name(unit)}" if unit else ""


def service_centre(unit: AdministrativeUnit | None) -> str:
    """The issuer below it: the unit's public administrative service centre (Decree 118/2025/NĐ-CP Art. 1)."""
    return f"TRUNG TÂM PHỤC VỤ HÀNH CHÍNH CÔNG {_full_name(unit)}" if unit else ""


def police_lines(unit: AdministrativeUnit | None) -> tuple[str, str]:
    """The police's header: the province's police above the commune's ("CÔNG AN TỈNH PHÚ THỌ", "CÔNG AN PHƯỜNG
    VĨNH YÊN"), the issuer of forms CT04–CT06 (Circular 66/2023/TT-BCA)."""
    if unit is None:
        return "", ""
    parent = unit.parent if unit.parent_id else None
    return (f"CÔNG AN {_full_name(parent)}" if parent is not None else ""), f"CÔNG AN {_full_name(unit)}"


def short_date(value: datetime | None) -> str:
    moment = local(value)
    return moment.strftime("%d/%m/%Y") if moment else ""


@dataclass
class Applicant:
    """The person the documents are addressed to: the owner's account, or the form for a dossier taken at the desk."""

    name: str = ""
    phone: str = ""
    cccd: str = ""
    address: str = ""


@dataclass
class ReceivedDocument:
    name: str
    copies: str  # "1 bản chính", as the catalog states it
    pages: int  # pages received electronically (verified files)
    # The declaration (tờ khai) the procedure's own form fills in: no photo of it is asked for (docs/catalog.md
    # "Documents"), so it is handed in when the form holds answers, not when it has pages.
    declaration: bool = False
    filled: bool = False

    @property
    def handed_in(self) -> bool:
        """Whether the citizen actually gave this document: pages received, or the declaration filled in. Receipts
        from version 3 list only these (a required document with no page is missing, not "0 trang")."""
        return self.pages > 0 or (self.declaration and self.filled)


@dataclass
class EventRow:
    at: datetime
    at_text: str
    action: str
    action_name: str
    from_status: str
    to_status: str
    from_unit: str
    to_unit: str
    actor: str
    note: str
    raw: DossierEvent = field(repr=False)


@dataclass
class DocumentContext:
    dossier: Dossier
    procedure_name: str
    procedure_code: str
    procedure_time: tuple[Any, str]  # (amount, unit) for the dossier's channel (workflow.deadlines.processing_time)
    unit_name: str
    handling_unit_name: str
    place: str  # the place name printed before the date: "Vĩnh Yên, ngày …"
    applicant: Applicant
    documents: list[ReceivedDocument]
    events: list[EventRow]
    status_name: str
    channel_name: str
    today: str
    tracking_url: str = ""
    unit: AdministrativeUnit | None = None
    police: bool = False  # a procedure the police handle (the catalog's "handled_by": "police")
    fee: str = ""  # "Phí, lệ phí" of the dossier on its channel (server/catalog/fees.py)

    def header(self) -> dict[str, str]:
        """The issuer lines: the governing body and the centre, or for the police's forms the province's and the
        commune's police."""
        if self.police:
            governing, issuer = police_lines(self.unit)
        else:
            governing, issuer = governing_body(self.unit), service_centre(self.unit)
        name = self.unit.name if self.unit else ""
        in_text = name[:1].lower() + name[1:]  # "phường Vĩnh Yên" inside a sentence
        issuer_name = f"Công an {in_text}" if self.police else f"Trung tâm Phục vụ hành chính công {in_text}"
        return {"governing": governing, "issuer": issuer, "issuer_name": issuer_name}

    def last_event(self, action: str) -> EventRow | None:
        matching = [event for event in self.events if event.action == action]
        return matching[-1] if matching else None

    def as_dict(self) -> dict[str, Any]:
        d = self.dossier
        return {
            "dossier": d, "code": d.code or "", "procedure_name": self.procedure_name,
            "procedure_code": self.procedure_code, "unit_name": self.unit_name,
            "handling_unit_name": self.handling_unit_name, "place": self.place, "applicant": self.applicant,
            "documents": self.documents, "events": self.events, "status_name": self.status_name,
            "channel_name": self.channel_name, "today": self.today, "tracking_url": self.tracking_url,
            "received_at": vi_time(d.received_at), "received_date": vi_date(d.received_at),
            "due_at": vi_time(d.due_at), "due_date": vi_date(d.due_at), "submitted_at": vi_time(d.submitted_at),
            "returned_at": vi_time(d.returned_at), "last_event": self.last_event,
            "original_due_date": vi_date(d.original_due_at), **self.header(),
            "vi_time": vi_time, "vi_date": vi_date, "fee": self.fee,
        }


def _form_value(data: dict[str, Any], form: dict[str, Any], kind: str) -> str:
    """The first top-level form field of a type (phone, cccd…): forms name their fields differently."""
    for item in form.get("fields", []):
        value = data.get(item.get("name"))
        if item.get("type") == kind and isinstance(value, str) and value.strip():
            return value.strip()
    return ""


def _address_of(data: dict[str, Any], form: dict[str, Any]) -> dict[str, Any]:
    """The value of the form's first address field ({"commune_code", "detail"}), or {}."""
    for item in form.get("fields", []):
        value = data.get(item.get("name"))
        if item.get("type") == "address" and isinstance(value, dict):
            return value
    return {}


async def commune_places(dossiers: list[Dossier]) -> dict[str, str]:
    """commune code -> "Phường Vĩnh Yên, Tỉnh Phú Thọ": the commune chosen in each dossier's address and the units
    above it, in force today, for the printed address (a ward's name alone is not an address: many provinces have
    a "Phường 1"). Two queries for any number of dossiers (the unit register prints hundreds)."""
    codes = set()
    for dossier in dossiers:
        data = dossier.data if isinstance(dossier.data, dict) else {}
        code = _address_of(data, dossier.procedure_version.content.get("form", {})).get("commune_code")
        if isinstance(code, str) and code:
            codes.add(code)
    if not codes:
        return {}
    communes = await AdministrativeUnit.filter(code__in=codes, valid_to__isnull=True)
    above: dict[int, AdministrativeUnit] = {}
    wanted = {unit.parent_id for unit in communes if unit.parent_id}
    for _ in range(2):  # a district (on a date that still has them) and its province
        if not wanted:
            break
        found = await AdministrativeUnit.filter(id__in=wanted)
        above.update({unit.id: unit for unit in found})
        wanted = {unit.parent_id for unit in found if unit.parent_id and unit.parent_id not in above}
    places = {}
    for unit in communes:
        names, current = [_with_kind(unit)], above.get(unit.parent_id) if unit.parent_id else None
        while current is not None and len(names) < 3:
            names.append(_with_kind(current))
            current = above.get(current.parent_id) if current.parent_id else None
        places[unit.code] = ", ".join(names)
    return places


def applicant_of(dossier: Dossier, places: dict[str, str] | None = None) -> Applicant:
    """The applicant; `places` (commune_places) names the commune of the address, else only its detail is printed."""
    data = dossier.data if isinstance(dossier.data, dict) else {}
    form = dossier.procedure_version.content.get("form", {})
    name = ""
    for item in form.get("fields", []):
        value = data.get(item.get("name"))
        if item.get("type") == "text" and str(item.get("name", "")).endswith("name") and isinstance(value, str):
            name = value.strip()
            break
    value = _address_of(data, form)
    commune = value.get("commune_code")
    place = (places or {}).get(commune, "") if isinstance(commune, str) else ""
    address = ", ".join(part for part in (str(value.get("detail") or "").strip(), place) if part)
    owner = dossier.owner if dossier.owner_id else None
    return Applicant(name=(owner.full_name if owner else "") or name,
                     phone=(owner.phone if owner else "") or _form_value(data, form, "phone"),
                     cccd=(owner.cccd if owner and owner.cccd else "") or _form_value(data, form, "cccd"),
                     address=address)


def _copies(entry: dict[str, Any]) -> str:
    copies = entry.get("copies") or 1
    return f"{copies} {'bản chính' if entry.get('original') else 'bản sao'}"


def _form_filled(data: dict[str, Any], form: dict[str, Any]) -> bool:
    """Whether the dossier's form holds an answer to any of its fields (the declaration it fills in)."""
    names = {str(item.get("name")) for item in form.get("fields", []) if isinstance(item, dict)}
    return any(value not in (None, "", [], {}) for name, value in data.items() if name in names)


async def _documents(dossier: Dossier) -> list[ReceivedDocument]:
    """The procedure's document list with the pages received for each, then any other document sent."""
    pages: dict[str, int] = {}
    # values_list(flat=True): tortoise's stub says tuples
    names = cast("list[str]", await Attachment.filter(dossier_id=dossier.id, status="verified").values_list("document", flat=True))
    for name in names:
        pages[name] = pages.get(name, 0) + 1
    content = dossier.procedure_version.content
    listed = [entry for entry in content.get("documents", []) if isinstance(entry, dict)]
    filled = _form_filled(dossier.data if isinstance(dossier.data, dict) else {}, content.get("form", {}))
    rows = [ReceivedDocument(str(entry.get("name", "")), _copies(entry), pages.pop(str(entry.get("name", "")), 0),
                             declaration=bool(entry.get("declaration")), filled=filled)
            for entry in listed if entry.get("required") or pages.get(str(entry.get("name", "")))]
    rows += [ReceivedDocument(name, "bản điện tử", count) for name, count in sorted(pages.items())]
    return rows


async def _fee(dossier: Dossier, documents: list[ReceivedDocument]) -> str:
    pages = {document.name: document.pages for document in documents}
    data = dossier.data if isinstance(dossier.data, dict) else {}
    quote = fee_for(dossier.procedure_version.content, dossier.channel, data, pages)
    if dossier.fee_amount_vnd is not None:  # fixed when payment was requested (docs/payments.md): that is owed
        quote = {**quote, "amount_vnd": dossier.fee_amount_vnd}
    return fee_text(quote)


async def _events(dossier: Dossier) -> list[EventRow]:
    events = await (DossierEvent.filter(dossier_id=dossier.id).order_by("at", "id")
                    .select_related("actor", "from_unit", "to_unit"))
    return [EventRow(at=event.at, at_text=vi_time(event.at), action=event.action,
                     action_name=ACTION_NAMES.get(event.action, event.action),
                     from_status=STATUS_NAMES[event.from_status][0] if event.from_status in STATUS_NAMES else "",
                     to_status=STATUS_NAMES[event.to_status][0] if event.to_status in STATUS_NAMES else "",
                     from_unit=event.from_unit.name if event.from_unit_id and event.from_unit else "",
                     to_unit=event.to_unit.name if event.to_unit_id and event.to_unit else "",
                     actor=event.actor.full_name if event.actor_id and event.actor else "", note=event.note, raw=event)
            for event in events]


async def load_dossier(dossier_id: str) -> Dossier | None:
    return await Dossier.get_or_none(id=dossier_id).select_related(
        "procedure_version__procedure", "unit__parent", "handling_unit", "owner")


async def gather(dossier: Dossier, tracking_url: str = "") -> DocumentContext:
    procedure = dossier.procedure_version.procedure
    unit: AdministrativeUnit | None = dossier.unit if dossier.unit_id else None
    handling = dossier.handling_unit if dossier.handling_unit_id else unit
    documents = await _documents(dossier)
    return DocumentContext(
        dossier=dossier, procedure_name=str(dossier.procedure_version.content.get("name") or procedure.name),
        procedure_code=procedure.code,
        procedure_time=processing_time(procedure, dossier.procedure_version.content, dossier.channel,
                                       (dossier.data if isinstance(dossier.data, dict) else {}).get(CASE_FIELD)),
        unit_name=unit.name if unit else "", handling_unit_name=handling.name if handling else "",
        place=place_name(unit), applicant=applicant_of(dossier, await commune_places([dossier])), documents=documents,
        events=await _events(dossier), status_name=STATUS_NAMES.get(dossier.status, ("", ""))[0],
        channel_name=CHANNEL_NAMES.get(dossier.channel, dossier.channel),
        today=vi_date(datetime.now(timezone.utc)), tracking_url=tracking_url, unit=unit,
        police=dossier.procedure_version.content.get("handled_by") == "police", fee=await _fee(dossier, documents))
