"""Importing the national procedure database's records and decision annex lists; the generic form (docs/catalog.md).

The records in tests/data/catalog/ are real (tests/data/catalog/README.md names their sources)."""

from __future__ import annotations

import json
import unicodedata
import uuid
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from server.catalog.cleaning import Problems, clean_text
from server.catalog.dvcqg import map_record
from server.catalog.forms import check_form_definition, validate
from server.catalog.procedures import CatalogError, entry_problems, read_entries
from tests.conftest import ROOT, VINH_YEN, motcua_env, run_motcua
from tests.test_sync_http import Device

DATA = ROOT / "tests" / "data" / "catalog"
RECORDS = sorted((DATA / "dvcqg").glob("*.json"))
COMMUNE_LIST = DATA / "vinhbao-commune-catalog.csv"


def strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)


def raw(name: str) -> dict:
    record = json.loads((DATA / "dvcqg" / name).read_text(encoding="utf-8"))
    return record.get("data", record)


# ------------------------------------------------------------------ the real records


@pytest.mark.parametrize("path", RECORDS, ids=lambda p: p.stem)
def test_every_real_record_maps_to_a_valid_entry(path):
    entries, notes = read_entries(path, "dvcqg")
    [entry] = entries
    assert entry["code"] == path.stem and entry_problems(entry) == []
    assert entry["name"] == unicodedata.normalize("NFC", " ".join(raw(path.name)["name"].split()))
    for text in strings(entry):
        assert unicodedata.is_normalized("NFC", text)
        assert "\t" not in text and "  " not in text and text == text.strip()
    assert entry["channels"] and {c["channel"] for c in entry["channels"]} <= {"direct", "online", "postal"}
    assert entry["form_kind"] == "generic" and check_form_definition(entry["form"]) == []
    assert entry["verify_url"].endswith(raw(path.name)["id"])
    # Every component of every case is a document, with its national code and counts.
    components = [c for case in raw(path.name)["executionCases"] for c in case["profileComponents"]]
    assert [d["code"] for d in entry["documents"]] == [c["code"] for c in components]
    assert [(d["original_count"], d["copy_count"]) for d in entry["documents"]] == \
        [(c["originalQty"], c["copyQty"]) for c in components]
    # What cannot be used is reported for the record: no component is marked required in the published data.
    assert any(note.startswith(f"{path.name} ({path.stem}): executionCases: none of the") for note in notes)


def test_the_mapping_of_channels_times_fees_cases_and_agencies():
    entries = {e["code"]: e for e in read_entries(DATA / "dvcqg", "dvcqg")[0]}
    assert len(entries) == len(RECORDS) == 10
    land = entries["1.013825"]  # calendar days in the methods, working days in the case list
    assert (land["processing_days"], land["processing_unit"], land["level"]) == (15, "days", "province")
    assert land["cases"][0]["processing_unit"] == "working_days"
    coop = entries["2.002642"]  # each channel has its own time: postal 5 working days, the others 1
    assert [(c["channel"], c["processing_time"]) for c in coop["channels"]][:3] == \
        [("online", 1), ("postal", 5), ("direct", 1)]
    assert coop["online"] == "full" and coop["level"] == "commune"
    copy = entries["2.000815"]  # the enveloped answer; time only in the text (OTHER), fee per page, one in USD
    assert [c["processing_unit"] for c in copy["channels"]] == [None, None]
    assert (copy["processing_days"], copy["processing_unit"]) == (1, "working_days")  # from the case list
    assert copy["channels"][0]["fees"][0] == {"type": "FEE", "amount": 2000, "currency": "Việt Nam Đồng",
                                             "text": "/trang"}
    assert copy["channels"][1]["fees"][0]["currency"] == "USD" and copy["online"] == "none"
    assert copy["decision"] == "3152/QĐ-BTP" and copy["results"][0]["code"] == "KQ.G15.000021"
    assert "Ủy ban nhân dân cấp xã" in copy["agencies"]["executing"]
    branch = entries["1.000358"]  # lists the same legal basis twice: kept once
    assert len(branch["legal_bases"]) == len({b["code"] + b["name"] for b in branch["legal_bases"]})
    household = entries["1.001570"]
    assert household["field"] == "Thành lập và hoạt động doanh nghiệp (hộ kinh doanh)"
    assert household["documents"][0]["templates"][0]["file_name"] == "Mẫu số 3-Pl2.doc"
    assert household["documents"][0]["case"] == "* Thành phần hồ sơ:"
    assert household["notes"].startswith("đ) Đối tượng thực hiện")


