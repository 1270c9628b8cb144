"""The procedure catalog: at least 30 real procedures across three levels, searchable without diacritics."""

from __future__ import annotations

import json
import uuid

import httpx

from server.catalog.packed import LETTERS, pack_index, unpack_index
from tests.conftest import ROOT, VALID_FORM, VINH_YEN, run_motcua


def test_the_shipped_catalog_is_loaded_with_at_least_30_procedures(api):
    items = api.get("/api/procedures?limit=1000").json()["items"]
    shipped = [item for item in items if not item["code"].startswith("TEST.")]
    assert len(shipped) >= 30
    # Since 1 July 2025 there is no district tier: procedures in force are commune or province level.
    assert {item["level"] for item in shipped} == {"commune", "province"}
    for item in items:
        assert set(item) >= {"code", "name", "level", "processing_days"}
        assert item["processing_days"] is None or item["processing_days"] >= 0
    published = [item for item in shipped if item["processing_days"] is not None]
    assert len(published) >= 25


def test_district_level_versions_before_the_reform_are_kept(api):
    """Certified copies were a district procedure until 30 June 2025; dossiers filed then keep that version."""
    current = api.get("/api/procedures/2.000815").json()
    assert current["level"] == "commune" and current["version"] == current["current_version"] == 2
    before = api.get("/api/procedures/2.000815?version=1").json()
    assert before["level"] == "district" and before["effective_to"] == "2025-06-30"
    assert api.get("/api/procedures/2.000815?version=9").status_code == 404


def test_search_ignores_diacritics_and_case(api):
    for query in ("dang ky khai sinh", "ĐĂNG KÝ KHAI SINH", "Đăng ký khai sinh", "khai sinh"):
        names = [item["name"] for item in api.get("/api/procedures", params={"q": query}).json()["items"]]
        assert any("khai sinh" in name.lower() for name in names), (query, names)
        assert all("khai sinh" in name.lower() for name in names)
    assert api.get("/api/procedures", params={"q": "khong co thu tuc nay"}).json() == {
        "items": [], "total": 0, "limit": 50, "offset": 0}


def test_search_finds_the_right_one_first_by_name_code_or_field(api):
    """The exact name before longer ones ("Thủ tục" ignored), a code or its start, a field (server/catalog/search.py)."""
    def codes(**params):
        return [i["code"] for i in api.get("/api/procedures", params=params).json()["items"]]

    for query in ("đăng ký khai sinh", "dang ky khai sinh", "Thủ tục đăng ký khai sinh"):
        found = codes(q=query)
        assert found[0] == "1.001193" and set(found) >= {"1.004884", "1.000689", "2.000528"}, (query, found)
    # The shipped commune list adds "… lưu động", shorter than "… có yếu tố nước ngoài".
    assert codes(q="dang ky ket hon")[:3] == ["1.000894", "1.000593", "2.000806"]
    assert codes(q="1.001193") == ["1.001193"]
    assert set(codes(q="2.0008")) >= {"2.000815", "2.000806"}
    civil = codes(q="dang ky", field="Hộ tịch", limit=1000)
    assert civil and "1.004222" not in civil and "1.001193" in civil  # thường trú is another field
    assert codes(field="Chứng thực", limit=1000) and not codes(field="Không có lĩnh vực này")
    # Pages of a ranked answer follow each other.
    whole = codes(q="dang ky", limit=1000)
    assert codes(q="dang ky", limit=5) + codes(q="dang ky", limit=5, offset=5) == whole[:10]


def test_the_packed_index_says_what_the_full_items_say(api):
    """?view=packed, the app's offline copy (server/catalog/packed.py, read by pwa/static/js/packed.js)."""
    full = api.get("/api/procedures?limit=1000").json()
    packed = api.get("/api/procedures?limit=1000&view=packed")
    assert packed.headers["content-type"] == "application/vnd.motcua.catalog-index"
    items = unpack_index(packed.content)
    assert len(items) == len(full["items"]) == full["total"] and json.loads(packed.content.split(b"\n")[0])["total"] == full["total"]
    # Listed by code (the app orders its list itself): national codes first, then the others (TEST.0001).
    by_code = {i["code"]: i for i in full["items"]}
    assert [i["code"] for i in items] == sorted(by_code, key=lambda c: (not c[0].isdigit() or c[1] != ".", c))
    for item in items:
        assert item == {k: by_code[item["code"]][k] for k in ("code", "name", "field", "version", "on_the_spot")}
    found = api.get("/api/procedures", params={"q": "dang ky khai sinh", "limit": 1000}).json()["items"]
    packed_found = unpack_index(api.get("/api/procedures", params={"q": "dang ky khai sinh", "view": "packed",
                                                                   "limit": 1000}).content)
    assert sorted(i["code"] for i in packed_found) == sorted(i["code"] for i in found) and "1.001193" in by_code
    assert unpack_index(api.get("/api/procedures", params={"q": "không có thủ tục này", "view": "packed"}).content) == []
    # The JSON index of app versions installed before stays until they update.
    compact = api.get("/api/procedures?limit=1000&view=index").json()
    assert compact["c"].split(",") == [i["code"] for i in full["items"]] and compact["n"].split("\n")[0] == full["items"][0]["name"]


