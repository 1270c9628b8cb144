"""The leaders' statistics against a hand-computed fixture: a dozen dossiers written straight into a fresh
database with known channels, times, appointments and ratings, then read through the real server as a leader,
another unit's leader, an administrator, a citizen and a stranger (docs/statistics.md).

Times are written in Vietnam time (UTC+7) and stored in UTC; the expected figures below were counted by hand.
"""

from __future__ import annotations

import asyncio
import csv
import io
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from server.statistics import charts
from server.workflow.working_time import timeliness
from tests import a11y
from tests.conftest import VIET_TRI, VINH_YEN, Api, motcua_env, run_motcua, start_server

PASSWORD = "mat-khau-thong-ke"
ACCOUNTS = {  # key → (phone, role, unit)
    "leader": ("0978200001", "leader", VINH_YEN),
    "leader_elsewhere": ("0978200002", "leader", VIET_TRI),
    "admin": ("0978200003", "admin", VINH_YEN),
    "citizen": ("0978200004", "citizen", None),
}
VN = timezone(timedelta(hours=7))
FAR = datetime(2099, 1, 1, tzinfo=VN)


def vn(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=VN)


# (name, unit, procedure, channel, status, received, due, returned, rating)
FIXTURE = [
    ("D1", VINH_YEN, "full", "direct", 10, vn(2025, 3, 3, 8), vn(2025, 3, 5, 8), vn(2025, 3, 4, 10), "very_satisfied"),
    ("D2", VINH_YEN, "full", "online", 10, vn(2025, 3, 10, 9), vn(2025, 3, 12, 9), vn(2025, 3, 12, 16), "satisfied"),
    # Returned 16:30 UTC on 10 March, due 17:30 UTC the same UTC day: by Vietnam dates (10 < 11 March) early.
    ("D3", VINH_YEN, "full", "online", 10, vn(2025, 3, 5, 10), vn(2025, 3, 11, 0, 30), vn(2025, 3, 10, 23, 30), None),
    ("D4", VINH_YEN, "none", "postal", 10, vn(2025, 4, 1, 8), vn(2025, 4, 3, 17), vn(2025, 4, 7, 9), "unsatisfied"),
    ("D5", VINH_YEN, "none", "field", 10, vn(2025, 4, 15, 14), None, vn(2025, 4, 16, 9), None),
    ("D6", VINH_YEN, "none", "direct", 4, vn(2025, 5, 6, 8), vn(2025, 5, 8, 17), None, None),
    ("D7", VINH_YEN, "full", "online", 5, vn(2025, 12, 31, 23, 30), FAR, None, None),
    # 00:30 on 1 January in Vietnam is still 31 December in UTC: it belongs to 2026.
    ("D8", VINH_YEN, "full", "direct", 10, vn(2026, 1, 1, 0, 30), vn(2026, 1, 2, 17), vn(2026, 1, 2, 9), None),
    ("D9", VINH_YEN, "full", "online", 8, vn(2025, 2, 10, 9), vn(2025, 2, 12, 9), None, None),
    ("D10", VINH_YEN, "full", "online", 0, None, None, None, None),
    ("D11", VINH_YEN, "full", "direct", 10, vn(2024, 12, 30, 8), vn(2025, 1, 2, 8), vn(2025, 1, 2, 15), "very_satisfied"),
    ("D12", VIET_TRI, "full", "direct", 10, vn(2025, 3, 3, 8), vn(2025, 3, 3, 17), vn(2025, 3, 3, 10), "very_satisfied"),
]
# Above, processing ended when the result was returned. In 2023, the cases where the two differ (Decree 61/2018;
# docs/domain.md "Timeliness"): (name, status, received, due, original due (hạn gốc), finished, returned).
FIXTURE_2023 = [
    # Ready on the appointment date, collected two weeks later: on time (the citizen's delay is not the office's).
    ("E1", 10, vn(2023, 6, 5, 8), vn(2023, 6, 7, 17), None, vn(2023, 6, 7, 10), vn(2023, 6, 20, 9)),
    # Apology (form 04, Circular 03/2025): extended to 23/6, ready on 20/6: late against the original 14/6.
    ("E2", 10, vn(2023, 6, 12, 8), vn(2023, 6, 23, 17), vn(2023, 6, 14, 17), vn(2023, 6, 20, 9), vn(2023, 6, 21, 9)),
    # Result ready a day early and not collected yet: resolved early.
    ("E3", 9, vn(2023, 6, 6, 8), vn(2023, 6, 9, 17), None, vn(2023, 6, 8, 15), None),
    # Returned but the end of processing is not on record: never counted as on time.
    ("E4", 10, vn(2023, 6, 6, 9), vn(2023, 6, 9, 17), None, None, vn(2023, 6, 9, 10)),
    # Extended by an apology and still open: overdue against the original date, though the new one is far.
    ("E5", 4, vn(2023, 6, 13, 8), FAR, vn(2023, 6, 15, 17), None, None),
]