def test_decomposed_text_is_stored_nfc():
    [entry] = read_entries(DATA / "dvcqg" / "2.000815.json", "dvcqg")[0]
    assert "o\u031b\u0309" not in json.dumps(entry, ensure_ascii=False)
    assert any("bởi" in text for text in strings(entry))


# ------------------------------------------------------------------ broken and hostile records


def broken(tmp_path: Path, change) -> Path:
    record = raw("1.116849.json")
    change(record)
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(record, ensure_ascii=False))
    return path


@pytest.mark.parametrize("change, field", [
    (lambda r: r.update(name=""), "name: missing"),
    (lambda r: r.update(name=["a"]), "name: expected text"),
    (lambda r: r.update(code="1.116849; DROP"), "code: not a procedure code"),
    (lambda r: r.update(executionMethods={"a": 1}), "executionMethods: expected a list of objects"),
    (lambda r: r["executionMethods"][0].update(processingTime="12"), "executionMethods[0].processingTime"),
    (lambda r: r["executionMethods"][0].update(processingTime=10 ** 9), "executionMethods[0].processingTime"),
    (lambda r: r["executionMethods"][0].update(fees=[{"type": "FEE", "value": float("nan")}]),
     "executionMethods[0].fees[0].value"),
    (lambda r: r.update(isWard=False, isProvince=False), "no level"),
    (lambda r: r.update(executionMethods=[]), "no submission channel"),
    (lambda r: r["executionCases"][0]["profileComponents"][0].update(required="yes"), ".required: expected"),
    (lambda r: r.update(name="x" * 200_000), "name: text of 200000 characters"),
])
def test_a_broken_record_is_refused_with_record_and_field(tmp_path, change, field):
    with pytest.raises(CatalogError) as refused:
        read_entries(broken(tmp_path, change), "dvcqg")
    assert any(p.startswith("broken.json (") and field in p for p in refused.value.problems), refused.value.problems


@pytest.mark.parametrize("content, expected", [
    (b"{not json", "not valid JSON"), (b"\xff\xfe{}", "not UTF-8"), (b"[" * 100_000 + b"]" * 100_000, "nested"),
    (b"[1, 2]", "expected an object"), (b"{}", "code: not a procedure code"),
])
def test_a_malformed_file_is_refused(tmp_path, content, expected):
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    with pytest.raises(CatalogError) as refused:
        read_entries(path, "dvcqg")
    assert any(expected in p for p in refused.value.problems), refused.value.problems


def test_markup_control_characters_and_spaces_are_cleaned():
    problems = Problems("r")
    text = clean_text("  <p>Giấy&nbsp;tờ <b>hợp lệ</b></p>\x00\x07<br/>dòng\u00a0\u00a0hai\r\n\r\n\r\n\tba ", "f", problems)
    assert text == "Giấy tờ hợp lệ\n\ndòng hai\n\nba" and not problems.refused


def test_unmapped_values_are_reported_per_record():
    record = raw("1.116849.json")
    record["targetObjects"] = [{"name": "Tổ chức"}]
    record["somethingNew"] = "giá trị"
    problems = Problems("r (1.116849)")
    assert map_record(record, problems) is not None
    assert "r (1.116849): targetObjects: unmapped value" in " ".join(problems.notes)
    assert "r (1.116849): somethingNew: unmapped value" in " ".join(problems.notes)


hostile = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-10**20, max_value=10**20) | st.floats(allow_nan=True)
    | st.text(alphabet=st.characters(codec="utf-8") | st.sampled_from("<>&\x00\t\r\n\u0309"), max_size=60),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=12)
