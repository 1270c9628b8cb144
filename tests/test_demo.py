"""`motcua demo`: it refuses to run before `motcua seed`, fills a year of dossiers, and the dashboard then shows
shares close to the province's 2020 figures it imitates (server/demo.py, docs/statistics.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Api, motcua_env, run_motcua, start_server

ADMIN = ("0987000004", "quantri123")  # the demo accounts of `motcua seed` (server/seed.py)
LEADER = ("0987000003", "lanhdao123")


@pytest.fixture(scope="module")
def demo_env(tmp_path_factory, fresh_database):
    data_dir = tmp_path_factory.mktemp("demo") / "data"
    env = motcua_env(data_dir, fresh_database())
    run_motcua(["migrate"], env)
    return env


def test_demo_before_seed_says_what_to_do(demo_env):
    result = run_motcua(["demo", "--dossiers", "10"], demo_env, check=False)
    assert result.returncode == 1
    assert "run `motcua seed` first" in result.stderr


def test_demo_fills_a_year_that_the_dashboard_shows(demo_env):
    run_motcua(["seed"], demo_env)
    result = run_motcua(["demo", "--dossiers", "500", "--year", "2025", "--seed", "7"], demo_env)
    assert "500 demo dossiers received 2025-01-01 to 2025-12-31" in result.stdout
    refused = run_motcua(["demo", "--dossiers", "10", "--year", "2999"], demo_env, check=False)
    assert refused.returncode == 1 and "has not come yet" in refused.stderr

    data_dir = Path(demo_env["MOTCUA_DATA_DIR"])
    server = start_server(demo_env, cwd=data_dir.parent, data_dir=data_dir)
    try:
        admin = Api(server.url)
        admin.sign_in(*ADMIN)
        figures = admin.get("/api/statistics?year=2025").json()
        assert figures["unit"]["name"] == "Tỉnh Phú Thọ"
        # A few online dossiers are refused at reception and never received; the rest are.
        assert 490 <= figures["received"] <= 500
        shares = figures["channel_shares"]
        assert 30 <= shares["online"] <= 50 and 48 <= shares["direct"] <= 68 and shares["postal"] <= 5
        # A past year: everything received was returned, except the few waiting for a supplement.
        assert figures["resolved"] >= 480 and figures["pending"] <= 10
        timeliness = figures["timeliness_shares"]
        assert timeliness["early"] + timeliness["on_time"] >= 98 and 15 <= timeliness["early"] <= 40
        rated = sum(figures["ratings"].values())
        assert 30 <= rated <= 100 and figures["rating_shares"]["very_satisfied"] >= 85
        assert sum(p["received"] for p in figures["procedures"]) == figures["received"]
        assert all(sum(m["received"].values()) > 0 for m in figures["months"])  # every month has dossiers
        page = admin.get("/statistics?year=2025")
        assert page.status_code == 200 and "Tỉnh Phú Thọ · năm 2025" in page.text

        # The demo leader's ward got its share, and only that is what its leader sees.
        leader = Api(server.url)
        leader.sign_in(*LEADER)
        ward = leader.get("/api/statistics?year=2025").json()
        assert 0 < ward["received"] < figures["received"]
        # Its register book of 2025 (form 07) numbers every received dossier 1, 2, 3 … with no gap.
        ward_code = leader.get("/api/session").json()["user"]["unit"]["code"]
        csv = leader.get(f"/units/{ward_code}/register.csv?from=2025-01-01&to=2025-12-31").text.splitlines()[1:]
        numbers = [int(line.split(",")[0]) for line in csv if line.split(",")[0].isdigit()]
        assert numbers == list(range(1, ward["received"] + 1))
    finally:
        server.stop()
