"""The registry of documents: kind → versioned template file, its legal source, and when it applies.

A template is a jinja2 file under pwa/templates/documents/ named `<kind>.v<version>.html`. Changing what a
form prints means adding a new version file and pointing the registry at it (docs/documents.md): the version
is printed at the foot of every copy, so a paper in a citizen's hands says which layout produced it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from server.documents.context import DocumentContext

REFUSED, STOPPED = 3, 8


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

    @property
    def file(self) -> str:
        return f"documents/{self.kind}.v{self.version}.html"

    @property
    def label(self) -> str:
        """Printed at the foot: which template and version produced this copy."""
        return f"{self.kind} v{self.version}"


def _received(ctx: DocumentContext) -> bool:
    return ctx.dossier.received_at is not None and ctx.dossier.status != REFUSED


TEMPLATES: dict[str, DocumentTemplate] = {t.kind: t for t in (
    DocumentTemplate(
        "receipt", 1, "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ", "Receipt and appointment",
        "Thông tư 01/2018/TT-VPCP, Mẫu số 01 (giữ theo Nghị định 118/2025/NĐ-CP, Thông tư 03/2025/TT-VPCP)",
        _received, "Hồ sơ chưa được tiếp nhận nên chưa có giấy tiếp nhận và hẹn trả kết quả."),
    DocumentTemplate(
        "supplement_request", 1, "PHIẾU YÊU CẦU BỔ SUNG, HOÀN THIỆN HỒ SƠ", "Request to supplement the dossier",
        "Thông tư 01/2018/TT-VPCP, Mẫu số 02",
        lambda ctx: ctx.last_event("request_supplement") is not None,
        "Cơ quan chưa yêu cầu bổ sung hồ sơ này nên chưa có phiếu yêu cầu bổ sung."),
    DocumentTemplate(
        "refusal", 1, "PHIẾU TỪ CHỐI TIẾP NHẬN GIẢI QUYẾT HỒ SƠ", "Refusal to receive the dossier",
        "Thông tư 01/2018/TT-VPCP, Mẫu số 03",
        lambda ctx: ctx.dossier.status == REFUSED, "Hồ sơ không bị từ chối tiếp nhận nên không có phiếu từ chối."),
    DocumentTemplate(
        "apology", 1, "PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ", "Apology and new appointment date",
        "Thông tư 01/2018/TT-VPCP, Mẫu số 06 (Nghị định 118/2025/NĐ-CP: xin lỗi khi giải quyết quá hạn)",
        lambda ctx: ctx.last_event("apologise") is not None or ctx.dossier.apology_sent_at is not None,
        "Hồ sơ chưa có văn bản xin lỗi và hẹn lại ngày trả kết quả."),
    DocumentTemplate(
        "stop_notice", 1, "THÔNG BÁO VỀ VIỆC DỪNG GIẢI QUYẾT HỒ SƠ", "Notice that processing stopped",
        "Nghị định 118/2025/NĐ-CP (dừng giải quyết hồ sơ); bố cục theo Nghị định 30/2020/NĐ-CP — chưa có mẫu "
        "thống nhất, cần đối chiếu Thông tư 03/2025/TT-VPCP",
        lambda ctx: ctx.dossier.status == STOPPED, "Hồ sơ không bị dừng xử lý nên không có thông báo dừng."),
    DocumentTemplate(
        "control_record", 1, "PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ", "Processing-control record",
        "Thông tư 01/2018/TT-VPCP, Mẫu số 05",
        lambda ctx: ctx.dossier.status != 0, "Bản nháp chưa có phiếu kiểm soát quá trình giải quyết.",
        landscape=True),
)}

# The register is per unit, not per dossier: it has its own template, outside TEMPLATES.
REGISTER = DocumentTemplate(
    "register", 1, "SỔ THEO DÕI HỒ SƠ", "Dossier register", "Thông tư 01/2018/TT-VPCP, Mẫu số 04",
    lambda ctx: True, "", landscape=True)
