"""The printed forms read back from their PDFs: the issuer lines, the form's number, the document's own number, the
dates, and nothing internal on the paper (docs/documents.md, "Which text each rule comes from").

Sources: Circular 03/2025/TT-VPCP, Appendix I (forms 01–07, A5 except the register) · Decree 118/2025/NĐ-CP Art. 1
(the commune's public administrative service centre) · Decree 30/2020/NĐ-CP, Appendix I (header, number, place
and date) · Circular 66/2023/TT-BCA (the police's forms CT04–CT06 for residence procedures).
"""

from __future__ import annotations

import io
import json
import re
import asyncio
import sqlite3
import uuid
from datetime import datetime, timedelta

from pypdf import PdfReader

from tests.conftest import ROOT, VALID_FORM, VINH_YEN, Api, officer_api, run_motcua, unique_phone
from tests.test_attachments_http import finalize, jpeg, put, register
from tests.test_documents import VIETNAM, Filed, command, file_dossier, officer_does, pdf_text, received_dossier, \
    vietnamese_date

GOVERNING = "ỦY BAN NHÂN DÂN PHƯỜNG VĨNH YÊN"
CENTRE = "TRUNG TÂM PHỤC VỤ HÀNH CHÍNH CÔNG PHƯỜNG VĨNH YÊN"
DATE = r"ngày (0[1-9]|[12]\d|3[01]) tháng (01|02|[3-9]|1[0-2]) năm \d{4}"  # Decree 30/2020, Appendix I


def flat_pdf(client: Api, path: str) -> tuple[str, PdfReader]:
    response = client.get(path)
    assert response.status_code == 200, (path, response.text[:300])
    return " ".join(pdf_text(response.content).split()), PdfReader(io.BytesIO(response.content))


def assert_printed_form(text: str, reader: PdfReader, form: str, symbol: str | None, *, a5: bool = True) -> str:
    """The common rules of a form; returns its document number."""
    # Circular 03/2025/TT-VPCP, Appendix I: the form's own number.
    assert form in text, (form, text[:400])
    # Decree 30/2020/NĐ-CP, Appendix I: national motto; Decree 118/2025 Art. 1: the governing body, then the centre.
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in text and "Độc lập - Tự do - Hạnh phúc" in text
    # Decree 30/2020: the place name only before the date, the date with zeros before days < 10 and months 1–2 only.
    assert re.search(r"Vĩnh Yên, " + DATE, text) and "Phường Vĩnh Yên, ngày" not in text, text[:500]
    assert not re.search(r"tháng 0[3-9]", text), "months 3–9 take no leading zero (Decree 30/2020)"
    # Nothing internal on legal paper: no product name, no template label, no old issuer.
    assert "motcua" not in text.lower() and not re.search(r"\bv[123]\b", text)
    assert "BỘ PHẬN TIẾP NHẬN VÀ TRẢ KẾT QUẢ" not in text
    width_mm = round(float(reader.pages[0].mediabox.width) / 72 * 25.4)
    assert width_mm == (148 if a5 else 297), width_mm  # A5 portrait for 01–06 (06 too), A4 landscape for 07
    if symbol is None:
        return ""
    number = re.search(r"Số: (\d{2,})/" + re.escape(symbol), text)
    assert number, (symbol, text[:500])
    return number.group(1)


def header(text: str, *lines: str) -> None:
    squeezed = text.replace(" ", "")
    for line in lines:
        assert line.replace(" ", "") in squeezed, (line, text[:400])


