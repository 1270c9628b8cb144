"""A procedure filed with the generic form (docs/catalog.md): the app cannot send it before a page of each required
document is attached; the refusal names the document, and with a photo it goes through (server/workflow/policy.py
missing_document; Decree 61/2018 Art. 19: only a complete dossier is received).

Real Chromium at a phone's size (tests/test_pwa.py fixtures) against a real server on loopback, the procedure
imported from a national record (tests/data/catalog/dvcqg) with its first document marked required.
"""

from __future__ import annotations

import json
import uuid

from playwright.sync_api import expect

from tests.conftest import VINH_YEN, Api, run_motcua
from tests.test_catalog_import import raw
from tests.test_pwa import (DEMO_PASSWORD, DEMO_PHONE, browser, context, open_app, phone, sign_in,  # noqa: F401
                             submit_draft)
from tests.test_pwa_pages import small_photo

NAME = "Thủ tục thử nghiệm giấy tờ bắt buộc"


def import_generic_procedure(seeded_env, tmp_path, name: str) -> tuple[str, str]:
    """A national record imported under a code of its own, its first document marked required: the procedure's
    name (`name` and the code, so that a test run again on the suite's shared catalog finds only its own) and the
    document's."""
    record = raw("1.116849.json")
    code = "9.8" + uuid.uuid4().hex[:5].translate(str.maketrans("abcdef", "123456"))
    name = f"{name} {code}"
    record.update(code=code, codeNotation=code, name=name, isWard=True, isProvince=False)
    record["executionCases"][0]["profileComponents"][0]["required"] = True
    (tmp_path / f"{code}.json").write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
    run_motcua(["catalog", "import", "--format", "dvcqg", str(tmp_path / f"{code}.json")], seeded_env)
    return name, record["executionCases"][0]["profileComponents"][0]["name"]


def fill_applicant(phone) -> None:
    phone.locator("#f-applicant_name").fill("Trần Văn An")
    phone.locator("#f-applicant_cccd").fill("026090123456")
    phone.locator("#f-applicant_phone").fill("0912 345 678")
    phone.locator("#f-applicant_address-filter").fill("vinh yen")
    phone.locator("#f-applicant_address-commune").select_option(VINH_YEN)
    phone.locator("#f-applicant_address-detail").fill("Thôn 1")
    phone.locator("#unit").select_option(VINH_YEN)


def test_a_required_document_must_be_attached_before_the_dossier_is_sent(server, seeded_env, context, phone, tmp_path):
    name, document = import_generic_procedure(seeded_env, tmp_path, NAME)
    open_app(phone, server)
    sign_in(phone, DEMO_PHONE, DEMO_PASSWORD)
    phone.get_by_label("Tìm thủ tục").fill("thu nghiem giay to bat buoc")
    phone.get_by_role("link", name=name).click()
    phone.get_by_role("button", name="Lập hồ sơ").click()
    fill_applicant(phone)

    # The national record names the official form this document is written on: where to download it.
    template = phone.locator(f"#pages .document[data-document='{document}'] .template")
    expect(template).to_contain_text("Mẫu tờ khai: Mau so 6_VB de nghi giai the CSGD.docx")
    expect(template.get_by_role("link", name="Tải mẫu tại Cổng Dịch vụ công quốc gia")).to_have_attribute(
        "href", "https://dichvucong.gov.vn/thu-tuc-hanh-chinh/" + raw("1.116849.json")["id"])
    # No page yet: the server refuses the submit and the app says which document is missing.
    phone.get_by_role("button", name="Nộp hồ sơ").click()
    expect(phone.locator("#dossier-status")).to_contain_text(f"Chưa đính kèm giấy tờ bắt buộc: {document}")
    # The form is open again, with the office chosen before.
    expect(phone.locator("#unit")).to_have_value(VINH_YEN)
    # The citizen photographs the document and sends again.
    pages = phone.locator(f"#pages .document[data-document='{document}']")
    pages.locator("input[type=file][accept='image/*,application/pdf']").set_input_files(str(small_photo(tmp_path, "p.jpg", 40)))
    expect(pages.locator("li.thumb")).to_have_count(1)
    phone.get_by_role("button", name="Nộp hồ sơ").click()
    expect(phone.locator("#status")).to_have_text("Đã nộp, chờ tiếp nhận", timeout=30_000)


OFFLINE_NAME = "Thủ tục thử nghiệm nộp ngoại tuyến mẫu chung"


def test_a_generic_form_dossier_filed_offline_goes_out_with_its_pages_when_back_online(
        server, seeded_env, context, phone, tmp_path):
    """The whole generic-form flow without a connection: the procedure was opened once online (its form fetched on
    demand and kept, docs/pwa.md "Data on the phone"), then the phone goes offline, the citizen files it with the
    required document photographed, and it reaches the server with its page when the phone is back online."""
    name, document = import_generic_procedure(seeded_env, tmp_path, OFFLINE_NAME)
    open_app(phone, server)
    sign_in(phone, DEMO_PHONE, DEMO_PASSWORD)
    phone.get_by_label("Tìm thủ tục").fill("thu nghiem nop ngoai tuyen")
    phone.get_by_role("link", name=name).click()
    phone.get_by_role("button", name="Lập hồ sơ").wait_for()  # the form is on the phone now

    context.set_offline(True)
    phone.goto(server.url + "/app")
    phone.get_by_text("Đang ngoại tuyến").wait_for()
    phone.get_by_label("Tìm thủ tục").fill("thu nghiem nop ngoai tuyen")  # offline search over the stored index
    phone.get_by_role("link", name=name).click()
    phone.get_by_role("button", name="Lập hồ sơ").click()
    phone.wait_for_url("**/app#/d/*")
    dossier_id = phone.url.rsplit("/", 1)[1]
    fill_applicant(phone)
    pages = phone.locator(f"#pages .document[data-document='{document}']")
    pages.locator("input[type=file][accept='image/*,application/pdf']").set_input_files(str(small_photo(tmp_path, "p.jpg", 60)))
    expect(pages.locator("li.thumb")).to_have_count(1)
    submit_draft(phone)
    phone.locator("#status").filter(has_text="Chờ gửi").wait_for()

    context.set_offline(False)  # the online event starts a round: the dossier, then its page
    expect(phone.locator("#status")).to_have_text("Đã nộp, chờ tiếp nhận", timeout=30_000)
    expect(pages.locator("li.thumb[data-status=verified]")).to_have_count(1, timeout=30_000)
    citizen = Api(server.url)
    citizen.sign_in(DEMO_PHONE, DEMO_PASSWORD)
    items = citizen.get(f"/api/dossiers/{dossier_id}/attachments").json()["items"]
    assert [(i["document"], i["page"], i["status"]) for i in items] == [(document, 1, "verified")]
