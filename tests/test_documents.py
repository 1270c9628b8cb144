"""The legal documents over real HTTP: the receipt's content, its PDF and QR code, who may see them, and the
documents that do not apply yet (docs/documents.md)."""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import segno
import zxingcpp
from itsdangerous import URLSafeSerializer
from PIL import Image
from pypdf import PdfReader

from tests import a11y
from tests.conftest import OFFICERS, VALID_FORM, VINH_YEN, Api, officer_api, unique_phone
from tests.test_attachments_http import finalize, jpeg, put, register

VIETNAM = timezone(timedelta(hours=7))


# -- dossiers in given states (also used by tests/test_tracking.py) ---------------------------------------

@dataclass
class Filed:
    citizen: Api
    phone: str
    dossier_id: str


def file_dossier(server, *, with_page: bool = True, name: str = "Trần Thị Hồng Nhung") -> Filed:
    """A citizen files TEST.0001 online, with one verified page of "Tờ khai" when asked."""
    citizen, phone = Api(server.url), unique_phone()
    assert citizen.post("/api/accounts", {"phone": phone, "password": "mat-khau-dai", "full_name": name}).status_code == 201
    dossier_id = str(uuid.uuid4())
    created = citizen.post("/api/dossiers", {"id": dossier_id, "procedure_code": "TEST.0001", "data": VALID_FORM,
                                             "unit_code": VINH_YEN})
    assert created.status_code == 201, created.text
    if with_page:
        photo = jpeg(seed=int(phone[-4:]))
        registered = register(citizen, dossier_id, photo).json()
        assert put(server.url, registered["upload"], photo).status_code == 200
        assert finalize(citizen, registered["attachment"]["id"]).json()["status"] == "verified"
    submitted = citizen.post("/api/sync", {"device_id": f"dev-{uuid.uuid4().hex[:10]}", "cursor": None,
                                           "mutations": [command(dossier_id, "submit")]})
    assert submitted.json()["results"][0]["status"] == "applied", submitted.text
    return Filed(citizen, phone, dossier_id)


def command(dossier_id: str, name: str, seq: int = 1, **args) -> dict:
    return {"mutation_id": str(uuid.uuid4()), "seq": seq, "entity": "dossier", "entity_id": dossier_id,
            "op": "command", "command": name, "args": args}


def officer_does(server, officer_key: str, dossier_id: str, *steps: tuple[str, dict]) -> None:
    """One officer's device sends the steps in order; each must apply."""
    officer = officer_api(server, officer_key)
    mutations = [command(dossier_id, name, seq, **args) for seq, (name, args) in enumerate(steps, start=1)]
    response = officer.post("/api/sync", {"device_id": f"dev-{uuid.uuid4().hex[:10]}", "cursor": None,
                                          "mutations": mutations})
    assert response.status_code == 200, response.text
    for result in response.json()["results"]:
        assert result["status"] == "applied", result


def received_dossier(server, **options) -> tuple[Filed, dict]:
    filed = file_dossier(server, **options)
    officer_does(server, "intake", filed.dossier_id, ("receive", {}))
    dossier = filed.citizen.get(f"/api/dossiers/{filed.dossier_id}").json()
    assert dossier["code"] and dossier["due_at"], dossier
    return filed, dossier


def vietnamese_date(iso: str) -> str:
    """Decree 30/2020/NĐ-CP, Appendix I: a zero before day numbers below 10 and before the months 1 and 2 only."""
    moment = datetime.fromisoformat(iso).astimezone(VIETNAM)
    month = f"{moment.month:02d}" if moment.month <= 2 else str(moment.month)
    return f"ngày {moment.day:02d} tháng {month} năm {moment.year}"