# Typography, a character outside the table (½, ©), texts not starting with a capital.
ROWS = [("1.000001", "Thủ tục “đặc biệt” – thử…", "Hộ tịch", 2, True), ("1.000002", "Đăng ký ệ ỹ Ữ đ Đ ½", "Khác©", 1, False),
        ("1.000003", "ấp dụng 1", "ỹ", 1, False), ("1.000004", "1 Ủy ban", "Ủy", 1, False)]
MANY = [(f"1.{i:06d}", f"Thủ tục {i}", f"Lĩnh vực {i}", 1, False) for i in range(300)]  # fields as numbers


def test_a_name_outside_the_packed_letters_travels_whole():
    """The typography of names (curly quotes, dashes, "…") is packed too; a character outside the table (½, ©)
    keeps its line whole in "x" (lines: the fields, then the names); codes of other shapes travel as they are;
    more than 255 fields go as numbers in the header."""
    assert len(LETTERS) == 134 and len(set(LETTERS)) == 134
    header = json.loads(pack_index(ROWS, 4).split(b"\n")[0])
    assert set(header["x"]) == {"1", "5"} and header["u"] == [2, 6, 7]  # fields 0–3, then names 4–7
    items = unpack_index(pack_index(ROWS, 4))
    assert [(i["code"], i["name"], i["field"], i["version"], i["on_the_spot"]) for i in items] == ROWS
    assert unpack_index(pack_index([], 0)) == []
    odd = [("TEST.0001", "Thử", "A", 1, False), ("9.000001", "Một", "B\nC", 3, True), ("1.000000", "Hai", "A", 1, False)]
    assert [i["code"] for i in unpack_index(pack_index(odd, 3))] == ["1.000000", "9.000001", "TEST.0001"]
    assert [(i["code"], i["name"], i["field"]) for i in unpack_index(pack_index(MANY, 300))] == [r[:3] for r in MANY]


def test_the_app_unpacks_the_index_as_the_server_packed_it(server):
    """pwa/static/js/packed.js in Chromium, on the server's own bytes: the same procedures as the Python reader."""
    from tests.browser import chromium

    with httpx.Client(base_url=server.url, timeout=30) as http:
        body = http.get("/api/procedures?limit=1000&view=packed").content
    with chromium() as browser:
        page = browser.new_page()
        page.goto(server.url + "/app")
        page.locator("body[data-ready]").wait_for(state="attached")
        module = page.evaluate("""() => performance.getEntriesByType('resource').map((e) => e.name)
            .find((n) => /\\/js\\/packed\\.[0-9a-f]+\\.js$/.test(n))""")
        odd = [("TEST.0001", "thử", "A", 1, False), ("9.000001", "Một", "B\nC", 3, True)]
        for packed in (body, pack_index(ROWS, 4), pack_index(MANY, 300), pack_index(odd, 2)):
            got = page.evaluate("""async ([url, bytes]) => (await import(url)).unpackIndex(new Uint8Array(bytes).buffer)""",
                                [module, list(packed)])
            assert got == unpack_index(packed)
        assert page.evaluate("async (url) => (await import(url)).LETTERS.join('')", module) == "".join(LETTERS)


def test_the_whole_index_comes_with_brotli_and_an_etag(api):
    """The app's download of the whole index: Brotli where accepted, and a 304 when it has not changed."""
    first = api.get("/api/procedures?limit=1000&view=packed", headers={"accept-encoding": "br, gzip"})
    assert first.headers["content-encoding"] == "br" and unpack_index(first.content)
    again = api.get("/api/procedures?limit=1000&view=packed", headers={"if-none-match": first.headers["etag"]})
    assert again.status_code == 304
    gzipped = api.get("/api/procedures?limit=1000&view=packed", headers={"accept-encoding": "gzip"})
    assert gzipped.headers["content-encoding"] == "gzip" and gzipped.content == first.content


def test_limit_and_offset_page_through_the_catalog(api):
    everything = api.get("/api/procedures?limit=1000").json()
    first = api.get("/api/procedures?limit=5").json()
    second = api.get("/api/procedures?limit=5&offset=5").json()
    assert first["total"] == everything["total"] and len(first["items"]) == 5
    assert [i["code"] for i in first["items"] + second["items"]] == [i["code"] for i in everything["items"][:10]]


def test_a_procedure_shows_its_documents_fee_time_and_form(api):
    code = api.get("/api/procedures", params={"q": "khai sinh"}).json()["items"][0]["code"]
    procedure = api.get(f"/api/procedures/{code}").json()
    assert procedure["documents"] and procedure["form"]["fields"]
    assert "amount_vnd" in procedure["fee"] and procedure["sources"]
    missing = api.get("/api/procedures/0.000000")
    assert missing.status_code == 404 and "Không tìm thấy thủ tục" in missing.json()["error"]["message"]