KEYS = ["code", "name", "isWard", "executionMethods", "executionCases", "cases", "categoriesDetails",
        "legalBasisesDetails", "procedureProposal", "returningMethods", "departmentsExecuting", "note"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(key=st.sampled_from(KEYS), value=hostile, where=st.integers(min_value=0, max_value=2))
def test_hostile_values_are_refused_or_cleaned_never_a_crash(key, value, where):
    record = raw("2.002642.json")
    target = record if where == 0 else record["executionMethods"][0] if where == 1 else \
        record["executionCases"][1]["profileComponents"][0]
    target[key if where == 0 else {1: "processingTime", 2: "name"}[where]] = value
    problems = Problems("r")
    entry = map_record(record, problems)
    if entry is not None and not problems.refused:
        assert entry_problems(entry) == []
        for text in strings(entry):
            assert unicodedata.is_normalized("NFC", text)
            assert not any(unicodedata.category(c) == "Cc" and c != "\n" for c in text)
            assert not any("\ud800" <= c <= "\udfff" for c in text)


# ------------------------------------------------------------------ lists


def test_the_commune_list_reads_in_full_marked_incomplete():
    entries, notes = read_entries(COMMUNE_LIST, "list")
    assert len(entries) == 254 and len({e["code"] for e in entries}) == 254
    assert all(e["incomplete"] and e["form_kind"] == "generic" for e in entries)
    assert sum(e.get("received_at") == "commune" and e["level"] == "province" for e in entries) == 57
    assert {e["level"] for e in entries} == {"commune", "province"}
    timed = {e["code"]: (e["processing_days"], e["processing_unit"]) for e in entries if e["processing_days"] is not None}
    assert len(timed) >= 45 and {unit for _, unit in timed.values()} == {"working_days", "days", "hours"}
    assert any("kept as text only" in note for note in notes)  # "01 tháng"


def test_an_xlsx_list_is_read_like_the_csv(tmp_path):
    import csv

    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["DANH SÁCH THỦ TỤC HÀNH CHÍNH"])
    for row in csv.reader(COMMUNE_LIST.open(encoding="utf-8", newline="")):
        sheet.append(row)
    book.save(tmp_path / "list.xlsx")
    from_xlsx = read_entries(tmp_path / "list.xlsx", "list")[0]
    assert from_xlsx == read_entries(COMMUNE_LIST, "list")[0]
    (tmp_path / "bad.xlsx").write_bytes(b"PK\x03\x04 not a workbook")
    with pytest.raises(CatalogError, match="not a readable .xlsx"):
        read_entries(tmp_path / "bad.xlsx", "list")


def test_a_list_without_code_column_or_with_a_bad_row_is_refused(tmp_path):
    (tmp_path / "a.csv").write_text("ten,cap\nx,Xã\n", encoding="utf-8")
    with pytest.raises(CatalogError, match="lacks the column"):
        read_entries(tmp_path / "a.csv", "list")
    (tmp_path / "b.csv").write_text("code,name\n1.000001,Một\n1.000001,Hai\nbad code,Ba\n", encoding="utf-8")
    with pytest.raises(CatalogError) as refused:
        read_entries(tmp_path / "b.csv", "list")
    assert any("row 3" in p and "also on row 2" in p for p in refused.value.problems)
    assert any("row 4" in p and "code: not a procedure code" in p for p in refused.value.problems)


# ------------------------------------------------------------------ the generic form


def test_the_generic_form_asks_the_applicant_and_lists_the_documents():
    """The documents are not form fields (no "attached" confirmation since issue 15): submit counts their pages
    (tests/test_required_documents.py)."""
    record = raw("1.116849.json")
    record["executionCases"][0]["profileComponents"][0]["required"] = True
    entry = map_record(record, Problems("r"))
    assert entry is not None
    names = [f["name"] for f in entry["form"]["fields"]]
    assert names == ["applicant_name", "applicant_cccd", "applicant_phone", "applicant_address"]
    assert entry["documents"][0]["required"] is True
    data = {"applicant_name": "Trần Văn An", "applicant_cccd": "026090123456", "applicant_phone": "0912345678",
            "applicant_address": {"commune_code": VINH_YEN}}
    assert validate(entry["form"], data)[1] == []


# ------------------------------------------------------------------ the command, on a database


@pytest.fixture(scope="module")
def empty_env(tmp_path_factory, fresh_database):
    env = motcua_env(tmp_path_factory.mktemp("catalog-import") / "data", fresh_database())
    run_motcua(["migrate"], env)
    return env