def test_the_receipt_prints_form_01_the_centre_its_own_number_and_decree_30_dates(server):
    """Circular 03/2025/TT-VPCP Appendix I form 01; Decree 118/2025 Art. 1; Decree 30/2020 Appendix I."""
    filed, dossier = received_dossier(server, with_page=False)
    path = f"/dossiers/{filed.dossier_id}/documents/receipt.pdf"
    text, reader = flat_pdf(filed.citizen, path)
    number = assert_printed_form(text, reader, "Mẫu số 01", "TNHS-TTPVHCC")
    header(text, GOVERNING, CENTRE)
    assert f"Mã hồ sơ: {dossier['code']}" in text, "the dossier code stays, beside the document's own number"
    # Form 07's book: the receipt says where the dossier was entered (the server's gapless number, not the code's tail).
    assert dossier["register_number"] and f"số thứ tự: {dossier['register_number']}" in text
    assert vietnamese_date(dossier["due_at"]) in text
    received = datetime.fromisoformat(dossier["received_at"]).astimezone(VIETNAM).date()
    assert f"Vĩnh Yên, {vietnamese_date(received.isoformat() + 'T12:00:00+07:00')}" in text, "dated the day received"
    # The number is the document's own, given once: the officer's copy and a later copy print the same.
    again, _ = flat_pdf(officer_api(server, "intake"), path)
    assert f"Số: {number}/TNHS-TTPVHCC" in again
    # The next receipt of the unit this year takes the next number.
    other, _ = received_dossier(server, with_page=False)
    text2, _ = flat_pdf(other.citizen, f"/dossiers/{other.dossier_id}/documents/receipt.pdf")
    assert int(re.search(r"Số: (\d+)/TNHS-TTPVHCC", text2).group(1)) > int(number)
    # The page keeps the version where it is not printed.
    page = filed.citizen.get(f"/dossiers/{filed.dossier_id}/documents/receipt").text
    assert 'data-template="receipt v3"' in page and "Thông tư 03/2025/TT-VPCP" in page


def test_supplement_refusal_and_control_record_print_forms_02_03_and_06(server):
    """Circular 03/2025/TT-VPCP Appendix I forms 02, 03, 06; Decree 30/2020 Appendix I."""
    incomplete = file_dossier(server, with_page=False)
    officer_does(server, "intake", incomplete.dossier_id, ("request_supplement", {"reason": "Ảnh chân dung 4x6"}))
    text, reader = flat_pdf(incomplete.citizen, f"/dossiers/{incomplete.dossier_id}/documents/supplement_request.pdf")
    assert_printed_form(text, reader, "Mẫu số 02", "YCBS-TTPVHCC")
    header(text, GOVERNING, CENTRE)
    assert "Ảnh chân dung 4x6" in text

    refused = file_dossier(server, with_page=False)
    officer_does(server, "intake", refused.dossier_id, ("refuse", {"reason": "Không thuộc thẩm quyền."}))
    text, reader = flat_pdf(refused.citizen, f"/dossiers/{refused.dossier_id}/documents/refusal.pdf")
    assert_printed_form(text, reader, "Mẫu số 03", "TCHS-TTPVHCC")
    header(text, GOVERNING, CENTRE)

    text, reader = flat_pdf(officer_api(server, "intake"), f"/dossiers/{refused.dossier_id}/documents/control_record.pdf")
    assert_printed_form(text, reader, "Mẫu số 06", None)
    assert "Số: " not in text, "the control record has no number of its own"


def test_the_apology_prints_form_04_with_the_original_and_the_extended_date_and_the_stop_notice_form_05(server):
    """Circular 03/2025/TT-VPCP Appendix I forms 04 (apology and request to extend) and 05; Decree 30/2020."""
    filed, dossier = received_dossier(server, with_page=False)
    new_due = (datetime.fromisoformat(dossier["due_at"]) + timedelta(days=7)).isoformat()
    officer_does(server, "leader", filed.dossier_id, ("start", {}),
                 ("apologise", {"new_due_at": new_due, "reason": "Cần xác minh thêm."}))
    text, reader = flat_pdf(filed.citizen, f"/dossiers/{filed.dossier_id}/documents/apology.pdf")
    number = assert_printed_form(text, reader, "Mẫu số 04", "XL-TTPVHCC")
    header(text, GOVERNING, CENTRE)
    assert vietnamese_date(dossier["due_at"]) in text, "the original appointment (hạn gốc)"
    assert vietnamese_date(new_due) in text, "the extended appointment"
    assert f"Mã hồ sơ: {dossier['code']}" in text and dossier["code"] not in number

    officer_does(server, "leader", filed.dossier_id, ("stop", {"reason": "Công dân không bổ sung."}))
    text, reader = flat_pdf(filed.citizen, f"/dossiers/{filed.dossier_id}/documents/stop_notice.pdf")
    assert_printed_form(text, reader, "Mẫu số 05", "TB-TTPVHCC")  # TB: thông báo (Decree 30/2020, Appendix III)
    assert f"Mã hồ sơ: {dossier['code']}" in text