def secret_key(server) -> str:
    return (Path(server.data_dir) / "secret_key").read_text().strip()


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def pdf_text(content: bytes) -> str:
    return nfc("\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages))


def text_of(html: str) -> str:
    """The page as a person reads it: tags dropped, entities and whitespace collapsed."""
    import html as html_module

    return " ".join(html_module.unescape(re.sub(r"<[^>]+>", " ", html)).split())


# -- the receipt -------------------------------------------------------------------------------------

def test_the_receipt_of_a_received_dossier_says_who_what_which_documents_and_when(server):
    filed, dossier = received_dossier(server, name="Trần Thị Hồng Nhung")
    page = filed.citizen.get(f"/dossiers/{filed.dossier_id}/documents/receipt")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "no-store" in page.headers["cache-control"]
    text = text_of(page.text)
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in text and "Độc lập - Tự do - Hạnh phúc" in text
    assert "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ" in text
    assert f"Mã hồ sơ: {dossier['code']}" in text
    assert "tiếp nhận hồ sơ của: Trần Thị Hồng Nhung" in text
    assert "Thủ tục thử nghiệm đăng ký hộ gia đình" in text
    # The documents received: the procedure's "Tờ khai", one original, one page sent from the phone.
    assert re.search(r"1 Tờ khai 1 bản chính 1 trang", text), text
    due_text = vietnamese_date(dossier["due_at"])
    assert f"Thời gian trả kết quả giải quyết hồ sơ: {due_text}" in text
    assert re.search(r"Thời gian nhận hồ sơ: \d\d giờ \d\d phút, ngày \d\d tháng (0[12]|[3-9]|1[0-2]) năm \d{4}", text)
    # Circular 03/2025/TT-VPCP, Appendix I: the form's number is printed; the template's version is not (it is kept
    # in the page's data attribute), nor the product's name.
    assert "Mẫu số 01" in text and "receipt v3" not in text and "motcua" not in text
    assert 'data-template="receipt v3"' in page.text

    # The QR code on the page encodes the signed tracking link, which reads back to this dossier.
    link = re.search(r"Quét mã QR để tra cứu hồ sơ: (\S+)", text).group(1)
    assert link.startswith(server.url + "/t/")
    token = link.rsplit("/", 1)[1]
    assert URLSafeSerializer(secret_key(server), salt="tracking").loads(token) == uuid.UUID(filed.dossier_id).hex
    svg = re.search(r"<svg[^>]*class=\"qr\".*?</svg>", page.text, re.S).group(0)
    expected = segno.make(link, error="m").svg_inline(scale=1, border=2, omitsize=True)
    drawn = re.search(r' d="([^"]+)"', svg).group(1)
    assert drawn == re.search(r' d="([^"]+)"', expected).group(1), "the SVG draws the QR code of the link"
    assert "style=" not in svg, "no inline style: the CSP forbids it"


def test_the_receipt_pdf_is_a_real_pdf_with_vietnamese_text_and_a_scannable_qr(server):
    filed, dossier = received_dossier(server, name="Đặng Thị Ngọc Ánh")
    response = filed.citizen.get(f"/dossiers/{filed.dossier_id}/documents/receipt.pdf")
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    assert f'filename="receipt-{dossier["code"]}.pdf"' in response.headers["content-disposition"]
    text = pdf_text(response.content)
    flat = " ".join(text.split())
    assert dossier["code"] in flat
    for phrase in ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ",
                   "Đặng Thị Ngọc Ánh", "Thủ tục thử nghiệm đăng ký hộ gia đình", vietnamese_date(dossier["due_at"])):
        assert phrase in flat, phrase
    pages = PdfReader(io.BytesIO(response.content)).pages
    # Circular 03/2025/TT-VPCP: forms 01–06 on A5 (148 × 210 mm); the receipt may run onto a second half sheet.
    assert all(round(float(page.mediabox.width) / 72 * 25.4) == 148 for page in pages) and len(pages) <= 2
    images = [image for page in pages for image in page.images]
    assert images, "the QR code is drawn as an image"
    decoded = [result.text for image in images for result in zxingcpp.read_barcodes(Image.open(io.BytesIO(image.data)))]
    assert len(decoded) == 1 and decoded[0].startswith(server.url + "/t/")
    token = decoded[0].rsplit("/", 1)[1]
    assert URLSafeSerializer(secret_key(server), salt="tracking").loads(token) == uuid.UUID(filed.dossier_id).hex


# -- who may see documents ---------------------------------------------------------------------------