def test_units_before_and_after_the_2025_reform(api):
    today = api.get("/api/units", params={"level": "commune", "q": "vinh yen"}).json()["items"]
    assert [(u["code"], u["name"], u["parent"]) for u in today] == [(VINH_YEN, "Phường Vĩnh Yên", "25")]
    before = api.get("/api/units", params={"on": "2024-06-01", "level": "district", "q": "thanh pho vinh yen"}).json()["items"]
    assert [u["name"] for u in before] == ["Thành phố Vĩnh Yên"]
    assert before[0]["parent"] == "26" and before[0]["valid_to"] is not None


def test_a_changed_form_becomes_a_new_version_and_dossiers_keep_theirs(tmp_path, seeded_env, citizen):
    created = citizen.post("/api/dossiers", {"id": str(uuid.uuid4()), "procedure_code": "TEST.0001", "data": VALID_FORM,
                                             "submit": True, "unit_code": VINH_YEN}).json()
    version = created["procedure"]["version"]
    catalog = json.loads((ROOT / "tests" / "data" / "catalog-test.json").read_text())
    catalog["procedures"][0]["form"]["fields"].append(
        {"name": "note", "type": "textarea", "label": {"vi": "Ghi chú", "en": "Note"}})
    changed = tmp_path / "changed.json"
    changed.write_text(json.dumps(catalog, ensure_ascii=False))
    result = run_motcua(["catalog", "import", str(changed)], seeded_env)
    assert "1 new version(s)" in result.stdout
    unchanged = run_motcua(["catalog", "import", str(changed)], seeded_env)
    assert "0 new version(s), 1 unchanged" in unchanged.stdout
    assert citizen.get("/api/procedures/TEST.0001").json()["version"] == version + 1
    assert citizen.get(f"/api/dossiers/{created['id']}").json()["procedure"]["version"] == version


def test_a_broken_catalog_file_is_refused_whole_with_its_problems(tmp_path, seeded_env, api):
    before = api.get("/api/procedures?limit=1000").json()["total"]
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({"procedures": [
        {"code": "BAD.1", "name": "Thiếu trường"},
        {"code": "BAD.2", "name": "Sai biểu mẫu", "field": "x", "level": "village", "processing_days": 1, "online": "full",
         "fee": {}, "documents": [], "effective_from": "2025-07-01",
         "form": {"fields": [{"name": "a", "type": "colour", "label": {"vi": "A"}}]}}]}))
    result = run_motcua(["catalog", "import", str(broken)], seeded_env, check=False)
    assert result.returncode == 1
    assert "BAD.1" in result.stderr and "missing field" in result.stderr
    assert "level must be one of" in result.stderr and "form:" in result.stderr
    assert api.get("/api/procedures?limit=1000").json()["total"] == before


def test_the_catalog_index_travels_compressed(server):
    """1,000 procedures are ~200 KB of JSON but ~20 KB gzipped: on 2G that is minutes against seconds."""
    import httpx

    with httpx.stream("GET", f"{server.url}/api/procedures?limit=1000", headers={"accept-encoding": "gzip"}) as raw:
        wire = b"".join(raw.iter_raw())
    assert raw.headers["content-encoding"] == "gzip"
    import gzip
    import json as json_module

    assert len(json_module.loads(gzip.decompress(wire))["items"]) >= 30
    assert len(wire) * 3 < len(gzip.decompress(wire))


def test_the_app_shell_comes_with_brotli_where_accepted_else_gzip(server):
    """The first visit's bytes (docs/benchmarks.md "Catalog"): the shell, the worker and every precached module in
    Brotli (quality 11, made on the first request and kept) when the browser takes it, gzip otherwise, the same
    content either way."""
    import brotli

    http = httpx.Client(base_url=server.url)
    worker = http.get("/sw.js", headers={"accept-encoding": "identity"})
    precache = json.loads(worker.text.split("self.__PRECACHE = ", 1)[1].split(";\n", 1)[0])
    for url in [*precache, "/sw.js", "/manifest.webmanifest"]:
        with http.stream("GET", url, headers={"accept-encoding": "gzip, deflate, br"}) as raw:
            encoded = b"".join(raw.iter_raw())
        plain = http.get(url, headers={"accept-encoding": "identity"}).content
        if raw.headers.get("content-encoding") != "br":
            assert len(plain) < 200 or url.endswith((".png", ".woff2")), url  # too small, or already compressed
            continue
        assert brotli.decompress(encoded) == plain, url
        with http.stream("GET", url, headers={"accept-encoding": "gzip"}) as raw:
            zipped = b"".join(raw.iter_raw())
        assert raw.headers["content-encoding"] == "gzip" and len(encoded) <= len(zipped), url