def test_the_register_is_form_07_on_a4_landscape(server):
    """Circular 03/2025/TT-VPCP Appendix I form 07 (sổ theo dõi hồ sơ), A4 landscape."""
    received_dossier(server, with_page=False)
    today = datetime.now(VIETNAM).date().isoformat()
    text, reader = flat_pdf(officer_api(server, "intake"), f"/units/{VINH_YEN}/register.pdf?from={today}&to={today}")
    assert "Mẫu số 07" in text and "SỔ THEO DÕI HỒ SƠ" in text
    header(text, GOVERNING, CENTRE)
    assert "motcua" not in text.lower() and "BỘ PHẬN TIẾP NHẬN VÀ TRẢ KẾT QUẢ" not in text
    box = reader.pages[0].mediabox
    assert (round(float(box.width) / 72 * 25.4), round(float(box.height) / 72 * 25.4)) == (297, 210)


def test_a_residence_procedure_of_the_police_prints_the_polices_forms(server, tmp_path):
    """Circular 66/2023/TT-BCA: CT04 receipt, CT05 supplement, CT06 refusal, issued by the commune police; the catalog
    marks the procedure "handled_by": "police" (as 1.004222 and 1.004194 in server/data/catalog/procedures.json)."""
    catalog = json.loads((ROOT / "tests" / "data" / "catalog-test.json").read_text())
    police = {**catalog["procedures"][0], "code": "TEST.CA01", "name": "Thủ tục thử nghiệm đăng ký tạm trú",
              "agency": "Công an cấp xã", "handled_by": "police"}
    path = tmp_path / "police.json"
    path.write_text(json.dumps({**catalog, "procedures": [police]}, ensure_ascii=False))
    run_motcua(["catalog", "import", str(path)], server.env)

    def filed() -> Filed:
        citizen, phone = Api(server.url), unique_phone()
        citizen.post("/api/accounts", {"phone": phone, "password": "mat-khau-dai", "full_name": "Lò Văn Páo"})
        dossier_id = str(uuid.uuid4())
        assert citizen.post("/api/dossiers", {"id": dossier_id, "procedure_code": "TEST.CA01", "data": VALID_FORM,
                                              "unit_code": VINH_YEN}).status_code == 201
        sent = citizen.post("/api/sync", {"device_id": f"dev-{uuid.uuid4().hex[:10]}", "cursor": None,
                                          "mutations": [command(dossier_id, "submit")]})
        assert sent.json()["results"][0]["status"] == "applied", sent.text
        return Filed(citizen, phone, dossier_id)

    received = filed()
    officer_does(server, "intake", received.dossier_id, ("receive", {}))
    text, reader = flat_pdf(received.citizen, f"/dossiers/{received.dossier_id}/documents/receipt.pdf")
    assert_printed_form(text, reader, "Mẫu CT04", "TNHS-CA")
    header(text, "CÔNG AN TỈNH PHÚ THỌ", "CÔNG AN PHƯỜNG VĨNH YÊN")
    assert "Mẫu số 01" not in text and "TRUNG TÂM PHỤC VỤ" not in text.replace("  ", " ")

    incomplete = filed()
    officer_does(server, "intake", incomplete.dossier_id, ("request_supplement", {"reason": "Giấy tờ chứng minh chỗ ở"}))
    text, reader = flat_pdf(incomplete.citizen, f"/dossiers/{incomplete.dossier_id}/documents/supplement_request.pdf")
    assert_printed_form(text, reader, "Mẫu CT05", "HDBS-CA")

    refused = filed()
    officer_does(server, "intake", refused.dossier_id, ("refuse", {"reason": "Chỗ ở không hợp pháp."}))
    text, reader = flat_pdf(refused.citizen, f"/dossiers/{refused.dossier_id}/documents/refusal.pdf")
    assert_printed_form(text, reader, "Mẫu CT06", "TCHS-CA")
    assert "Chỗ ở không hợp pháp." in text