def test_only_the_owner_and_the_units_officers_see_a_dossiers_documents(server):
    filed, dossier = received_dossier(server, with_page=False)
    path = f"/dossiers/{filed.dossier_id}/documents/receipt"
    assert officer_api(server, "intake").get(path).status_code == 200
    assert officer_api(server, "leader").get(path + ".pdf").status_code == 200
    stranger = Api(server.url)
    stranger.post("/api/accounts", {"phone": unique_phone(), "password": "mat-khau-dai", "full_name": "Người lạ"})
    for client in (stranger, officer_api(server, "intake_elsewhere")):
        for suffix in ("", ".pdf"):
            hidden = client.get(path + suffix)
            assert hidden.status_code == 404, (client, suffix)
            assert dossier["code"] not in hidden.text and "Không tìm thấy hồ sơ hoặc giấy tờ này" in hidden.text
    anonymous = Api(server.url).get(path, follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/signin?next=")
    assert filed.citizen.get(f"/dossiers/{uuid.uuid4()}/documents/receipt").status_code == 404
    assert filed.citizen.get(f"/dossiers/{filed.dossier_id}/documents/passport").status_code == 404


def test_a_document_that_does_not_apply_yet_is_a_404_that_says_why(server):
    filed = file_dossier(server, with_page=False)
    not_yet = filed.citizen.get(f"/dossiers/{filed.dossier_id}/documents/receipt")
    assert not_yet.status_code == 404 and "Hồ sơ chưa được tiếp nhận" in not_yet.text
    officer_does(server, "intake", filed.dossier_id, ("receive", {}))
    for kind, message in (("refusal", "không bị từ chối tiếp nhận"), ("stop_notice", "không bị dừng xử lý"),
                          ("apology", "chưa có văn bản xin lỗi"), ("supplement_request", "chưa yêu cầu bổ sung")):
        response = filed.citizen.get(f"/dossiers/{filed.dossier_id}/documents/{kind}")
        assert response.status_code == 404, kind
        assert message in response.text, kind
        assert filed.citizen.get(f"/dossiers/{filed.dossier_id}/documents/{kind}.pdf").status_code == 404


def test_the_refusal_and_the_supplement_request_carry_the_officers_reason(server):
    refused = file_dossier(server, with_page=False)
    officer_does(server, "intake", refused.dossier_id, ("refuse", {"reason": "Thủ tục không thuộc thẩm quyền của phường."}))
    page = refused.citizen.get(f"/dossiers/{refused.dossier_id}/documents/refusal")
    assert page.status_code == 200
    assert "PHIẾU TỪ CHỐI TIẾP NHẬN GIẢI QUYẾT HỒ SƠ" in page.text
    assert "Thủ tục không thuộc thẩm quyền của phường." in text_of(page.text)
    assert "Thủ tục không thuộc thẩm quyền của phường." in " ".join(
        pdf_text(refused.citizen.get(f"/dossiers/{refused.dossier_id}/documents/refusal.pdf").content).split())

    incomplete = file_dossier(server, with_page=False)
    officer_does(server, "intake", incomplete.dossier_id,
                 ("request_supplement", {"reason": "Bản sao giấy khai sinh của con\nẢnh chân dung 4x6"}))
    text = text_of(incomplete.citizen.get(f"/dossiers/{incomplete.dossier_id}/documents/supplement_request").text)
    assert "PHIẾU YÊU CẦU BỔ SUNG, HOÀN THIỆN HỒ SƠ" in text
    assert "1 Bản sao giấy khai sinh của con 2 Ảnh chân dung 4x6" in text


def test_the_control_record_lists_every_step_with_time_and_units(server):
    filed, dossier = received_dossier(server, with_page=False)
    officer = officer_api(server, "intake")
    text = text_of(officer.get(f"/dossiers/{filed.dossier_id}/documents/control_record").text)
    assert "PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ" in text
    for step in ("Tạo hồ sơ", "Nộp hồ sơ trực tuyến", "Tiếp nhận hồ sơ"):
        assert step in text
    assert OFFICERS["intake"].name in text, "the record names who received it"
    assert re.search(r"\d\d giờ \d\d phút, ngày \d\d tháng (0[12]|[3-9]|1[0-2]) năm \d{4}", text)
    pdf = officer.get(f"/dossiers/{filed.dossier_id}/documents/control_record.pdf")
    assert pdf.status_code == 200 and "Tiếp nhận hồ sơ" in pdf_text(pdf.content)


# -- the register ------------------------------------------------------------------------------------

def test_the_register_lists_the_units_dossiers_for_its_officers_only(server):
    _, dossier = received_dossier(server, with_page=False)
    today = datetime.now(VIETNAM).date().isoformat()
    path = f"/units/{VINH_YEN}/register?from={today}&to={today}"
    officer = officer_api(server, "intake")
    page = officer.get(path)
    assert page.status_code == 200 and "SỔ THEO DÕI HỒ SƠ" in page.text and dossier["code"] in page.text
    rows = list(csv.reader(io.StringIO(officer.get(f"/units/{VINH_YEN}/register.csv?from={today}&to={today}")
                                       .content.decode("utf-8-sig"))))
    assert rows[0][:2] == ["Số thứ tự", "Mã hồ sơ"] and dossier["code"] in [row[1] for row in rows[1:]]
    # Form 07 of Circular 03/2025 (sổ theo dõi hồ sơ): each line carries the dossier's number in the unit's book.
    line = next(row for row in rows[1:] if row[1] == dossier["code"])
    assert int(line[0]) == dossier["register_number"]
    assert dossier["code"] in " ".join(pdf_text(officer.get(f"/units/{VINH_YEN}/register.pdf?from={today}&to={today}")
                                                .content).split())
    assert officer_api(server, "intake_elsewhere").get(path).status_code == 403
    bad = officer.get(f"/units/{VINH_YEN}/register?from=2026-13-01")
    assert bad.status_code == 400 and "năm-tháng-ngày" in bad.text


# -- in a browser --------------------------------------------------------------------------------------

def test_in_chromium_the_receipt_shows_a_scannable_qr_breaks_no_csp_rule_and_prints_without_the_toolbar(server):
    """On a phone (360×740): the address with its ward, "In" and (where the browser shares files) "Chia sẻ" with
    the PDF, never "Ctrl+P"."""
    from playwright.sync_api import expect

    from tests.browser import chromium

    filed, dossier = received_dossier(server, with_page=False)
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 360, "height": 740})
        a11y.watch(page.context)  # axe-core on the sign-in page and the receipt (tests/a11y.py)
        # What the page asks of the browser is recorded: printing, and sharing (headless Chromium on Linux has no
        # share sheet: a stand-in that accepts files, as Chrome on Android does, is installed for the second visit).
        page.add_init_script("""
            window.__printed = 0; window.print = () => { window.__printed += 1; };
            if (sessionStorage.getItem('share')) {
                window.__shared = [];
                navigator.canShare = (data) => Boolean(data && data.files);
                navigator.share = async (data) => { window.__shared.push({ title: data.title,
                    files: await Promise.all((data.files || []).map(async (f) => ({ name: f.name, type: f.type,
                        head: new TextDecoder().decode((await f.arrayBuffer()).slice(0, 5)) }))) }); };
            }""")
        problems: list[str] = []
        # A CSP violation (inline style or script) is reported as a console error "Refused to …"; a resource that
        # fails shows as a response. (Chromium's own /favicon.ico miss is neither.)
        page.on("console", lambda message: problems.append(message.text) if "Refused" in message.text else None)
        page.on("response", lambda response: problems.append(response.url) if response.status >= 400 else None)
        page.goto(server.url + "/signin")
        page.fill("input[name=phone]", filed.phone)
        page.fill("input[name=password]", "mat-khau-dai")
        page.click("button[type=submit]")
        page.wait_for_url("**/dossiers")
        page.goto(f"{server.url}/dossiers/{filed.dossier_id}/documents/receipt")
        assert page.locator("h1").inner_text() == "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ"
        qr = page.locator("figure.qr svg")
        box = qr.bounding_box()
        assert box and box["width"] > 80, "the QR is drawn at a scannable size"
        shot = Image.open(io.BytesIO(qr.screenshot()))
        decoded = [result.text for result in zxingcpp.read_barcodes(shot)]
        caption = page.locator("figure.qr figcaption").inner_text()
        assert len(decoded) == 1 and decoded[0] in caption and "/t/" in decoded[0]
        assert page.locator("nav.toolbar").is_visible()
        # The address as the form gives it, with the ward (phường) chosen in it and its province.
        address = page.locator("article.document p", has_text="Địa chỉ:").inner_text()
        assert re.search(r"Địa chỉ: Số 1, đường Kim Ngọc, Phường Vĩnh Yên, Tỉnh \w", address), address
        toolbar = page.locator("nav.toolbar")
        assert "Ctrl" not in toolbar.inner_text()
        toolbar.get_by_role("button", name="In", exact=True).click()
        assert page.evaluate("window.__printed") == 1
        expect(toolbar.get_by_role("button", name="Chia sẻ")).to_be_hidden()  # no Web Share here
        page.evaluate("sessionStorage.setItem('share', '1')")
        page.reload()
        toolbar.get_by_role("button", name="Chia sẻ").click()
        page.wait_for_function("() => window.__shared && window.__shared.length === 1")
        shared = page.evaluate("window.__shared[0]")
        assert shared["files"] == [{"name": f"receipt-{dossier['code']}.pdf", "type": "application/pdf", "head": "%PDF-"}]
        a11y.assert_clean(page.context)  # on screen, before the print media below
        page.emulate_media(media="print")
        assert not page.locator("nav.toolbar").is_visible(), "the toolbar is not printed"
        assert dossier["code"] in page.locator("article.document").inner_text()
        assert not problems, problems