def test_the_command_imports_records_then_the_list_idempotently(empty_env, tmp_path):
    first = run_motcua(["catalog", "import", "--format", "dvcqg", str(DATA / "dvcqg")], empty_env)
    assert "10 new, 0 new version(s), 0 unchanged" in first.stdout
    assert "reported: 2.000815.json (2.000815): executionMethods[0].processingTimeUnit: OTHER" in first.stdout
    again = run_motcua(["catalog", "import", "--format", "dvcqg", str(DATA / "dvcqg")], empty_env)
    assert "0 new, 0 new version(s), 10 unchanged" in again.stdout
    # The commune's list: 5 of its codes have national details already, which a list row does not replace.
    listed = run_motcua(["catalog", "import", "--format", "list", str(COMMUNE_LIST)], empty_env)
    assert "249 new, 0 new version(s), 0 unchanged" in listed.stdout and "5 kept" in listed.stdout
    relisted = run_motcua(["catalog", "import", "--format", "list", str(COMMUNE_LIST)], empty_env)
    assert "0 new, 0 new version(s), 249 unchanged" in relisted.stdout
    # A changed record is a new version.
    record = json.loads((DATA / "dvcqg" / "1.116849.json").read_text(encoding="utf-8"))
    record["executionMethods"][0]["processingTime"] = 5
    (tmp_path / "1.116849.json").write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
    changed = run_motcua(["catalog", "import", "--format", "dvcqg", str(tmp_path / "1.116849.json")], empty_env)
    assert "0 new, 1 new version(s), 0 unchanged" in changed.stdout
    # A broken file: exit 1, the record and field named, nothing imported.
    record["name"] = ""
    record["code"] = "9.999999"
    (tmp_path / "1.116849.json").write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
    (tmp_path / "ok.json").write_text((DATA / "dvcqg" / "1.116835.json").read_text(encoding="utf-8").replace(
        '"1.116835"', '"9.999998"'), encoding="utf-8")
    refused = run_motcua(["catalog", "import", "--format", "dvcqg", str(tmp_path)], empty_env, check=False)
    assert refused.returncode == 1 and "1.116849.json (9.999999): name: missing" in refused.stderr
    again = run_motcua(["catalog", "import", "--format", "dvcqg", str(DATA / "dvcqg" / "1.116835.json")], empty_env)
    assert "1 unchanged" in again.stdout  # and 9.999998, in the refused folder, was not imported:
    probe = run_motcua(["catalog", "import", "--format", "list", str(_one_row(tmp_path, "9.999998"))], empty_env)
    assert "1 new" in probe.stdout


def _one_row(tmp_path: Path, code: str) -> Path:
    path = tmp_path / "one.csv"
    path.write_text(f"code,name,level\n{code},Thử,Xã\n", encoding="utf-8")
    return path


def test_a_dossier_is_filed_with_only_the_generic_form_and_its_required_documents(seeded_env, citizen, tmp_path):
    record = raw("1.116849.json")
    code = "9.7" + uuid.uuid4().hex[:5].translate(str.maketrans("abcdef", "123456"))
    record.update(code=code, codeNotation=code)
    record["executionCases"][0]["profileComponents"][0]["required"] = True
    (tmp_path / f"{code}.json").write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
    run_motcua(["catalog", "import", "--format", "dvcqg", str(tmp_path / f"{code}.json")], seeded_env)
    detail = citizen.get(f"/api/procedures/{code}").json()
    assert [f["name"] for f in detail["form"]["fields"]][:4] == [
        "applicant_name", "applicant_cccd", "applicant_phone", "applicant_address"]
    assert detail["documents"][0]["required"] is True
    data = {"applicant_name": "Trần Văn An", "applicant_cccd": "026090123456", "applicant_phone": "0912 345 678",
            "applicant_address": {"commune_code": VINH_YEN, "detail": "Thôn 1"}}
    # Submitting with no page of the required document is refused, naming it; a page on its way (registered,
    # still uploading) is enough.
    dossier_id = str(uuid.uuid4())
    drafted = citizen.post("/api/dossiers", {"id": dossier_id, "procedure_code": code, "data": data,
                                             "unit_code": VINH_YEN})
    assert drafted.status_code == 201, drafted.text
    device = Device(citizen)
    refused = device.sync([device.mutation("command", dossier_id, command="submit", args={})]).json()["results"][0]
    assert refused["status"] == "rejected" and refused["code"] == "document_missing", refused
    assert detail["documents"][0]["name"] in refused["reason"]["vi"]
    page = citizen.post("/api/attachments", {"id": str(uuid.uuid4()), "dossier_id": dossier_id,
                                             "document": detail["documents"][0]["name"], "page": 1, "size": 1000,
                                             "sha256": "ab" * 32, "content_type": "image/jpeg"})
    assert page.status_code in (200, 201), page.text
    filed = device.sync([device.mutation("command", dossier_id, command="submit", args={})]).json()["results"][0]
    assert filed["status"] == "applied", filed
    assert citizen.get(f"/api/dossiers/{dossier_id}").json()["status"] != "draft"