async def _load_fixture(env: dict[str, str]) -> None:
    from server import db
    from server.config import load_settings
    from server.models import AdministrativeUnit, Dossier, Procedure, ProcedureVersion, Rating

    await db.connect(load_settings(env))
    try:
        units = {code: await AdministrativeUnit.get(code=code, valid_to=None) for code in (VINH_YEN, VIET_TRI)}
        versions = {}
        for kind, code in (("full", "1.001193"), ("none", "2.000884")):
            procedure = await Procedure.get(code=code)
            assert procedure.online == kind
            versions[kind] = await ProcedureVersion.get(procedure=procedure, version=procedure.current_version)
        for name, unit, kind, channel, status, received, due, returned, rating in FIXTURE:
            dossier = await Dossier.create(id=str(uuid.uuid4()), procedure_version=versions[kind], unit=units[unit],
                                           handling_unit=units[unit], channel=channel, status=status,
                                           data={"full_name": name}, received_at=received, due_at=due,
                                           returned_at=returned, submitted_at=received,
                                           finished_at=returned if status == 10 else None)
            if rating:
                await Rating.create(dossier=dossier, value=rating, reason="Chậm" if rating == "unsatisfied" else "",
                                    created_at=returned + timedelta(hours=1))
        for name, status, received, due, original, finished, returned in FIXTURE_2023:
            await Dossier.create(id=str(uuid.uuid4()), procedure_version=versions["none"], unit=units[VINH_YEN],
                                 handling_unit=units[VINH_YEN], channel="direct", status=status,
                                 data={"full_name": name}, received_at=received, submitted_at=received, due_at=due,
                                 original_due_at=original, finished_at=finished, returned_at=returned)
    finally:
        await db.disconnect()


@pytest.fixture(scope="module")
def stats_server(tmp_path_factory, fresh_database):
    """Its own database: the shared test server's other dossiers would change the counts."""
    data_dir = tmp_path_factory.mktemp("statistics") / "data"
    env = motcua_env(data_dir, fresh_database())
    run_motcua(["migrate"], env)
    run_motcua(["seed"], env)
    for phone, role, unit in ACCOUNTS.values():
        run_motcua(["user", "add", "--phone", phone, "--name", f"Thử {role}", "--role", role,
                    "--password", PASSWORD, *(["--unit", unit] if unit else [])], env)
    asyncio.run(_load_fixture(env))
    running = start_server(env, cwd=data_dir.parent, data_dir=data_dir)
    yield running
    running.stop()


def signed_in(server, key: str) -> Api:
    client = Api(server.url)
    client.sign_in(ACCOUNTS[key][0], PASSWORD)
    return client


def test_the_fixture_agrees_with_the_one_dossier_rule():
    """D3 is the case the database queries must get right: the same UTC day, different Vietnam days."""
    assert timeliness(vn(2025, 3, 10, 23, 30), vn(2025, 3, 11, 0, 30)) == "early"
    assert vn(2025, 3, 10, 23, 30).astimezone(timezone.utc).date() == vn(2025, 3, 11, 0, 30).astimezone(timezone.utc).date()


