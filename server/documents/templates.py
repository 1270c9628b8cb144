"""The registry of documents: kind → versioned template file, its legal source, and when it applies.

A template is a jinja2 file under pwa/templates/documents/ named `<kind>.v<version>.html`. Changing what a
form prints means adding a new version file and pointing the registry at it (docs/documents.md). The version is
kept where it is not printed: the page's `data-template` attribute and the PDF's metadata (subject), never on the
paper itself — a legal form carries no internal label.

Version 2 follows Circular 03/2025/TT-VPCP, Appendix I (forms 01–07), with the issuer lines of Decree 118/2025/NĐ-CP
Art. 1; residence procedures of the police print the police's own forms CT04–CT06 (Circular 66/2023/TT-BCA).
Receipt version 3 lists only the documents actually handed in. A new version replaces an old one from a date
(`since`): a document issued before it — the date of issue is the step it records — keeps printing on the version
it was first printed with (`earlier`), so a reprint of an old receipt reads as the paper the citizen holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Callable, Optional

from server.documents.context import DocumentContext, local
from server.dossiers.status import DossierStatus

REFUSED, STOPPED = DossierStatus.REFUSED, DossierStatus.STOPPED


@dataclass(frozen=True)
class DocumentTemplate:
    kind: str
    version: int
    title: str  # the heading printed on the form
    title_en: str
    legal_source: str
    applies: Callable[[DocumentContext], bool]  # does the dossier have this document yet?
    not_yet: str  # the Vietnamese message when it does not
    landscape: bool = False
    form_number: str = ""  # printed at the top right: "Mẫu số 01", "Mẫu CT04"
    paper: str = "A4"  # "A5" for forms 01–06 (Circular 03/2025), "A4" for the register
    # The document's own number: its series (a sequence per unit and year) and the symbol after the number
    # ("12/TB-TTPVHCC"); no series → the form has no number of its own (the control record, the register).
    series: str = ""
    symbol: str = ""
    issued: Callable[[DocumentContext], datetime | None] = lambda ctx: None  # the date of issue, printed
    file_kind: str = ""  # the template file's name when it differs from the kind (the police's forms)
    # In force for documents issued from `since` on; one issued earlier prints on `earlier` (docs/documents.md).
    since: datetime | None = None
    earlier: Optional["DocumentTemplate"] = None

    @property
    def file(self) -> str:
        return f"documents/{self.file_kind or self.kind}.v{self.version}.html"

    @property
    def label(self) -> str:
        """Which template and version produced a copy: kept in the page's data attribute and the PDF metadata."""
        return f"{self.file_kind or self.kind} v{self.version}"


def _received(ctx: DocumentContext) -> bool:
    return ctx.dossier.received_at is not None and ctx.dossier.status != REFUSED


def _event_at(action: str) -> Callable[[DocumentContext], datetime | None]:
    def at(ctx: DocumentContext) -> datetime | None:
        event = ctx.last_event(action)
        return event.at if event else None
    return at


def _apology_at(ctx: DocumentContext) -> datetime | None:
    event = ctx.last_event("apologise")
    return event.at if event else ctx.dossier.apology_sent_at


CIRCULAR = "Thông tư 03/2025/TT-VPCP, Phụ lục I"
VIETNAM = timezone(timedelta(hours=7))
# Receipt v3 (only the documents handed in) is in force for receptions from this day, Vietnam time.
RECEIPT_V3_SINCE = datetime(2026, 12, 6, tzinfo=VIETNAM)
POLICE = "Thông tư 66/2023/TT-BCA (sửa đổi Thông tư 56/2021/TT-BCA)"

# Version 2 listed every required document, "0 trang" included (the declaration the form fills in among them).
RECEIPT_V2 = DocumentTemplate(
    "receipt", 2, "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ", "Receipt and appointment",
    f"{CIRCULAR}, Mẫu số 01", _received, "Hồ sơ chưa được tiếp nhận nên chưa có giấy tiếp nhận và hẹn trả kết quả.",
    form_number="Mẫu số 01", paper="A5", series="receipt", symbol="TNHS-TTPVHCC",
    issued=lambda ctx: ctx.dossier.received_at)

