"""What a document prints: the dossier, its procedure, units, events, documents received and dates, gathered once.

Dates print as on Vietnamese administrative documents ("ngày 25 tháng 11 năm 2026", DOMAIN.md) in Vietnam
time (UTC+7, no daylight saving), whatever the server's clock zone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

from server.dossiers import STATUS_NAMES
from server.models import AdministrativeUnit, Attachment, Dossier, DossierEvent
from server.vietnamese import format_date_vi

VIETNAM = timezone(timedelta(hours=7))

# What each workflow action is called on the processing-control record (phiếu kiểm soát).
ACTION_NAMES: dict[str, str] = {
    "create": "Tạo hồ sơ", "submit": "Nộp hồ sơ trực tuyến", "receive": "Tiếp nhận hồ sơ",
    "refuse": "Từ chối tiếp nhận", "start": "Bắt đầu xử lý", "request_supplement": "Yêu cầu bổ sung hồ sơ",
    "accept_supplement": "Nhận hồ sơ bổ sung", "request_payment": "Yêu cầu thực hiện nghĩa vụ tài chính",
    "payment_done": "Đã thực hiện nghĩa vụ tài chính", "withdraw": "Công dân yêu cầu rút hồ sơ",
    "stop": "Dừng xử lý", "finish": "Đã xử lý xong", "return": "Trả kết quả", "apologise": "Xin lỗi, hẹn lại ngày trả",
    "assign": "Giao xử lý", "forward": "Chuyển hồ sơ (liên thông)", "record_postal": "Ghi nhận bưu gửi",
    "send_supplement": "Công dân gửi bổ sung hồ sơ",
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
    procedure_days: Any
    unit_name: str
    handling_unit_name: str
    place: str  # the place name printed before the date: "Phường Vĩnh Yên, ngày …"
    applicant: Applicant
    documents: list[ReceivedDocument]
    events: list[EventRow]
    status_name: str
    channel_name: str
    today: str
    tracking_url: str = ""

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
            "vi_time": vi_time, "vi_date": vi_date,
        }


def _form_value(data: dict, form: dict, kind: str) -> str:
    """The first top-level form field of a type (phone, cccd…): forms name their fields differently."""
    for item in form.get("fields", []):
        value = data.get(item.get("name"))
        if item.get("type") == kind and isinstance(value, str) and value.strip():
            return value.strip()
    return ""


def applicant_of(dossier: Dossier) -> Applicant:
    data = dossier.data if isinstance(dossier.data, dict) else {}
    form = dossier.procedure_version.content.get("form", {})
    name = ""
    for item in form.get("fields", []):
        value = data.get(item.get("name"))
        if item.get("type") == "text" and str(item.get("name", "")).endswith("name") and isinstance(value, str):
            name = value.strip()
            break
    address = ""
    for item in form.get("fields", []):
        value = data.get(item.get("name"))
        if item.get("type") == "address" and isinstance(value, dict):
            address = str(value.get("detail") or "").strip()
            break
    owner = dossier.owner if dossier.owner_id else None
    return Applicant(name=(owner.full_name if owner else "") or name,
                     phone=(owner.phone if owner else "") or _form_value(data, form, "phone"),
                     cccd=(owner.cccd if owner and owner.cccd else "") or _form_value(data, form, "cccd"),
                     address=address)


def _copies(entry: dict) -> str:
    copies = entry.get("copies") or 1
    return f"{copies} {'bản chính' if entry.get('original') else 'bản sao'}"


async def _documents(dossier: Dossier) -> list[ReceivedDocument]:
    """The procedure's document list with the pages received for each, then any other document sent."""
    pages: dict[str, int] = {}
    for name in await Attachment.filter(dossier_id=dossier.id, status="verified").values_list("document", flat=True):
        pages[name] = pages.get(name, 0) + 1
    listed = [entry for entry in dossier.procedure_version.content.get("documents", []) if isinstance(entry, dict)]
    rows = [ReceivedDocument(str(entry.get("name", "")), _copies(entry), pages.pop(str(entry.get("name", "")), 0))
            for entry in listed if entry.get("required") or pages.get(str(entry.get("name", "")))]
    rows += [ReceivedDocument(name, "bản điện tử", count) for name, count in sorted(pages.items())]
    return rows


async def _events(dossier: Dossier) -> list[EventRow]:
    events = await (DossierEvent.filter(dossier_id=dossier.id).order_by("at", "id")
                    .select_related("actor", "from_unit", "to_unit"))
    return [EventRow(at=event.at, at_text=vi_time(event.at), action=event.action,
                     action_name=ACTION_NAMES.get(event.action, event.action),
                     from_status=STATUS_NAMES[event.from_status][0] if event.from_status in STATUS_NAMES else "",
                     to_status=STATUS_NAMES[event.to_status][0] if event.to_status in STATUS_NAMES else "",
                     from_unit=event.from_unit.name if event.from_unit_id else "",
                     to_unit=event.to_unit.name if event.to_unit_id else "",
                     actor=event.actor.full_name if event.actor_id else "", note=event.note, raw=event)
            for event in events]


async def load_dossier(dossier_id: str) -> Dossier | None:
    return await Dossier.get_or_none(id=dossier_id).select_related(
        "procedure_version__procedure", "unit", "handling_unit", "owner")


async def gather(dossier: Dossier, tracking_url: str = "") -> DocumentContext:
    procedure = dossier.procedure_version.procedure
    unit: AdministrativeUnit | None = dossier.unit if dossier.unit_id else None
    handling = dossier.handling_unit if dossier.handling_unit_id else unit
    return DocumentContext(
        dossier=dossier, procedure_name=str(dossier.procedure_version.content.get("name") or procedure.name),
        procedure_code=procedure.code, procedure_days=procedure.processing_days,
        unit_name=unit.name if unit else "", handling_unit_name=handling.name if handling else "",
        place=unit.name if unit else "", applicant=applicant_of(dossier), documents=await _documents(dossier),
        events=await _events(dossier), status_name=STATUS_NAMES.get(dossier.status, ("", ""))[0],
        channel_name=CHANNEL_NAMES.get(dossier.channel, dossier.channel),
        today=vi_date(datetime.now(timezone.utc)), tracking_url=tracking_url)