def test_a_leader_gets_the_hand_computed_figures_of_their_unit(stats_server):
    figures = signed_in(stats_server, "leader").get("/api/statistics?year=2025").json()
    assert figures["unit"] == {"code": VINH_YEN, "name": "Phường Vĩnh Yên"}
    # Received in 2025 (Vietnam time): D1–D7 and D9; not D8 (2026), D10 (a draft) or D11 (2024).
    assert figures["received"] == 8
    assert figures["by_channel"] == {"direct": 2, "online": 4, "postal": 1, "field": 1}
    assert figures["channel_shares"] == {"direct": 25.0, "online": 50.0, "postal": 12.5, "field": 12.5}
    # Returned in 2025: D1 and D3 early, D2 and D11 on time, D4 late, D5 without an appointment.
    assert (figures["resolved"], figures["early"], figures["on_time"], figures["late"], figures["without_due"]) == \
        (6, 2, 2, 1, 1)
    assert figures["timeliness_shares"] == {"early": 40.0, "on_time": 40.0, "late": 20.0}
    # Still open: D6 (processing, appointment passed) and D7 (supplement, appointment far ahead); D9 was stopped.
    assert (figures["pending"], figures["overdue"]) == (2, 1)
    assert figures["ratings"] == {"very_satisfied": 2, "satisfied": 1, "unsatisfied": 1}
    assert figures["rating_shares"] == {"very_satisfied": 50.0, "satisfied": 25.0, "unsatisfied": 25.0}
    months = {m["month"]: m for m in figures["months"]}
    assert months[1]["received"] == {"direct": 0, "online": 0, "postal": 0, "field": 0} and months[1]["on_time"] == 1
    assert months[2]["received"]["online"] == 1
    assert months[3]["received"] == {"direct": 1, "online": 2, "postal": 0, "field": 0}
    assert (months[3]["early"], months[3]["on_time"], months[3]["late"]) == (2, 1, 0)
    assert months[3]["online_share"] == 66.7
    assert (months[4]["late"], months[4]["without_due"]) == (1, 1)
    assert months[12]["received"]["online"] == 1 and months[6]["online_share"] is None
    assert [(p["code"], p["received"], p["online"], p["online_share"]) for p in figures["procedures"]] == \
        [("1.001193", 5, 4, 80.0), ("2.000884", 3, 0, 0.0)]
    parts = {part["key"]: part for part in figures["index_766"]["parts"]}
    assert (parts["on_time"]["ratio"], parts["on_time"]["points"]) == (80.0, 16.0)
    assert parts["online_dossiers"]["ratio"] == 80.0
    # Nearly all the procedures whose level is known are offered online; the 226 known only from the commune's list
    # say nothing of it (online "unknown", docs/catalog.md) and are left out, not counted as offline (which gave 12.3).
    assert 90 < parts["online_procedures"]["ratio"] < 100
    assert parts["satisfaction"]["ratio"] == 83.3  # (6 resolved − 1 unsatisfied) / 6
    assert not parts["digitisation"]["computed"] and parts["digitisation"]["points"] is None


def test_timeliness_is_decided_by_the_end_of_processing_against_the_original_appointment(stats_server):
    """Decree 61/2018 and docs/domain.md "Timeliness": the date processing ended (result ready, `finish`) against
    the appointment; an apology with extension (form 04, Circular 03/2025) keeps the original appointment, and
    the dossier is still judged on it; the statistics show the extended ones apart."""
    figures = signed_in(stats_server, "leader").get("/api/statistics?year=2023").json()
    assert figures["received"] == 5
    # E3 early, E1 on time though collected late, E2 late against its original date; E4 has no end on record.
    assert (figures["resolved"], figures["early"], figures["on_time"], figures["late"]) == (3, 1, 1, 1)
    assert figures["extended"] == 1 and {m["month"]: m["extended"] for m in figures["months"]}[6] == 1
    assert (figures["pending"], figures["overdue"]) == (1, 1)  # E5, past its original appointment
    page = signed_in(stats_server, "leader").get("/statistics?year=2023").text
    assert "Đã xin lỗi, gia hạn (tính theo hạn gốc)" in page and "ngày hẹn trả ban đầu" in page