TEMPLATES: dict[str, DocumentTemplate] = {t.kind: t for t in (
    DocumentTemplate(
        "receipt", 3, RECEIPT_V2.title, RECEIPT_V2.title_en, RECEIPT_V2.legal_source, _received, RECEIPT_V2.not_yet,
        form_number="Mẫu số 01", paper="A5", series="receipt", symbol="TNHS-TTPVHCC",
        issued=RECEIPT_V2.issued, since=RECEIPT_V3_SINCE, earlier=RECEIPT_V2),
    DocumentTemplate(
        "supplement_request", 2, "PHIẾU YÊU CẦU BỔ SUNG, HOÀN THIỆN HỒ SƠ", "Request to supplement the dossier",
        f"{CIRCULAR}, Mẫu số 02", lambda ctx: ctx.last_event("request_supplement") is not None,
        "Cơ quan chưa yêu cầu bổ sung hồ sơ này nên chưa có phiếu yêu cầu bổ sung.",
        form_number="Mẫu số 02", paper="A5", series="supplement_request", symbol="YCBS-TTPVHCC",
        issued=_event_at("request_supplement")),
    DocumentTemplate(
        "refusal", 2, "PHIẾU TỪ CHỐI TIẾP NHẬN GIẢI QUYẾT HỒ SƠ", "Refusal to receive the dossier",
        f"{CIRCULAR}, Mẫu số 03", lambda ctx: ctx.dossier.status == REFUSED,
        "Hồ sơ không bị từ chối tiếp nhận nên không có phiếu từ chối.",
        form_number="Mẫu số 03", paper="A5", series="refusal", symbol="TCHS-TTPVHCC", issued=_event_at("refuse")),
    DocumentTemplate(
        "apology", 2, "VĂN BẢN XIN LỖI VÀ ĐỀ NGHỊ GIA HẠN THỜI GIAN GIẢI QUYẾT HỒ SƠ",
        "Apology and request to extend the processing time",
        f"{CIRCULAR}, Mẫu số 04 (Nghị định 118/2025/NĐ-CP: xin lỗi khi giải quyết quá hạn)",
        lambda ctx: ctx.last_event("apologise") is not None or ctx.dossier.apology_sent_at is not None,
        "Hồ sơ chưa có văn bản xin lỗi và hẹn lại ngày trả kết quả.",
        form_number="Mẫu số 04", paper="A5", series="apology", symbol="XL-TTPVHCC", issued=_apology_at),
    DocumentTemplate(
        "stop_notice", 2, "THÔNG BÁO VỀ VIỆC DỪNG GIẢI QUYẾT HỒ SƠ", "Notice that processing stopped",
        f"{CIRCULAR}, Mẫu số 05", lambda ctx: ctx.dossier.status == STOPPED,
        "Hồ sơ không bị dừng xử lý nên không có thông báo dừng.",
        form_number="Mẫu số 05", paper="A5", series="stop_notice", symbol="TB-TTPVHCC", issued=_event_at("stop")),
    DocumentTemplate(
        "payment_receipt", 2, "XÁC NHẬN ĐÃ NỘP PHÍ, LỆ PHÍ", "Confirmation that the fee was paid",
        "docs/payments.md (xác nhận của cơ quan; biên lai thu phí, lệ phí theo Nghị định 123/2020/NĐ-CP do hệ thống "
        "thu phí phát hành)", lambda ctx: ctx.dossier.paid_at is not None,
        "Hồ sơ chưa ghi nhận khoản nộp phí, lệ phí nào nên chưa có xác nhận đã nộp.", paper="A5",
        issued=lambda ctx: ctx.dossier.paid_at),
    DocumentTemplate(
        "control_record", 2, "PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ", "Processing-control record",
        f"{CIRCULAR}, Mẫu số 06", lambda ctx: ctx.dossier.status != DossierStatus.DRAFT,
        "Bản nháp chưa có phiếu kiểm soát quá trình giải quyết.", form_number="Mẫu số 06", paper="A5"),
)}

# Residence procedures of the police (the catalog's "handled_by": "police"): the police's own forms replace 01–03.
POLICE_TEMPLATES: dict[str, DocumentTemplate] = {t.kind: t for t in (
    DocumentTemplate(
        "receipt", 1, "PHIẾU TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ", "Receipt and appointment (police)",
        f"{POLICE}, Mẫu CT04", _received, TEMPLATES["receipt"].not_yet, form_number="Mẫu CT04", paper="A5",
        series="ct04", symbol="TNHS-CA", issued=lambda ctx: ctx.dossier.received_at, file_kind="police_ct04"),
    DocumentTemplate(
        "supplement_request", 1, "PHIẾU HƯỚNG DẪN BỔ SUNG, HOÀN THIỆN HỒ SƠ", "Request to supplement (police)",
        f"{POLICE}, Mẫu CT05", TEMPLATES["supplement_request"].applies, TEMPLATES["supplement_request"].not_yet,
        form_number="Mẫu CT05", paper="A5", series="ct05", symbol="HDBS-CA", issued=_event_at("request_supplement"),
        file_kind="police_ct05"),
    DocumentTemplate(
        "refusal", 1, "PHIẾU TỪ CHỐI TIẾP NHẬN, GIẢI QUYẾT HỒ SƠ", "Refusal (police)",
        f"{POLICE}, Mẫu CT06", TEMPLATES["refusal"].applies, TEMPLATES["refusal"].not_yet, form_number="Mẫu CT06",
        paper="A5", series="ct06", symbol="TCHS-CA", issued=_event_at("refuse"), file_kind="police_ct06"),
)}


def template_for(kind: str, ctx: DocumentContext) -> DocumentTemplate | None:
    """The form a dossier prints for a kind: the police's own for the procedures they handle."""
    template = POLICE_TEMPLATES[kind] if ctx.police and kind in POLICE_TEMPLATES else TEMPLATES.get(kind)
    return in_force(template, ctx) if template is not None else None


def in_force(template: DocumentTemplate, ctx: DocumentContext) -> DocumentTemplate:
    """The version the dossier's document is printed on: the one in force on its date of issue."""
    issued = local(template.issued(ctx))
    while template.earlier is not None and template.since is not None and issued is not None \
            and issued < template.since:
        template = template.earlier
    return template


# The register is per unit, not per dossier: it has its own template, outside TEMPLATES.
REGISTER = DocumentTemplate(
    "register", 2, "SỔ THEO DÕI HỒ SƠ", "Dossier register", f"{CIRCULAR}, Mẫu số 07",
    lambda ctx: True, "", landscape=True, form_number="Mẫu số 07", paper="A4")
