"""What the app downloads to work offline, over HTTP: every form in a few compressed answers
(GET /api/procedures/forms) and the offices of every level (GET /api/units?level=province,district)."""

from __future__ import annotations

import httpx

from tests.conftest import VINH_YEN


def test_many_forms_come_in_one_compressed_answer_equal_to_the_single_ones(server):
    with httpx.Client(base_url=server.url, timeout=30) as http:
        # One batch, as the app asks (at most 100 codes a request): the shipped commune catalog has more.
        codes = [p["code"] for p in http.get("/api/procedures?limit=1000").json()["items"]][:99]
        assert len(codes) == 99
        bulk = http.get("/api/procedures/forms", params={"codes": ",".join(codes + ["KHONG.CO"])})
        assert bulk.status_code == 200 and bulk.headers.get("content-encoding") == "gzip"
        items = bulk.json()["items"]
        # Every known code once, the unknown one left out, each exactly what the single endpoint answers.
        assert sorted(i["code"] for i in items) == sorted(codes)
        for item in items:
            assert item == http.get(f"/api/procedures/{item['code']}").json()
        one = http.get("/api/procedures/forms?codes=TEST.0001,TEST.0001").json()["items"]
        assert [i["code"] for i in one] == ["TEST.0001"] and one[0]["form"]["fields"]


def test_a_bulk_forms_request_without_codes_or_with_too_many_is_refused_with_a_reason(server):
    with httpx.Client(base_url=server.url, timeout=30) as http:
        empty = http.get("/api/procedures/forms")
        assert empty.status_code == 400 and "codes=" in empty.json()["error"]["message"]
        many = http.get("/api/procedures/forms", params={"codes": ",".join(f"X.{n}" for n in range(101))})
        assert many.status_code == 400 and "tối đa 100" in many.json()["error"]["message"]


def test_units_of_several_levels_at_once_for_the_receiving_office(server):
    with httpx.Client(base_url=server.url, timeout=30) as http:
        upper = http.get("/api/units?level=province,district&limit=1000").json()["items"]
        # Since 1 July 2025 there are no districts: the seeded province (Phú Thọ) only.
        assert [(u["code"], u["level"]) for u in upper] == [("25", "province")]
        communes = http.get("/api/units?level=commune&limit=1000").json()["items"]
        vinh_yen = next(u for u in communes if u["code"] == VINH_YEN)
        assert vinh_yen["parent"] in {u["code"] for u in upper}
        wrong = http.get("/api/units?level=province,huyen")
        assert wrong.status_code == 400 and "commune, district hoặc province" in wrong.json()["error"]["message"]