def test_a_month_narrows_every_figure(stats_server):
    figures = signed_in(stats_server, "leader").get("/api/statistics?year=2025&month=3").json()
    assert figures["received"] == 3 and figures["by_channel"]["online"] == 2
    assert (figures["resolved"], figures["early"], figures["on_time"], figures["late"]) == (3, 2, 1, 0)
    assert (figures["pending"], figures["overdue"]) == (0, 0)
    assert figures["ratings"] == {"very_satisfied": 1, "satisfied": 1, "unsatisfied": 0}
    january = signed_in(stats_server, "leader").get("/api/statistics?year=2026&month=1").json()
    assert january["received"] == 1 and january["by_channel"]["direct"] == 1  # D8, received 00:30 on New Year


def test_a_leader_sees_only_their_own_unit(stats_server):
    elsewhere = signed_in(stats_server, "leader_elsewhere")
    figures = elsewhere.get("/api/statistics?year=2025").json()
    assert (figures["unit"]["code"], figures["received"], figures["resolved"], figures["on_time"]) == (VIET_TRI, 1, 1, 1)
    refused = signed_in(stats_server, "leader").get(f"/api/statistics?year=2025&unit={VIET_TRI}")
    assert refused.status_code == 403
    assert "đơn vị mình" in refused.json()["error"]["message"]


def test_an_administrator_sees_the_province_and_picks_a_unit(stats_server):
    admin = signed_in(stats_server, "admin")
    province = admin.get("/api/statistics?year=2025").json()
    assert province["unit"]["name"] == "Tỉnh Phú Thọ"
    assert (province["received"], province["resolved"], province["on_time"]) == (9, 7, 3)
    unit = admin.get(f"/api/statistics?year=2025&unit={VINH_YEN}").json()
    assert (unit["received"], unit["resolved"]) == (8, 6)
    page = admin.get("/statistics?year=2025").text
    assert '<select name="unit">' in page and "Phường Việt Trì" in page and "Toàn tỉnh" in page


def test_the_page_shows_charts_and_vietnamese_labels(stats_server):
    leader = signed_in(stats_server, "leader")
    response = leader.get("/statistics?year=2025")
    assert response.status_code == 200
    page = response.text
    assert page.count('<svg xmlns="http://www.w3.org/2000/svg"') == 5 and 'role="img"' in page
    for label in ("Thống kê giải quyết thủ tục hành chính", "Phường Vĩnh Yên · năm 2025", "Hồ sơ tiếp nhận",
                  "Trước hạn", "Đúng hạn", "Quá hạn", "Bưu chính công ích", "Tiếp nhận lưu động", "Rất hài lòng",
                  "Quyết định 766/QĐ-TTg", "Chưa tính được"):
        assert label in page, label
    assert '<select name="unit">' not in page  # a commune leader has no unit picker
    assert "<title" in page and "Trực tuyến 2" in page  # the March bar's description in words
    assert "<script" not in page.split("<main", 1)[1]  # the CSP forbids inline scripts; the page needs none


def test_the_csv_opens_in_excel_with_vietnamese_letters(stats_server):
    response = signed_in(stats_server, "leader").get("/statistics.csv?year=2025")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert 'filename="thong-ke-08707-2025.csv"' in response.headers["content-disposition"]
    assert response.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == ["Đơn vị", "Phường Vĩnh Yên (08707)"]
    assert ["Hồ sơ tiếp nhận", "8", ""] in rows
    assert ["Trực tuyến", "4", "50.0"] in rows
    assert ["Quá hạn (chưa giải quyết)", "1", ""] in rows
    assert ["Không hài lòng", "1", "25.0"] in rows
    assert ["3", "3", "1", "2", "0", "0", "3", "2", "1", "0", "66.7"] in rows  # March
    assert any(row[:2] == ["Mức độ hài lòng", "Xử lý phản ánh, kiến nghị"] and row[-1] == "Chưa tính được" for row in rows)