def test_a_hand_written_form_too_is_refused_without_its_required_documents_naming_every_one(
        seeded_env, citizen, tmp_path):
    """Every procedure that declares required documents (not only the generic form's): submit names all the missing
    ones; the declaration the form fills in and a document shown at the desk (xuất trình) ask for no page."""
    from tests.conftest import VALID_FORM

    catalog = json.loads((ROOT / "tests" / "data" / "catalog-test.json").read_text(encoding="utf-8"))
    code = "TEST.RD" + uuid.uuid4().hex[:4].upper()
    entry = {**catalog["procedures"][0], "code": code, "name": "Thủ tục thử nghiệm giấy tờ của mẫu riêng"}
    entry["documents"] = [
        {"name": "Tờ khai", "copies": 1, "original": True, "required": True, "declaration": True},
        {"name": "Giấy chứng sinh", "copies": 1, "original": True, "required": True},
        {"name": "Giấy tờ tùy thân (xuất trình)", "copies": 1, "original": True, "required": True, "presented": True},
        {"name": "Sổ hộ khẩu cũ", "copies": 1, "original": False, "required": True},
        {"name": "Văn bản ủy quyền (nếu có)", "copies": 1, "original": False, "required": False}]
    path = tmp_path / "handwritten.json"
    path.write_text(json.dumps({**catalog, "procedures": [entry]}, ensure_ascii=False), encoding="utf-8")
    run_motcua(["catalog", "import", str(path)], seeded_env)
    assert entry_problems({**entry, "documents": [{**entry["documents"][2], "presented": "có"}]}) == [
        "a document's presented must be true or false"]

    dossier_id = str(uuid.uuid4())
    drafted = citizen.post("/api/dossiers", {"id": dossier_id, "procedure_code": code, "data": VALID_FORM,
                                             "unit_code": VINH_YEN})
    assert drafted.status_code == 201, drafted.text
    device = Device(citizen)
    refused = device.sync([device.mutation("command", dossier_id, command="submit", args={})]).json()["results"][0]
    assert refused["status"] == "rejected" and refused["code"] == "document_missing", refused
    assert refused["reason"]["vi"] == ("Chưa đính kèm giấy tờ bắt buộc: Giấy chứng sinh; Sổ hộ khẩu cũ. "
                                       "Hãy chụp hoặc chọn tệp các giấy tờ này rồi gửi lại.")
    for number, document in enumerate(("Giấy chứng sinh", "Sổ hộ khẩu cũ")):
        page = citizen.post("/api/attachments", {"id": str(uuid.uuid4()), "dossier_id": dossier_id,
                                                 "document": document, "page": 1, "size": 1000 + number,
                                                 "sha256": f"{number}b" * 32, "content_type": "image/jpeg"})
        assert page.status_code in (200, 201), page.text
    filed = device.sync([device.mutation("command", dossier_id, command="submit", args={})]).json()["results"][0]
    assert filed["status"] == "applied", filed