def backdate_reception(server, dossier_id: str, days: int) -> None:
    """Moves a dossier's reception (and its receipt's date of issue) back, as for a dossier received before a
    template version came into force; written straight into the instance's database."""
    url = server.env["DATABASE_URL"]
    if url.startswith("sqlite://"):
        connection = sqlite3.connect(url[len("sqlite://"):].split("?")[0], timeout=30)
        try:
            for table, column, key in (("dossiers", "received_at", "id"), ("document_numbers", "issued_at", "dossier_id")):
                for (value,) in connection.execute(f"SELECT {column} FROM {table} WHERE {key} = ?", (dossier_id,)):
                    earlier = datetime.fromisoformat(value) - timedelta(days=days)
                    text = earlier.isoformat(sep=" ") if " " in value else earlier.isoformat()
                    connection.execute(f"UPDATE {table} SET {column} = ? WHERE {key} = ?", (text, dossier_id))
            connection.commit()
        finally:
            connection.close()
        return

    async def write() -> None:
        import asyncpg

        connection = await asyncpg.connect(url.replace("postgresql://", "postgres://", 1))
        try:
            await connection.execute(f"UPDATE dossiers SET received_at = received_at - interval '{days} days' "
                                     "WHERE id = $1", dossier_id)
            await connection.execute(f"UPDATE document_numbers SET issued_at = issued_at - interval '{days} days' "
                                     "WHERE dossier_id = $1", dossier_id)
        finally:
            await connection.close()
    asyncio.run(write())


def test_receipt_v3_lists_only_the_documents_handed_in_and_an_older_reception_keeps_v2(server, tmp_path):
    """docs/documents.md: receipt v3 lists the documents with pages and the declaration the form filled in — never a
    "0 trang" row; a dossier received before v3 came into force prints on v2, as its first copy did."""
    catalog = json.loads((ROOT / "tests" / "data" / "catalog-test.json").read_text())
    birth = {**catalog["procedures"][0], "code": "TEST.KS01", "name": "Thủ tục thử nghiệm đăng ký khai sinh",
             "documents": [
                 {"name": "Tờ khai đăng ký khai sinh", "required": True, "original": True, "declaration": True},
                 {"name": "Giấy chứng sinh", "required": True, "original": True},
                 # shown at the desk (xuất trình): required, but no page is handed in
                 {"name": "Giấy tờ tùy thân của người đi đăng ký", "required": True, "presented": True},
                 {"name": "Văn bản ủy quyền", "required": False}]}
    path = tmp_path / "birth.json"
    path.write_text(json.dumps({**catalog, "procedures": [birth]}, ensure_ascii=False))
    run_motcua(["catalog", "import", str(path)], server.env)

    citizen, phone = Api(server.url), unique_phone()
    citizen.post("/api/accounts", {"phone": phone, "password": "mat-khau-dai", "full_name": "Hà Thị Lan"})
    dossier_id = str(uuid.uuid4())
    assert citizen.post("/api/dossiers", {"id": dossier_id, "procedure_code": "TEST.KS01", "data": VALID_FORM,
                                          "unit_code": VINH_YEN}).status_code == 201
    for page in (1, 2):  # two pages of the birth certificate; the ID papers are only shown
        photo = jpeg(seed=page + int(phone[-3:]))
        registered = register(citizen, dossier_id, photo, document="Giấy chứng sinh", page=page).json()
        assert put(server.url, registered["upload"], photo).status_code == 200
        assert finalize(citizen, registered["attachment"]["id"]).json()["status"] == "verified"
    sent = citizen.post("/api/sync", {"device_id": f"dev-{uuid.uuid4().hex[:10]}", "cursor": None,
                                      "mutations": [command(dossier_id, "submit")]})
    assert sent.json()["results"][0]["status"] == "applied", sent.text
    officer_does(server, "intake", dossier_id, ("receive", {}))

    receipt = f"/dossiers/{dossier_id}/documents/receipt"
    text, reader = flat_pdf(citizen, receipt + ".pdf")
    assert_printed_form(text, reader, "Mẫu số 01", "TNHS-TTPVHCC")
    assert re.search(r"1 Tờ khai đăng ký khai sinh 1 bản chính biểu mẫu điện tử 2 Giấy chứng sinh 1 bản chính 2 trang",
                     text), text
    assert "0 trang" not in text and "Giấy tờ tùy thân" not in text and "Văn bản ủy quyền" not in text
    assert 'data-template="receipt v3"' in citizen.get(receipt).text

    # Received a month ago, before v3: the reprint is the receipt the citizen was handed then, "0 trang" and all.
    backdate_reception(server, dossier_id, 30)
    old = citizen.get(receipt).text
    assert 'data-template="receipt v2"' in old
    text, _ = flat_pdf(citizen, receipt + ".pdf")
    assert re.search(r"Tờ khai đăng ký khai sinh 1 bản chính 0 trang", text), text
    assert re.search(r"Giấy tờ tùy thân của người đi đăng ký 1 bản sao 0 trang", text), text