def test_citizens_and_strangers_are_refused(stats_server):
    citizen = signed_in(stats_server, "citizen")
    assert citizen.get("/api/statistics").status_code == 403
    assert citizen.get("/statistics.csv").status_code == 403
    page = citizen.get("/statistics")
    assert page.status_code == 403 and "Không có quyền truy cập" in page.text
    stranger = Api(stats_server.url)
    assert stranger.get("/api/statistics").status_code == 401
    redirect = stranger.get("/statistics", follow_redirects=False)
    assert redirect.status_code == 303 and redirect.headers["location"] == "/signin?next=/statistics"


@pytest.mark.parametrize("query, status, words", [
    ("year=abc", 400, "Năm phải là số"), ("year=1999", 400, "Năm phải là số"),
    ("month=13", 400, "Tháng phải là số từ 1 đến 12"), ("month=x", 400, "Tháng phải là số"),
    ("unit=99999", 404, "Không có đơn vị mã 99999"), ("unit=%3Cb%3E", 400, "Mã đơn vị không hợp lệ"),
])
def test_bad_parameters_are_refused_with_a_message(stats_server, query, status, words):
    admin = signed_in(stats_server, "admin")
    response = admin.get(f"/api/statistics?{query}")
    assert response.status_code == status and words in response.json()["error"]["message"]
    page = admin.get(f"/statistics?{query}")
    assert page.status_code == status and words in page.text


def test_charts_are_labelled_and_escape_their_text():
    svg = charts.stacked_bars("Hồ sơ <theo> tháng", ["T1", "T2"],
                              [charts.Series("Trực tiếp", [3, 0]), charts.Series("A&B", [1, 2])])
    assert svg.startswith("<svg") and 'role="img"' in svg and 'viewBox="0 0 360 ' in svg
    assert "<title id=" in svg and "Hồ sơ &lt;theo&gt; tháng" in svg and "A&amp;B" in svg
    assert "T1: Trực tiếp 3, A&amp;B 1; T2: Trực tiếp 0, A&amp;B 2" in svg
    line = charts.line("Tỷ lệ", ["T1", "T2", "T3"], [40.0, None, 12.5])
    assert "T1: 40%; T3: 12,5%" in line and "<polyline" not in line  # a gap leaves no line of one point
    assert charts.number(87000) == "87.000" and charts.number(1234.5) == "1.234,5"


def test_a_leader_reads_the_dashboard_on_a_360px_phone(stats_server):
    """Signed in through the form, the page fits the screen; every chart is drawn inside it and named."""
    from tests.browser import chromium

    with chromium() as browser:
        page = browser.new_page(viewport={"width": 360, "height": 740})
        a11y.watch(page.context)  # axe-core on the sign-in page and the dashboard (tests/a11y.py)
        page.goto(f"{stats_server.url}/signin?next=/statistics%3Fyear%3D2025")
        page.fill("input[name=phone]", ACCOUNTS["leader"][0])
        page.fill("input[name=password]", PASSWORD)
        page.click("main form button[type=submit]")
        page.wait_for_url("**/statistics?year=2025")
        assert page.evaluate("document.documentElement.scrollWidth") <= 360  # no sideways scrolling
        charts_drawn = page.locator("svg.chart")
        assert charts_drawn.count() == 5
        for index in range(5):
            box = charts_drawn.nth(index).bounding_box()
            assert box and 250 <= box["width"] <= 360 and box["height"] > 40
        names = page.eval_on_selector_all("svg.chart > title", "nodes => nodes.map(n => n.textContent)")
        assert any("theo tháng và kênh" in name for name in names)
        page.select_option("select[name=month]", "3")
        page.click("form.stat-filters button")
        page.wait_for_url("**month=3**")
        assert page.locator("h2", has_text="Phường Vĩnh Yên · tháng 3/2025").is_visible()
        # Leaders reach the dashboard from every page's navigation.
        page.goto(f"{stats_server.url}/procedures")
        page.locator("#menu-button").click()  # the header's menu (one row at 360 px)
        page.get_by_role("link", name="Thống kê").click()
        page.wait_for_url("**/statistics")
        a11y.assert_clean(page.context)
        page.close()