def test_a_declaration_must_be_a_flag_and_needs_the_procedures_own_form():
    """docs/catalog.md "Documents": the declaration is what a hand-written form fills in; the generic one does not."""
    entry = json.loads((ROOT / "tests" / "data" / "catalog-test.json").read_text(encoding="utf-8"))["procedures"][0]
    entry["documents"] = [{**entry["documents"][0], "declaration": True}]
    assert entry_problems(entry) == []
    assert entry_problems({**entry, "documents": [{**entry["documents"][0], "declaration": "yes"}]}) == [
        "a document's declaration must be true or false"]
    assert entry_problems({**entry, "form_kind": "generic"}) == [
        "declaration needs the procedure's own form (the generic form does not fill the declaration)"]


# ------------------------------------------------------------------ the shipped catalog


def test_the_shipped_catalog_is_the_whole_commune_list_with_national_details_and_the_hand_made_forms():
    """server/catalog/shipped.py: every row of Vĩnh Bảo's list, the national records merged in, the hand-made
    procedures kept whole (their forms, fees, documents) whether or not the list has them; no field twice."""
    import csv

    from server.catalog.procedures import DEFAULT_CATALOG, load_catalog_file
    from server.catalog.shipped import COMMUNE_LIST, NATIONAL_DIR, shipped_entries

    entries = shipped_entries()
    in_force = {entry["code"]: entry for entry in entries}
    with COMMUNE_LIST.open(encoding="utf-8") as file:
        listed = {row["code"] for row in csv.DictReader(file)}
    hand = {entry["code"]: entry for entry in load_catalog_file(DEFAULT_CATALOG)}
    assert len(listed) == 254 and set(in_force) == listed | set(hand) and len(in_force) == 260
    # The data are copied into the shipped folder, the same bytes as the importer tests' sources.
    assert COMMUNE_LIST.read_bytes() == (ROOT / "tests/data/catalog/vinhbao-commune-catalog.csv").read_bytes()
    for path in NATIONAL_DIR.glob("*.json"):
        assert path.read_bytes() == (ROOT / "tests/data/catalog/dvcqg" / path.name).read_bytes()
    for code, entry in hand.items():
        assert in_force[code]["form"] == entry["form"] and in_force[code]["fee"] == entry["fee"]
        assert in_force[code]["documents"] == entry["documents"] and "form_kind" not in in_force[code]
    # A hand-made one with a national record gains what it did not say (the steps), keeps what it did.
    assert in_force["2.000815"]["steps"] and in_force["2.000815"]["fee"]["rules"]
    # A list row with a national record takes its details and the generic form; one without is marked incomplete.
    assert in_force["1.007916"]["source_format"] == "dvcqg" and in_force["1.007916"]["form_kind"] == "generic"
    only_listed = [e for code, e in in_force.items() if code not in hand and e.get("source_format") == "list"]
    assert len(only_listed) == 254 - 25 - 3 and all(e["incomplete"] and e["form_kind"] == "generic" for e in only_listed)
    fields = {entry["field"] for entry in in_force.values()}
    assert "Hộ tịch" in fields and not any(f.isupper() for f in fields)
    assert len({f.lower() for f in fields}) == len(fields)


def test_the_generic_form_asks_which_sub_case_when_the_national_record_times_them_differently():
    """docs/workflow.md "Deadlines": sub-cases with their own processing times become a required choice on the
    generic form (each name once: the portal often lists a case twice); its value picks the time at reception."""
    from server.catalog.generic import CASE_FIELD, generic_form

    cases = [{"code": "x.01", "name": "Không phải thẩm định", "processing_time": 5, "processing_unit": "working_days"},
             {"code": "x.01", "name": "Không phải thẩm định", "processing_time": 5, "processing_unit": "working_days"},
             {"code": "x.02", "name": "Phải thẩm định thực địa", "processing_time": 15, "processing_unit": "days"}]
    [field] = [f for f in generic_form({"cases": cases})["fields"] if f["name"] == CASE_FIELD]
    assert field["type"] == "choice" and field["required"]
    assert [o["label"]["vi"] for o in field["options"]] == ["Không phải thẩm định", "Phải thẩm định thực địa"]
    # One case, or cases without their own time: nothing to ask.
    assert all(f["name"] != CASE_FIELD for f in generic_form({"cases": cases[:2]})["fields"])
    assert all(f["name"] != CASE_FIELD for f in generic_form({"cases": [{**c, "processing_unit": None} for c in cases]})["fields"])