def test_the_apology_prints_the_reason_and_the_new_date_and_the_stop_notice_its_reason(server):
    filed, dossier = received_dossier(server, with_page=False)
    new_due = (datetime.fromisoformat(dossier["due_at"]) + timedelta(days=7)).isoformat()
    officer_does(server, "leader", filed.dossier_id, ("start", {}),
                 ("apologise", {"new_due_at": new_due, "reason": "Cần xác minh thêm với cơ quan thuế."}))
    text = text_of(filed.citizen.get(f"/dossiers/{filed.dossier_id}/documents/apology").text)
    assert "VĂN BẢN XIN LỖI VÀ ĐỀ NGHỊ GIA HẠN THỜI GIAN GIẢI QUYẾT HỒ SƠ" in text  # Circular 03/2025, form 04
    assert "Lý do: Cần xác minh thêm với cơ quan thuế." in text
    assert f"hẹn lại thời gian trả kết quả vào {vietnamese_date(new_due)}" in text
    assert vietnamese_date(new_due) in " ".join(pdf_text(
        filed.citizen.get(f"/dossiers/{filed.dossier_id}/documents/apology.pdf").content).split())

    officer_does(server, "leader", filed.dossier_id, ("stop", {"reason": "Công dân không bổ sung giấy tờ theo yêu cầu."}))
    text = text_of(filed.citizen.get(f"/dossiers/{filed.dossier_id}/documents/stop_notice").text)
    assert "THÔNG BÁO VỀ VIỆC DỪNG GIẢI QUYẾT HỒ SƠ" in text
    assert "Lý do: Công dân không bổ sung giấy tờ theo yêu cầu." in text


def test_printed_links_ignore_a_forged_host_header(server):
    """The QR code and the tracking link are built from the server's own address, never the request's Host."""
    filed, _ = received_dossier(server)
    page = filed.citizen.get(f"/dossiers/{filed.dossier_id}/documents/receipt", headers={"Host": "evil.example"})
    assert page.status_code == 200, page.text[:200]
    links = re.findall(r"https?://[^\s\"'<]+/t/", page.text)
    assert links and all(link.startswith(server.url + "/t/") for link in links), (links, server.url)


def test_every_workflow_step_has_its_name_on_the_processing_control_record():
    """Circular 03/2025/TT-VPCP form 06: each step of the dossier is written in words, never as a code."""
    from server.documents.context import ACTION_NAMES
    from server.workflow.policy import STEPS

    assert {command for command, _ in STEPS} <= set(ACTION_NAMES)
